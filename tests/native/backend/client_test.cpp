// backend::Client against StubHttpServer playing a coordinator: it produces what the real
// coordinator cannot (503 + Retry-After, dropped connections, hostile replies, a hang). The
// real coordinator is exercised from Python in tests/core/.
#include "farmhand/backend/client.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "../http/stub_server.hpp"
#include "farmhand/error.hpp"
#include "jwt_helpers.hpp"

namespace farmhand::backend {
namespace {

namespace fs = std::filesystem;
using farmhand::testing::make_jwt;
using farmhand::testing::stub_reply;
using farmhand::testing::StubHttpServer;
using farmhand::testing::StubReply;
using farmhand::testing::StubRequest;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::shared_ptr<const identity::Identity> test_identity() {
  static const auto id = [] {
    const fs::path key = fs::temp_directory_path() /
                         ("farmhand_backend_test_" + std::to_string(::getpid()) + ".key");
    fs::remove(key);
    auto made = std::make_shared<const identity::Identity>(identity::Identity::load_or_create(key));
    fs::remove(key);
    return made;
  }();
  return id;
}

ClientOptions fast_options() {
  ClientOptions o;
  o.backoff = http::BackoffPolicy{milliseconds(10), 2.0, milliseconds(50), 3};
  o.request_timeout = milliseconds(2000);
  return o;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool path_is(const StubRequest& r, const std::string& p) {
  return r.target.substr(0, r.target.find('?')) == p;
}

// A coordinator's auth endpoints (checking the signature like the real one), plus a route
// table for everything else. Counts challenges handed out.
struct FakeCoordinator {
  std::function<StubReply(const StubRequest&)> route;
  std::atomic<int> challenges{0};
  std::atomic<int> tokens{0};
  std::int64_t expires_in = 3600;
  std::atomic<bool> signature_ok{true};

  StubReply handle(const StubRequest& r) {
    if (path_is(r, "/api/v1/auth/challenge")) {
      const int n = ++challenges;
      return stub_reply(200, json{{"challenge", "c" + std::to_string(n)},
                                  {"expires_at", "2026-11-29T14:40:05.123Z"}}
                                 .dump());
    }
    if (path_is(r, "/api/v1/auth/authenticate")) {
      const json body = json::parse(r.body);
      const std::string msg = "farmhand-auth-v1:" + body.at("challenge").get<std::string>();
      const std::string sig_hex = body.at("signature");
      const std::string addr = body.at("address");
      std::array<unsigned char, 64> sig{};
      std::array<unsigned char, 32> pk{};
      sodium_hex2bin(sig.data(), 64, sig_hex.data(), sig_hex.size(), nullptr, nullptr, nullptr);
      sodium_hex2bin(pk.data(), 32, addr.data() + 2, addr.size() - 2, nullptr, nullptr, nullptr);
      const bool ok = crypto_sign_verify_detached(
                          sig.data(), reinterpret_cast<const unsigned char*>(msg.data()),
                          msg.size(), pk.data()) == 0;
      signature_ok = signature_ok && ok;
      if (!ok) {
        return stub_reply(401, R"({"error":{"code":"invalid_signature","message":"bad sig"}})");
      }
      const int n = ++tokens;
      const std::string jwt =
          make_jwt(json{{"sub", addr}, {"n", n}, {"exp", unix_now() + expires_in}}.dump());
      return stub_reply(
          200, json{{"token", jwt}, {"token_type", "Bearer"}, {"expires_in", expires_in}}.dump());
    }
    return route(r);
  }
};

class BackendClientTest : public ::testing::Test {
 protected:
  void start(std::function<StubReply(const StubRequest&)> route) {
    fake_.route = std::move(route);
    server_ =
        std::make_unique<StubHttpServer>([this](const StubRequest& r) { return fake_.handle(r); });
    client_ = std::make_unique<Client>(server_->url() + "/", test_identity(), options_);
  }
  std::vector<StubRequest> job_requests() const {
    std::vector<StubRequest> out;
    for (auto& r : server_->requests()) {
      if (r.target.starts_with("/api/v1/jobs")) out.push_back(r);
    }
    return out;
  }
  static ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
      f();
    } catch (const Error& e) {
      if (message != nullptr) *message = e.what();
      return e.kind();
    }
    ADD_FAILURE() << "no farmhand::Error thrown";
    return ErrorKind::kInvalidArgument;
  }

  ClientOptions options_ = fast_options();
  FakeCoordinator fake_;
  std::unique_ptr<StubHttpServer> server_;
  std::unique_ptr<Client> client_;
};

const char* kOffers =
    R"({"jobs": [{"id": 7, "asset_cid": "QmA", "reward": "1.50", "frames": [1, 2],
                  "output_format": "JPEG", "extra": true}]})";

TEST_F(BackendClientTest, AuthenticatesWithAPrefixedSignatureAndSendsTheBearerToken) {
  start([](const StubRequest&) { return stub_reply(200, kOffers); });
  const auto offers = client_->available(0);
  ASSERT_EQ(offers.size(), 1U);
  EXPECT_EQ(offers[0].id, "7");
  EXPECT_EQ(offers[0].frames, (std::vector<int>{1, 2}));
  EXPECT_EQ(offers[0].output_format, "JPEG");
  EXPECT_TRUE(fake_.signature_ok);
  EXPECT_EQ(fake_.tokens, 1);
  const auto jobs = job_requests();
  ASSERT_EQ(jobs.size(), 1U);
  EXPECT_EQ(jobs[0].target, "/api/v1/jobs/available?status=pending");
  EXPECT_TRUE(jobs[0].headers.at("authorization").starts_with("Bearer ey"));
  EXPECT_EQ(client_->auth_headers().at(0).second, jobs[0].headers.at("authorization"));
  const auto all = server_->requests();
  EXPECT_EQ(json::parse(all.at(0).body).at("address"), test_identity()->address());
  EXPECT_EQ(all.at(0).headers.at("content-type"), "application/json");
}

TEST_F(BackendClientTest, ReusesTheTokenWhileValid) {
  start([](const StubRequest&) { return stub_reply(200, R"({"jobs": []})"); });
  for (int i = 0; i < 3; ++i) (void)client_->available(0);
  client_->ensure_authenticated();
  EXPECT_EQ(fake_.challenges, 1);
}

TEST_F(BackendClientTest, ReauthenticatesWhenTheTokenNearsExpiry) {
  fake_.expires_in = 1;  // margin = 250 ms
  start([](const StubRequest&) { return stub_reply(200, R"({"jobs": []})"); });
  (void)client_->available(0);
  (void)client_->available(0);
  EXPECT_EQ(fake_.tokens, 1);
  std::this_thread::sleep_for(milliseconds(800));
  (void)client_->available(0);
  EXPECT_EQ(fake_.tokens, 2);
}

TEST_F(BackendClientTest, OnA401ReauthenticatesOnceAndRepeatsTheCall) {
  std::atomic<int> calls{0};
  start([&](const StubRequest&) {
    if (++calls == 1) return stub_reply(401, R"({"error":{"code":"token_expired","message":"x"}})");
    return stub_reply(200, kOffers);
  });
  EXPECT_EQ(client_->available(0).size(), 1U);
  EXPECT_EQ(fake_.tokens, 2);
  const auto jobs = job_requests();
  ASSERT_EQ(jobs.size(), 2U);
  EXPECT_NE(jobs[0].headers.at("authorization"), jobs[1].headers.at("authorization"));
}

TEST_F(BackendClientTest, A401AfterReauthenticationIsAuthRejected) {
  start([](const StubRequest&) {
    return stub_reply(401, R"({"error":{"code":"token_invalid","message":"nope"}})");
  });
  std::string msg;
  EXPECT_EQ(kind_of([&] { (void)client_->available(0); }, &msg), ErrorKind::kAuthRejected);
  EXPECT_NE(msg.find("token_invalid"), std::string::npos) << msg;
  EXPECT_EQ(job_requests().size(), 2U);
  EXPECT_EQ(fake_.tokens, 2);
}

TEST_F(BackendClientTest, RefusedSignatureIsAuthRejectedAndNotRetried) {
  start([](const StubRequest&) { return stub_reply(200, "{}"); });
  fake_.route = nullptr;
  server_ = std::make_unique<StubHttpServer>([](const StubRequest& r) {
    if (path_is(r, "/api/v1/auth/challenge")) return stub_reply(200, R"({"challenge":"ab"})");
    return stub_reply(401, R"({"error":{"code":"invalid_signature","message":"bad"}})");
  });
  client_ = std::make_unique<Client>(server_->url(), test_identity(), options_);
  std::string msg;
  EXPECT_EQ(kind_of([&] { client_->ensure_authenticated(); }, &msg), ErrorKind::kAuthRejected);
  EXPECT_NE(msg.find("invalid_signature"), std::string::npos) << msg;
  EXPECT_NE(msg.find("retry in 5 s"), std::string::npos) << msg;
  EXPECT_EQ(server_->requests().size(), 2U);  // one challenge, one authenticate
  EXPECT_EQ(kAuthRetrySeconds, 5);
}

TEST_F(BackendClientTest, AuthenticateIsNotRetriedOn503) {
  server_ = std::make_unique<StubHttpServer>([](const StubRequest& r) {
    if (path_is(r, "/api/v1/auth/challenge")) return stub_reply(200, R"({"challenge":"ab"})");
    return stub_reply(503, "down");
  });
  client_ = std::make_unique<Client>(server_->url(), test_identity(), options_);
  Error err(ErrorKind::kIo, "");
  try {
    client_->ensure_authenticated();
  } catch (const Error& e) {
    err = e;
  }
  EXPECT_EQ(err.kind(), ErrorKind::kHttpStatus);
  EXPECT_EQ(err.http_status(), 503);
  EXPECT_EQ(server_->requests().size(), 2U);
}

TEST_F(BackendClientTest, MalformedTokenReplyIsMalformedResponse) {
  server_ = std::make_unique<StubHttpServer>([](const StubRequest& r) {
    if (path_is(r, "/api/v1/auth/challenge")) return stub_reply(200, R"({"challenge":"ab"})");
    return stub_reply(200, R"({"token": "opaque", "expires_in": 60})");
  });
  client_ = std::make_unique<Client>(server_->url(), test_identity(), options_);
  EXPECT_EQ(kind_of([&] { client_->ensure_authenticated(); }), ErrorKind::kMalformedResponse);
}

TEST_F(BackendClientTest, RetriesA503HonouringRetryAfter) {
  std::atomic<int> calls{0};
  start([&](const StubRequest&) {
    if (++calls == 1) return stub_reply(503, "busy", "text/plain", "Retry-After: 1\r\n");
    return stub_reply(200, kOffers);
  });
  client_->ensure_authenticated();
  const auto t0 = steady_clock::now();
  EXPECT_EQ(client_->available(0).size(), 1U);
  const auto took = steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(950));
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_EQ(calls, 2);
}

TEST_F(BackendClientTest, GivesUpAfterMaxAttemptsWithHttpStatusError) {
  start([](const StubRequest&) { return stub_reply(429, R"({"error":{"code":"slow_down"}})"); });
  Error err(ErrorKind::kIo, "");
  try {
    (void)client_->available(0);
  } catch (const Error& e) {
    err = e;
  }
  EXPECT_EQ(err.kind(), ErrorKind::kHttpStatus);
  EXPECT_EQ(err.http_status(), 429);
  EXPECT_EQ(job_requests().size(), 3U);
}

TEST_F(BackendClientTest, RetriesADroppedConnection) {
  std::atomic<int> calls{0};
  start([&](const StubRequest&) {
    if (++calls == 1) return StubReply{"", true};
    return stub_reply(200, kOffers);
  });
  EXPECT_EQ(client_->available(0).size(), 1U);
  EXPECT_EQ(calls, 2);
}

TEST_F(BackendClientTest, UnreachableBackendIsNetworkError) {
  int port = 0;
  {
    StubHttpServer gone([](const StubRequest&) { return stub_reply(200, ""); });
    port = gone.port();
  }
  Client c("http://127.0.0.1:" + std::to_string(port), test_identity(), options_);
  EXPECT_EQ(kind_of([&] { c.ensure_authenticated(); }), ErrorKind::kNetwork);
}

TEST_F(BackendClientTest, StubHungBackendTimesOut) {
  options_.request_timeout = milliseconds(300);
  options_.backoff.max_attempts = 1;
  StubHttpServer* self = nullptr;
  start([&](const StubRequest&) {
    self->hang();
    return StubReply{};
  });
  self = server_.get();
  EXPECT_EQ(kind_of([&] { (void)client_->heartbeat("7", 0.5, "x"); }), ErrorKind::kTimeout);
}

TEST_F(BackendClientTest, CancelFlagStopsARetryWait) {
  std::atomic<bool> cancel{false};
  options_.cancel = &cancel;
  start([](const StubRequest&) {
    return stub_reply(503, "busy", "text/plain", "Retry-After: 30\r\n");
  });
  client_->ensure_authenticated();
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel = true;
  });
  const auto t0 = steady_clock::now();
  EXPECT_EQ(kind_of([&] { (void)client_->available(0); }), ErrorKind::kCancelled);
  EXPECT_LT(steady_clock::now() - t0, milliseconds(2000));
  setter.join();
}

TEST_F(BackendClientTest, StubHostileRepliesAreMalformedResponse) {
  const std::string ten_mb(10 << 20, '[');
  const std::vector<std::string> bodies = {"{bad json", R"({"jobs": "none"})",
                                           R"({"jobs": [{"id": "x"}]})", ten_mb, ""};
  std::atomic<size_t> which{0};
  start([&](const StubRequest&) { return stub_reply(200, bodies.at(which)); });
  for (size_t i = 0; i < bodies.size(); ++i) {
    which = i;
    EXPECT_EQ(kind_of([&] { (void)client_->available(0); }), ErrorKind::kMalformedResponse)
        << "body " << i;
  }
}

TEST_F(BackendClientTest, LongPollSendsWaitAndUsesALongerTimeout) {
  options_.request_timeout = milliseconds(500);
  start([](const StubRequest&) {
    std::this_thread::sleep_for(milliseconds(1200));  // longer than request_timeout
    return stub_reply(200, R"({"jobs": []})");
  });
  EXPECT_TRUE(client_->available(1).empty());
  EXPECT_EQ(job_requests().at(0).target, "/api/v1/jobs/available?status=pending&wait=1");
  EXPECT_EQ(kind_of([&] { (void)client_->available(-1); }), ErrorKind::kInvalidArgument);
}

TEST_F(BackendClientTest, AssignSendsTheAddressAndMaps409ToNullopt) {
  std::atomic<int> status{200};
  start([&](const StubRequest&) {
    if (status == 200) {
      return stub_reply(200, R"({"success": true, "lease_expires_at": "T1", "lease_seconds": 60})");
    }
    return stub_reply(409, R"({"error":{"code":"already_assigned","message":"taken"}})");
  });
  const auto lease = client_->assign("7");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->expires_at, "T1");
  EXPECT_DOUBLE_EQ(lease->seconds, 60);
  const auto req = job_requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/v1/jobs/7/assign");
  EXPECT_EQ(json::parse(req.body), (json{{"worker_address", test_identity()->address()}}));
  status = 409;
  EXPECT_FALSE(client_->assign("7").has_value());
}

TEST_F(BackendClientTest, SeedLiteralAssignReplyWithoutLeaseFieldsIsAWonClaim) {
  start([](const StubRequest&) { return stub_reply(200, R"({"success": true})"); });
  const auto lease = client_->assign("7");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->expires_at, "");
  EXPECT_DOUBLE_EQ(lease->seconds, 0);
}

TEST_F(BackendClientTest, MissingHeartbeatFailReleaseEndpointsAreNotSupportedNotLeaseLoss) {
  std::atomic<int> status{404};
  start([&](const StubRequest&) {
    if (status == 405) return stub_reply(405, R"({"detail": "Method Not Allowed"})");
    return stub_reply(404, R"({"detail": "Not Found"})");  // FastAPI's own 404: no such path
  });
  EXPECT_EQ(kind_of([&] { (void)client_->heartbeat("7", 0.5, ""); }), ErrorKind::kNotSupported);
  EXPECT_EQ(kind_of([&] { client_->fail("7", "e", true, ""); }), ErrorKind::kNotSupported);
  status = 405;
  EXPECT_EQ(kind_of([&] { client_->release("7", "bye"); }), ErrorKind::kNotSupported);
}

TEST_F(BackendClientTest, HealthProbeIsTrueForAnyHttpAnswerFalseWhenUnreachable) {
  start([](const StubRequest&) { return stub_reply(404, R"({"detail": "Not Found"})"); });
  EXPECT_TRUE(client_->probe_health());
  backend::Client unreachable("http://127.0.0.1:9", test_identity());
  EXPECT_FALSE(unreachable.probe_health());
}

TEST_F(BackendClientTest, HeartbeatSendsProgressAndMaps409ToLeaseLost) {
  std::atomic<int> status{200};
  start([&](const StubRequest&) {
    if (status == 200) return stub_reply(200, R"({"success": true, "lease_expires_at": "T2"})");
    return stub_reply(409, R"({"error":{"code":"lease_lost","message":"expired"}})");
  });
  EXPECT_EQ(client_->heartbeat("12", 0.25, "frame 2/4").expires_at, "T2");
  EXPECT_EQ(json::parse(job_requests().at(0).body),
            (json{{"progress", 0.25}, {"message", "frame 2/4"}}));
  status = 409;
  std::string msg;
  EXPECT_EQ(kind_of([&] { (void)client_->heartbeat("12", 0.5, ""); }, &msg), ErrorKind::kLeaseLost);
  EXPECT_NE(msg.find("lease_lost"), std::string::npos) << msg;
}

TEST_F(BackendClientTest, CompleteSendsTheResultAndMaps409ToLeaseLost) {
  std::atomic<int> status{200};
  start([&](const StubRequest&) {
    if (status == 200) return stub_reply(200, R"({"success": true, "job": {}})");
    return stub_reply(409, R"({"error":{"code":"already_completed","message":"other"}})");
  });
  client_->complete("3", Completion{"QmR", std::string(64, 'a'), 12.5, {1, 2}, "", ""});
  EXPECT_EQ(json::parse(job_requests().at(0).body), (json{{"result_cid", "QmR"},
                                                          {"sha256", std::string(64, 'a')},
                                                          {"render_seconds", 12.5},
                                                          {"frames", {1, 2}}}));
  // docs/protocol.md /complete: the device class and Blender the frames were rendered with
  client_->complete("3", Completion{"QmR", std::string(64, 'a'), 12.5, {1, 2}, "CPU", "3.4"});
  const json with = json::parse(job_requests().at(1).body);
  EXPECT_EQ(with.at("device"), "CPU");
  EXPECT_EQ(with.at("blender"), "3.4");
  status = 409;
  EXPECT_EQ(kind_of([&] {
              client_->complete("3", Completion{"QmR", "", 1, {}, "", ""});
            }),
            ErrorKind::kLeaseLost);
}

TEST_F(BackendClientTest, FailSendsItsFieldsWithInvalidUtf8Replaced) {
  start([](const StubRequest&) { return stub_reply(200, R"({"success": true})"); });
  client_->fail("4", "out of memory", true, "log \xff\xfe tail");
  const json body = json::parse(job_requests().at(0).body);
  EXPECT_EQ(body.at("error"), "out of memory");
  EXPECT_EQ(body.at("retryable"), true);
  EXPECT_EQ(body.at("log_tail"), "log \xEF\xBF\xBD\xEF\xBF\xBD tail");
}

TEST_F(BackendClientTest, FailOrRelease409OnFirstTryIsLeaseLost) {
  start([](const StubRequest&) {
    return stub_reply(409, R"({"error":{"code":"lease_lost","message":"gone"}})");
  });
  EXPECT_EQ(kind_of([&] { client_->fail("4", "e", false, ""); }), ErrorKind::kLeaseLost);
  EXPECT_EQ(kind_of([&] { client_->release("4", "bye"); }), ErrorKind::kLeaseLost);
}

TEST_F(BackendClientTest, Release409AfterAnUnknownOutcomeMeansAlreadyReleased) {
  std::atomic<int> calls{0};
  start([&](const StubRequest&) {
    // A proxy's 502: the first try's outcome is unknown (the backend may have released it).
    if (++calls == 1) return stub_reply(502, "bad gateway", "text/plain");
    return stub_reply(409, R"({"error":{"code":"lease_lost","message":"released"}})");
  });
  EXPECT_NO_THROW(client_->release("4", "worker shutting down"));
  EXPECT_EQ(json::parse(job_requests().at(1).body), (json{{"reason", "worker shutting down"}}));
}

TEST_F(BackendClientTest, UnexpectedStatusIsHttpStatusErrorWithExcerpt) {
  start([](const StubRequest&) {
    return stub_reply(404, R"({"error":{"code":"job_not_found","message":"no job 99"}})");
  });
  Error err(ErrorKind::kIo, "");
  try {
    (void)client_->heartbeat("99", 0, "");
  } catch (const Error& e) {
    err = e;
  }
  EXPECT_EQ(err.kind(), ErrorKind::kHttpStatus);
  EXPECT_EQ(err.http_status(), 404);
  EXPECT_NE(std::string(err.what()).find("job_not_found: no job 99"), std::string::npos)
      << err.what();
}

TEST_F(BackendClientTest, JobIdsAreEncodedIntoThePath) {
  start([](const StubRequest&) { return stub_reply(200, R"({"success": true})"); });
  client_->release("7/../../x", "");
  EXPECT_EQ(job_requests().at(0).target, "/api/v1/jobs/7%2F..%2F..%2Fx/release");
  EXPECT_EQ(kind_of([&] { client_->release("", ""); }), ErrorKind::kInvalidArgument);
}

TEST(BackendClientCtorTest, RejectsBadUrlsAndNullIdentity) {
  EXPECT_THROW(Client("ftp://127.0.0.1", test_identity()), Error);
  EXPECT_THROW(Client("127.0.0.1:8000", test_identity()), Error);
  EXPECT_THROW(Client("http://127.0.0.1:8000", nullptr), Error);
  EXPECT_EQ(Client("https://127.0.0.1:8000///", test_identity()).base_url(),
            "https://127.0.0.1:8000");
}

}  // namespace
}  // namespace farmhand::backend
