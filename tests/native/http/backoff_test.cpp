#include "farmhand/http/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace farmhand::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BackoffTest, DelayDoublesPerRetryWithinHalfToFullBase) {
  const BackoffPolicy p{milliseconds(500), 2.0, milliseconds(30'000), 5};
  EXPECT_EQ(backoff_delay(p, 1, 0.0), milliseconds(250));
  EXPECT_EQ(backoff_delay(p, 1, 1.0), milliseconds(500));
  EXPECT_EQ(backoff_delay(p, 2, 0.0), milliseconds(500));
  EXPECT_EQ(backoff_delay(p, 3, 1.0), milliseconds(2000));
  EXPECT_EQ(backoff_delay(p, 4, 0.5), milliseconds(3000));
}

TEST(BackoffTest, DelayIsCappedAtMax) {
  const BackoffPolicy p{milliseconds(500), 2.0, milliseconds(8'000), 50};
  EXPECT_EQ(backoff_delay(p, 30, 1.0), milliseconds(8000));
  EXPECT_EQ(backoff_delay(p, 30, 0.0), milliseconds(4000));
}

TEST(BackoffTest, RandomDelaysStayWithinBoundsForEveryRetry) {
  const BackoffPolicy p{milliseconds(100), 3.0, milliseconds(5'000), 10};
  for (int retry = 1; retry <= 10; ++retry) {
    const double base = std::min(5000.0, 100.0 * std::pow(3.0, retry - 1));
    for (int i = 0; i < 200; ++i) {
      const auto d = backoff_delay(p, retry);
      EXPECT_GE(d.count(), static_cast<long long>(base / 2) - 1);
      EXPECT_LE(d.count(), static_cast<long long>(base) + 1);
    }
  }
}

TEST(BackoffTest, RetryAfterDeltaSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("7", now), seconds(7));
  EXPECT_EQ(parse_retry_after(" 0 ", now), seconds(0));
  EXPECT_EQ(parse_retry_after("99999", now), seconds(300));
  EXPECT_EQ(parse_retry_after("99999999999999999999999", now), seconds(300));
}

TEST(BackoffTest, RetryAfterHttpDate) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 2015-10-21 07:28:00
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), seconds(30));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), seconds(0));
}

TEST(BackoffTest, RetryAfterGarbageIsIgnored) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_FALSE(parse_retry_after("", now).has_value());
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("-5", now).has_value());
}

TEST(BackoffTest, RetryableStatuses) {
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_TRUE(is_retryable_status(502));
  EXPECT_TRUE(is_retryable_status(504));
  EXPECT_FALSE(is_retryable_status(500));
  EXPECT_FALSE(is_retryable_status(409));
  EXPECT_FALSE(is_retryable_status(401));
  EXPECT_FALSE(is_retryable_status(200));
}

}  // namespace
}  // namespace farmhand::http
