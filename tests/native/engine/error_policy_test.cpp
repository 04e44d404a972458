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

TEST(ErrorPolicyTest, SubmissionIsRetriedOnceButNeverAfterLeaseLoss) {
  EXPECT_TRUE(retry_submission(1, ErrorKind::kNetwork));
  EXPECT_FALSE(retry_submission(2, ErrorKind::kNetwork));
  EXPECT_FALSE(retry_submission(1, ErrorKind::kLeaseLost));
}

}  // namespace
}  // namespace farmhand::engine
