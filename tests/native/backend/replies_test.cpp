// JSON mapping of each coordinator reply (docs/protocol.md) and each malformed variant.
#include "farmhand/backend/replies.hpp"

#include <gtest/gtest.h>

#include "farmhand/error.hpp"

namespace farmhand::backend {
namespace {

template <typename F>
std::string malformed_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kMalformedResponse) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

constexpr const char* kJob =
    R"({"id": 7, "asset_cid": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "reward": "1.50",
        "frames": [1, 2, -3], "output_format": "OPEN_EXR", "status": "pending", "attempts": 0,
        "max_attempts": 3, "worker_address": null, "created_at": "2026-11-29T14:40:05.123Z",
        "some_future_field": {"nested": [1, 2, 3]}})";

TEST(RepliesTest, ChallengeReply) {
  EXPECT_EQ(parse_challenge(R"({"challenge": "ab12", "expires_at": "t", "message": "m"})"), "ab12");
}

TEST(RepliesTest, ChallengeReplyMalformedVariants) {
  for (const char* body : {"", "not json", "[]", "{}", R"({"challenge": 5})",
                           R"({"challenge": null})", R"({"challenge": ""})", "{\"challenge\":"}) {
    malformed_message([&] { (void)parse_challenge(body); });
  }
  malformed_message(
      [&] { (void)parse_challenge(R"({"challenge": ")" + std::string(1025, 'a') + "\"}"); });
}

TEST(RepliesTest, TokenReplyWithTokenOrAccessToken) {
  const TokenReply a = parse_token_reply(
      R"({"token": "h.p.s", "token_type": "Bearer", "expires_in": 3600, "address": "0x"})");
  EXPECT_EQ(a.token, "h.p.s");
  EXPECT_EQ(a.expires_in, 3600);
  const TokenReply b = parse_token_reply(R"({"access_token": "x.y.z", "expires_in": 2})");
  EXPECT_EQ(b.token, "x.y.z");
  EXPECT_EQ(b.expires_in, 2);
  // The seed's reply: {access_token} only; the lifetime then comes from the JWT (token.hpp).
  const TokenReply seed = parse_token_reply(R"({"access_token": "x.y.z"})");
  EXPECT_EQ(seed.token, "x.y.z");
  EXPECT_FALSE(seed.expires_in.has_value());
  // Both names: access_token (the seed's) wins.
  EXPECT_EQ(parse_token_reply(R"({"access_token": "a.b.c", "token": "d.e.f"})").token, "a.b.c");
}

TEST(RepliesTest, TokenReplyMalformedVariants) {
  for (const char* body :
       {"{}", R"({"token": "a.b.c", "expires_in": "3600"})",
        R"({"token": "a.b.c", "expires_in": 0})", R"({"token": "a.b.c", "expires_in": -5})",
        R"({"token": "a.b.c", "expires_in": 1.5})", R"({"token": 12, "expires_in": 60})",
        R"({"expires_in": 60})", R"({"token": "a.b\r\nX-Evil: 1", "expires_in": 60})",
        R"({"token": "", "expires_in": 60})", R"({"token": "a b.c", "expires_in": 60})"}) {
    malformed_message([&] { (void)parse_token_reply(body); });
  }
}

TEST(RepliesTest, OffersMapEveryFieldAndIgnoreUnknownOnes) {
  const auto offers = parse_offers(std::string(R"({"jobs": [)") + kJob + "]}");
  ASSERT_EQ(offers.size(), 1U);
  EXPECT_EQ(offers[0].id, "7");
  EXPECT_EQ(offers[0].asset_cid, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG");
  EXPECT_EQ(offers[0].reward, "1.50");
  EXPECT_EQ(offers[0].frames, (std::vector<int>{1, 2, -3}));
  EXPECT_EQ(offers[0].output_format, "OPEN_EXR");
}

// A format outside ours is a name the engine fails as unsupported_format (one such job must
// not make the whole list unreadable); docs/protocol.md "Values from a backend".
TEST(RepliesTest, OffersKeepAFormatNameOutsideTheProtocolsThree) {
  const auto offers = parse_offers(
      R"({"jobs": [{"id": 7, "asset_cid": "Qm", "output_format": "TIFF"},
                   {"id": 8, "asset_cid": "Qm", "output_format": "JPEG"}]})");
  ASSERT_EQ(offers.size(), 2U);
  EXPECT_EQ(offers[0].output_format, "TIFF");
  EXPECT_EQ(offers[1].output_format, "JPEG");
}

TEST(RepliesTest, OffersDefaultFramesAndFormat) {
  const auto offers = parse_offers(R"({"jobs": [{"id": 1, "asset_cid": "Qm1", "reward": "0"},
                                {"id": 2, "asset_cid": "Qm2", "reward": "0", "frames": null,
                                 "output_format": null}]})");
  ASSERT_EQ(offers.size(), 2U);
  for (const auto& o : offers) {
    EXPECT_TRUE(o.frames.empty());
    EXPECT_EQ(o.output_format, "PNG");
  }
  EXPECT_EQ(offers[1].id, "2");
}

TEST(RepliesTest, OffersAcceptABareListAndAnEmptyOne) {
  EXPECT_EQ(parse_offers(std::string("[") + kJob + "]").size(), 1U);
  EXPECT_TRUE(parse_offers(R"({"jobs": []})").empty());
  EXPECT_TRUE(parse_offers("[]").empty());
}

TEST(RepliesTest, SeedLiteralOffersMayCarryANumericRewardAndNoFrames) {
  const auto offers = parse_offers(
      R"([{"id": 3, "asset_cid": "QmS", "reward": 1.5}, {"id": 4, "asset_cid": "QmT"}])");
  ASSERT_EQ(offers.size(), 2U);
  EXPECT_EQ(offers[0].reward, "1.5");
  EXPECT_TRUE(offers[0].frames.empty());
  EXPECT_EQ(offers[0].output_format, "PNG");
  EXPECT_EQ(offers[1].reward, "");
  // The edges of Blender's frame range and the 10000-frame count are accepted.
  std::string many = "[";
  for (int i = 0; i < 10000; ++i) many += (i ? "," : "") + std::to_string(i);
  const auto ok = parse_offers(R"([{"id": 5, "asset_cid": "Qm", "frames": [-1048574, 1048574]},
                                   {"id": 6, "asset_cid": "Qm", "frames": )" +
                               many + "]}]");
  EXPECT_EQ(ok[0].frames, (std::vector<int>{-1048574, 1048574}));
  EXPECT_EQ(ok[1].frames.size(), 10000U);
  malformed_message([&] {
    (void)parse_offers(R"([{"id": 6, "asset_cid": "Qm", "frames": )" + many + ",10000]}]");
  });
}

TEST(RepliesTest, OffersMalformedVariantsNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not valid JSON"},
      {R"({"jobs": {}})", "not a list"},
      {R"({"offers": []})", "\"jobs\""},
      {R"("jobs")", "not a list"},
      {R"({"jobs": [5]})", "not a JSON object"},
      {R"({"jobs": [{"asset_cid": "Qm", "reward": "1"}]})", "\"id\""},
      {R"({"jobs": [{"id": "7", "asset_cid": "Qm", "reward": "1"}]})", "\"id\""},
      {R"({"jobs": [{"id": 0, "asset_cid": "Qm", "reward": "1"}]})", "\"id\""},
      {R"({"jobs": [{"id": -4, "asset_cid": "Qm", "reward": "1"}]})", "\"id\""},
      {R"({"jobs": [{"id": 7.5, "asset_cid": "Qm", "reward": "1"}]})", "\"id\""},
      {R"({"jobs": [{"id": 7, "reward": "1"}]})", "\"asset_cid\""},
      {R"({"jobs": [{"id": 7, "asset_cid": "", "reward": "1"}]})", "\"asset_cid\""},
      {R"({"jobs": [{"id": 7, "asset_cid": ["Qm"], "reward": "1"}]})", "\"asset_cid\""},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": [1]}]})", "\"reward\""},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": ")" + std::string(65, '9') + "\"}]}",
       "\"reward\" of 65 characters"},
      {R"({"jobs": [{"id": 7, "asset_cid": ")" + std::string(129, 'Q') + "\"}]}",
       "\"asset_cid\" of 129 characters"},
      {R"({"jobs": [{"id": 9223372036854775808, "asset_cid": "Qm"}]})", "\"id\""},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "frames": [1048575]}]})", "out of range"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "frames": [-1048575]}]})", "out of range"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "frames": [2147483647, -2147483648]}]})",
       "out of range"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "output_format": "tiff"}]})", "output_format"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "output_format": ""}]})", "output_format"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "output_format": "PNG\n"}]})", "output_format"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "output_format": "../x"}]})", "format name"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "output_format": ")" + std::string(33, 'A') +
           "\"}]}",
       "format name"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": "1", "frames": "1-3"}]})", "frames"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": "1", "frames": [1.5]}]})", "frame"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": "1", "frames": ["1"]}]})", "frame"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": "1", "frames": [99999999999]}]})",
       "out of range"},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": "1", "output_format": 3}]})",
       "output_format"},
  };
  for (const auto& c : cases) {
    const std::string msg = malformed_message([&] { (void)parse_offers(c.first); });
    EXPECT_NE(msg.find(c.second), std::string::npos) << c.first << " -> " << msg;
  }
}

TEST(RepliesTest, DeeplyNestedJsonIsRefusedWithoutCrashing) {
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  malformed_message([&] { (void)parse_offers(R"({"jobs": )" + deep + "}"); });
  malformed_message([&] { (void)parse_lease(deep); });
}

TEST(RepliesTest, LeaseReply) {
  const Lease l = parse_lease(R"({"success": true, "lease_expires_at": "2026-11-29T14:40:05.123Z",
                           "lease_seconds": 60, "job": {}})");
  EXPECT_EQ(l.expires_at, "2026-11-29T14:40:05.123Z");
  EXPECT_DOUBLE_EQ(l.seconds, 60);
  EXPECT_EQ(parse_lease(R"({"lease_expires_at": "t"})").expires_at, "t");
  // The seed's assign reply: no lease fields at all.
  const Lease seed = parse_lease(R"({"success": true})");
  EXPECT_EQ(seed.expires_at, "");
  EXPECT_DOUBLE_EQ(seed.seconds, 0);
}

TEST(RepliesTest, LeaseReplyMalformedVariants) {
  for (const char* body :
       {R"({"success": true, "lease_seconds": 0})", R"({"success": true, "lease_seconds": "60"})",
        R"({"success": true, "lease_seconds": 1e9})",
        R"({"success": true, "lease_expires_at": 1700000000})",
        R"({"success": false, "lease_expires_at": "t"})",
        R"({"success": "yes", "lease_expires_at": "t"})", "null", "<html>502</html>"}) {
    malformed_message([&] { (void)parse_lease(body); });
  }
}

TEST(RepliesTest, SuccessReply) {
  EXPECT_NO_THROW(parse_success(R"({"success": true, "job": {"id": 1}})"));
  EXPECT_NO_THROW(parse_success(R"({"success": true, "status": "pending", "attempts": 1})"));
  for (const char* body : {"{}", R"({"success": false})", R"({"success": 1})", "true", ""}) {
    malformed_message([&] { parse_success(body); });
  }
}

TEST(RepliesTest, ErrorReplyIsBestEffort) {
  const ErrorReply e =
      parse_error_reply(R"({"error": {"code": "lease_lost", "message": "job 7 is gone"}})");
  EXPECT_EQ(e.code, "lease_lost");
  EXPECT_EQ(e.message, "job 7 is gone");
  EXPECT_EQ(parse_error_reply(R"({"error": "plain text"})").message, "plain text");
  EXPECT_EQ(parse_error_reply(R"({"detail": "Not Found"})").code, "");
  EXPECT_EQ(parse_error_reply("<html>").code, "");
  EXPECT_EQ(parse_error_reply(R"({"error": {"code": 5, "message": null}})").code, "");
}

}  // namespace
}  // namespace farmhand::backend
