#include "farmhand/error.hpp"

#include <gtest/gtest.h>

namespace farmhand {
namespace {

TEST(ErrorTest, CarriesKindStatusAndMessage) {
  const Error e(ErrorKind::kLeaseLost, "job 7: lease lost", 409);
  EXPECT_EQ(e.kind(), ErrorKind::kLeaseLost);
  EXPECT_EQ(e.http_status(), 409);
  EXPECT_STREQ(e.what(), "job 7: lease lost");
  EXPECT_EQ(to_string(e.kind()), "lease_lost");
}

TEST(ErrorTest, EveryKindHasADistinctName) {
  EXPECT_EQ(to_string(ErrorKind::kBlockVerificationFailed), "block_verification_failed");
  EXPECT_EQ(to_string(ErrorKind::kCidInvalid), "cid_invalid");
  EXPECT_NE(to_string(ErrorKind::kNetwork), to_string(ErrorKind::kTimeout));
}

}  // namespace
}  // namespace farmhand
