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
}

TEST(RepliesTest, TokenReplyWithTokenOrAccessToken) {
  const TokenReply a = parse_token_reply(
      R"({"token": "h.p.s", "token_type": "Bearer", "expires_in": 3600, "address": "0x"})");
  EXPECT_EQ(a.token, "h.p.s");
  EXPECT_EQ(a.expires_in, 3600);
  const TokenReply b = parse_token_reply(R"({"access_token": "x.y.z", "expires_in": 2})");
  EXPECT_EQ(b.token, "x.y.z");
  EXPECT_EQ(b.expires_in, 2);
}

TEST(RepliesTest, TokenReplyMalformedVariants) {
  for (const char* body :
       {"{}", R"({"token": "a.b.c"})", R"({"token": "a.b.c", "expires_in": "3600"})",
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
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm"}]})", "\"reward\""},
      {R"({"jobs": [{"id": 7, "asset_cid": "Qm", "reward": 1.5}]})", "\"reward\""},
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
  EXPECT_EQ(parse_lease(R"({"success": true, "lease_expires_at": "2026-11-29T14:40:05.123Z",
                           "lease_seconds": 60, "job": {}})"),
            "2026-11-29T14:40:05.123Z");
  EXPECT_EQ(parse_lease(R"({"lease_expires_at": "t"})"), "t");
}

TEST(RepliesTest, LeaseReplyMalformedVariants) {
  for (const char* body :
       {R"({"success": true})", R"({"success": true, "lease_expires_at": 1700000000})",
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
