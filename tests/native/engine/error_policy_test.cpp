#include "farmhand/engine/error_policy.hpp"

#include <gtest/gtest.h>

namespace farmhand::engine {
namespace {

TEST(ErrorPolicyTest, AuthFailureWaitsAuthRetryOtherFailuresNetworkRetry) {
  Config c;
  c.auth_retry_s = 5;
  c.network_retry_s = 10;
  EXPECT_DOUBLE_EQ(retry_wait_s(ErrorKind::kAuthRejected, c), 5);
  EXPECT_DOUBLE_EQ(retry_wait_s(ErrorKind::kNetwork, c), 10);
  EXPECT_DOUBLE_EQ(retry_wait_s(ErrorKind::kTimeout, c), 10);
  EXPECT_DOUBLE_EQ(retry_wait_s(ErrorKind::kHttpStatus, c), 10);
}

TEST(ErrorPolicyTest, DownloadFailureFailsRetryablyUnlessCancelledByStop) {
  EXPECT_EQ(on_download_error(ErrorKind::kNotFound), DownloadOutcome::kFailRetryable);
  EXPECT_EQ(on_download_error(ErrorKind::kBlockVerificationFailed),
            DownloadOutcome::kFailRetryable);
  EXPECT_EQ(on_download_error(ErrorKind::kCancelled), DownloadOutcome::kRelease);
}

TEST(ErrorPolicyTest, UploadRetriesOnceThenMovesToTheNextApi) {
  EXPECT_EQ(upload_api_for_attempt(0, 2), 0U);
  EXPECT_EQ(upload_api_for_attempt(1, 2), 0U);
  EXPECT_EQ(upload_api_for_attempt(2, 2), 1U);
  EXPECT_EQ(upload_api_for_attempt(3, 2), 1U);
  EXPECT_EQ(upload_api_for_attempt(4, 2), 2U);  // every API tried: give up
  EXPECT_EQ(upload_api_for_attempt(0, 0), 0U);  // no API at all: give up at once
}

TEST(ErrorPolicyTest, SubmissionIsRetriedUntilTheBackendAnswersButNeverAfterLeaseLoss) {
  EXPECT_EQ(on_submit_error(ErrorKind::kNetwork, 0), SubmitOutcome::kRetry);
  EXPECT_EQ(on_submit_error(ErrorKind::kTimeout, 0), SubmitOutcome::kRetry);
  EXPECT_EQ(on_submit_error(ErrorKind::kAuthRejected, 401), SubmitOutcome::kRetry);
  EXPECT_EQ(on_submit_error(ErrorKind::kHttpStatus, 500), SubmitOutcome::kRetry);
  EXPECT_EQ(on_submit_error(ErrorKind::kHttpStatus, 429), SubmitOutcome::kRetry);
  EXPECT_EQ(on_submit_error(ErrorKind::kLeaseLost, 409), SubmitOutcome::kDrop);
  EXPECT_EQ(on_submit_error(ErrorKind::kHttpStatus, 404), SubmitOutcome::kDrop);
  EXPECT_EQ(on_submit_error(ErrorKind::kHttpStatus, 422), SubmitOutcome::kFail);
  EXPECT_EQ(on_submit_error(ErrorKind::kMalformedResponse, 0), SubmitOutcome::kFail);
}

TEST(ErrorPolicyTest, SubmissionRetryDelayDoublesFromHalfASecondUpToTenWithJitter) {
  EXPECT_DOUBLE_EQ(submit_retry_s(1, 0.0), 0.25);
  EXPECT_DOUBLE_EQ(submit_retry_s(1, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(submit_retry_s(3, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(submit_retry_s(30, 1.0), 10.0);
  EXPECT_DOUBLE_EQ(submit_retry_s(30, 0.0), 5.0);
}

TEST(ErrorPolicyTest, HeartbeatsEveryThirdOfTheLeaseAtMostEverySecondConfigAnUpperBound) {
  EXPECT_DOUBLE_EQ(heartbeat_interval_s(10.0, 6.0), 2.0);    // --lease-seconds 6
  EXPECT_DOUBLE_EQ(heartbeat_interval_s(10.0, 60.0), 10.0);  // config is the upper bound
  EXPECT_DOUBLE_EQ(heartbeat_interval_s(10.0, 1.5), 1.0);    // never more often than 1 s
  EXPECT_DOUBLE_EQ(heartbeat_interval_s(0.5, 60.0), 1.0);
  EXPECT_DOUBLE_EQ(heartbeat_interval_s(0.1, 0.0), 0.1);  // lease unknown: config
}

TEST(ErrorPolicyTest, WaitsAreJitteredByTwentyPercentAndProbedOnlyWhenUnreachable) {
  EXPECT_DOUBLE_EQ(jittered_s(10.0, 0.0), 8.0);
  EXPECT_DOUBLE_EQ(jittered_s(10.0, 0.5), 10.0);
  EXPECT_NEAR(jittered_s(5.0, 0.999999), 6.0, 1e-5);
  EXPECT_TRUE(probe_while_waiting(ErrorKind::kNetwork, 0));
  EXPECT_TRUE(probe_while_waiting(ErrorKind::kTimeout, 0));
  EXPECT_TRUE(probe_while_waiting(ErrorKind::kHttpStatus, 502));
  EXPECT_FALSE(probe_while_waiting(ErrorKind::kHttpStatus, 422));
  EXPECT_FALSE(probe_while_waiting(ErrorKind::kAuthRejected, 401));
  EXPECT_FALSE(probe_while_waiting(ErrorKind::kMalformedResponse, 0));
}

}  // namespace
}  // namespace farmhand::engine
