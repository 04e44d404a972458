// Token lifetime decisions: JWT exp extraction, expires_in vs exp, refresh margin.
#include "farmhand/backend/token.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "farmhand/error.hpp"
#include "jwt_helpers.hpp"

namespace farmhand::backend {
namespace {

using farmhand::testing::base64url;
using farmhand::testing::make_jwt;
using std::chrono::milliseconds;
using std::chrono::seconds;

ErrorKind kind_of(std::string_view jwt) {
  try {
    (void)jwt_exp_claim(jwt);
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::kInvalidArgument;  // "no error"
}

TEST(TokenTest, ReadsExpClaimOfAJwt) {
  EXPECT_EQ(jwt_exp_claim(make_jwt(R"({"sub":"0xab","iat":1795964189,"exp":1795967789})")),
            1795967789);
}

TEST(TokenTest, FractionalExpIsTruncated) {
  EXPECT_EQ(jwt_exp_claim(make_jwt(R"({"exp":1700000000.75})")), 1700000000);
}

TEST(TokenTest, MissingOrNullExpIsNullopt) {
  EXPECT_FALSE(jwt_exp_claim(make_jwt(R"({"sub":"0xab"})")).has_value());
  EXPECT_FALSE(jwt_exp_claim(make_jwt(R"({"exp":null})")).has_value());
}

TEST(TokenTest, PaddedBase64UrlPayloadIsAccepted) {
  const std::string payload = base64url(R"({"exp":12})");
  const std::string padded = payload + std::string((4 - payload.size() % 4) % 4, '=');
  EXPECT_EQ(jwt_exp_claim("e30." + padded + ".c2ln"), 12);
}

TEST(TokenTest, MalformedTokensAreMalformedResponse) {
  EXPECT_EQ(kind_of("opaque-token"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of("a.b"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of("a.b.c.d"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of("a..c"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of("a.!!!!.c"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of("a." + base64url("not json") + ".c"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of("a." + base64url("[1,2]") + ".c"), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of(make_jwt(R"({"exp":"tomorrow"})")), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of(make_jwt(R"({"exp":1e300})")), ErrorKind::kMalformedResponse);
}

TEST(TokenTest, LifetimeIsTheEarlierOfExpiresInAndExp) {
  const std::int64_t now = 1'800'000'000;
  EXPECT_EQ(effective_lifetime(3600, now + 3600, now), seconds(3600));
  EXPECT_EQ(effective_lifetime(3600, now + 120, now), seconds(120));  // exp sooner
  EXPECT_EQ(effective_lifetime(60, now + 3600, now), seconds(60));    // expires_in sooner
  EXPECT_EQ(effective_lifetime(3600, std::nullopt, now), seconds(3600));
}

TEST(TokenTest, SeedLiteralTokenWithoutExpiresInLivesUntilItsExpOrA401) {
  const std::int64_t now = 1'800'000'000;
  EXPECT_EQ(effective_lifetime(std::nullopt, now + 600, now), seconds(600));
  EXPECT_EQ(effective_lifetime(std::nullopt, std::nullopt, now), kMaxTokenLifetime);
  EXPECT_EQ(effective_lifetime(std::nullopt, now - 5, now), kMaxTokenLifetime);  // skewed exp
}

TEST(TokenTest, HugeExpiresInIsCappedAt30DaysAndStillValidAnHourLater) {
  // A hostile or buggy backend's expires_in of 2^63-1 s used to overflow the millisecond count
  // (and steady_clock's nanoseconds), giving a token that always "needed refresh".
  const std::int64_t now = 1'800'000'000;
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(effective_lifetime(huge, std::nullopt, now), kMaxTokenLifetime);
  EXPECT_EQ(effective_lifetime(huge, huge, now), kMaxTokenLifetime);
  EXPECT_EQ(effective_lifetime(20'000'000'000, std::nullopt, now), kMaxTokenLifetime);
  const auto t0 = std::chrono::steady_clock::now();
  AuthToken token{"jwt", t0, effective_lifetime(huge, std::nullopt, now)};
  EXPECT_FALSE(token.needs_refresh(t0 + std::chrono::hours(1)));
  EXPECT_TRUE(token.needs_refresh(t0 + kMaxTokenLifetime));
}

TEST(TokenTest, ExpInThePastIsTreatedAsClockSkew) {
  const std::int64_t now = 1'800'000'000;
  EXPECT_EQ(effective_lifetime(3600, now - 600, now), seconds(3600));
  EXPECT_EQ(effective_lifetime(3600, now, now), seconds(3600));
}

TEST(TokenTest, RefreshMarginIs60SecondsOrAQuarterOfShortLifetimes) {
  EXPECT_EQ(refresh_margin(seconds(3600)), seconds(60));
  EXPECT_EQ(refresh_margin(seconds(240)), seconds(60));
  EXPECT_EQ(refresh_margin(seconds(2)), milliseconds(500));
  EXPECT_EQ(refresh_margin(seconds(0)), milliseconds(0));
}

TEST(TokenTest, NeedsRefreshBeforeExpiryAndWhenEmpty) {
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
  AuthToken token{"jwt", t0, seconds(3600)};
  EXPECT_FALSE(token.needs_refresh(t0));
  EXPECT_FALSE(token.needs_refresh(t0 + seconds(3539)));
  EXPECT_TRUE(token.needs_refresh(t0 + seconds(3540)));  // 60 s left
  EXPECT_TRUE(token.needs_refresh(t0 + seconds(4000)));
  EXPECT_TRUE(AuthToken{}.needs_refresh(t0));

  AuthToken short_lived{"jwt", t0, seconds(2)};
  EXPECT_FALSE(short_lived.needs_refresh(t0 + milliseconds(1400)));
  EXPECT_TRUE(short_lived.needs_refresh(t0 + milliseconds(1500)));
}

}  // namespace
}  // namespace farmhand::backend
