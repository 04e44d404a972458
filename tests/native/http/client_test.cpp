// http::Client against StubHttpServer (tests/native/http/stub_server.hpp) on 127.0.0.1.
#include "farmhand/http/client.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "farmhand/error.hpp"
#include "farmhand/version.hpp"
#include "stub_server.hpp"

namespace farmhand::http {
namespace {

using farmhand::testing::stub_reply;
using farmhand::testing::StubHttpServer;
using farmhand::testing::StubReply;
using farmhand::testing::StubRequest;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no farmhand::Error thrown";
  return ErrorKind::kInvalidArgument;
}

TEST(HttpClientTest, GetReturnsStatusBodyAndLowerCaseHeadersAndSendsUserAgent) {
  StubHttpServer server([](const StubRequest&) {
    return stub_reply(200, R"({"ok":true})", "application/json", "X-Custom-Thing: 42\r\n");
  });
  Client client;
  Request req;
  req.url = server.url("/hello?x=1");
  const Response res = client.perform(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"ok":true})");
  EXPECT_EQ(res.header("x-custom-thing"), "42");
  EXPECT_EQ(res.header("content-type"), "application/json");
  ASSERT_EQ(server.requests().size(), 1U);
  const StubRequest got = server.requests()[0];
  EXPECT_EQ(got.method, "GET");
  EXPECT_EQ(got.target, "/hello?x=1");
  EXPECT_EQ(got.headers.at("user-agent"), std::string("farmhand/") + kVersion);
  EXPECT_EQ(default_user_agent(), std::string("farmhand/") + kVersion);
}

TEST(HttpClientTest, PostSendsBodyAndHeadersInOrder) {
  StubHttpServer server([](const StubRequest& r) { return stub_reply(201, r.body); });
  Client client;
  Request req;
  req.method = "POST";
  req.url = server.url("/echo");
  req.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer abc"}};
  req.body = R"({"address":"0xab"})";
  const Response res = client.perform(req);
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, req.body);
  const StubRequest got = server.requests().at(0);
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.headers.at("authorization"), "Bearer abc");
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.count("expect"), 0U);
}

TEST(HttpClientTest, EmptyPostSendsZeroContentLength) {
  StubHttpServer server([](const StubRequest&) { return stub_reply(200, "{}"); });
  Client client;
  Request req;
  req.method = "POST";
  req.url = server.url("/x");
  EXPECT_EQ(client.perform(req).status, 200);
  EXPECT_EQ(server.requests().at(0).headers.at("content-length"), "0");
}

TEST(HttpClientTest, ErrorStatusIsReturnedNotThrown) {
  StubHttpServer server([](const StubRequest&) { return stub_reply(503, "busy"); });
  Client client;
  Request req;
  req.url = server.url("/");
  const Response res = client.perform(req);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body_excerpt(2), "bu...");
}

TEST(HttpClientTest, ReusesOneConnectionForSequentialRequests) {
  StubHttpServer server([](const StubRequest&) { return stub_reply(200, "{}"); });
  Client client;
  Request req;
  req.url = server.url("/a");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.perform(req).status, 200);
  EXPECT_EQ(server.requests().size(), 5U);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, StubTenMegabyteReplyOverMaxBodyIsMalformedResponse) {
  const std::string big(10 << 20, 'x');
  StubHttpServer server([&](const StubRequest&) { return stub_reply(200, big, "text/plain"); });
  Client client;
  Request req;
  req.url = server.url("/big");
  req.max_body_bytes = 1 << 20;
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kMalformedResponse);
  // The same client still works afterwards.
  req.max_body_bytes = 11 << 20;
  EXPECT_EQ(client.perform(req).body.size(), big.size());
}

TEST(HttpClientTest, OnBodyStreamsEveryByteAndKeepsNothing) {
  const std::string big(10 << 20, 'y');
  StubHttpServer server([&](const StubRequest&) { return stub_reply(200, big, "text/plain"); });
  Client client;
  Request req;
  req.url = server.url("/big");
  req.max_body_bytes = 10;  // not applied to streamed bodies
  std::size_t seen = 0;
  bool all_y = true;
  req.on_body = [&](std::string_view chunk) {
    seen += chunk.size();
    all_y = all_y && chunk.find_first_not_of('y') == std::string_view::npos;
    return true;
  };
  const Response res = client.perform(req);
  EXPECT_EQ(seen, big.size());
  EXPECT_TRUE(all_y);
  EXPECT_TRUE(res.body.empty());
}

TEST(HttpClientTest, OnBodyReturningFalseAbortsWithCancelled) {
  const std::string big(4 << 20, 'z');
  StubHttpServer server([&](const StubRequest&) { return stub_reply(200, big, "text/plain"); });
  Client client;
  Request req;
  req.url = server.url("/big");
  req.on_body = [](std::string_view) { return false; };
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kCancelled);
}

TEST(HttpClientTest, OnBodyExceptionIsRethrownUnchanged) {
  StubHttpServer server([](const StubRequest&) { return stub_reply(200, "abc", "text/plain"); });
  Client client;
  Request req;
  req.url = server.url("/");
  req.on_body = [](std::string_view) -> bool {
    throw Error(ErrorKind::kCidMismatch, "block does not match");
  };
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kCidMismatch);
}

TEST(HttpClientTest, StubHungServerHitsTotalTimeout) {
  StubHttpServer* self = nullptr;
  StubHttpServer server([&](const StubRequest&) {
    self->hang();
    return StubReply{};
  });
  self = &server;
  Client client;
  Request req;
  req.url = server.url("/hang");
  req.total_timeout = milliseconds(300);
  const auto start = steady_clock::now();
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kTimeout);
  const auto took = steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(3000));
}

TEST(HttpClientTest, CancelFlagStopsAHungRequestSoon) {
  StubHttpServer* self = nullptr;
  StubHttpServer server([&](const StubRequest&) {
    self->hang();
    return StubReply{};
  });
  self = &server;
  Client client;
  std::atomic<bool> cancel{false};
  Request req;
  req.url = server.url("/hang");
  req.cancel = &cancel;
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel = true;
  });
  const auto start = steady_clock::now();
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kCancelled);
  EXPECT_LT(steady_clock::now() - start, milliseconds(2500));
  setter.join();
}

TEST(HttpClientTest, ConnectionRefusedIsNetworkError) {
  int port = 0;
  {
    StubHttpServer server([](const StubRequest&) { return stub_reply(200, ""); });
    port = server.port();
  }
  Client client;
  Request req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  try {
    client.perform(req);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNetwork);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
}

TEST(HttpClientTest, StubServerDroppingTheConnectionIsNetworkError) {
  StubHttpServer server([](const StubRequest&) { return StubReply{"", true}; });
  Client client;
  Request req;
  req.url = server.url("/");
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kNetwork);
}

TEST(HttpClientTest, HttpsToAPlainHttpServerFailsTls) {
  StubHttpServer server([](const StubRequest&) { return stub_reply(200, "{}"); });
  Client client;
  Request req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  req.total_timeout = milliseconds(1000);
  const ErrorKind kind = kind_of([&] { client.perform(req); });
  EXPECT_TRUE(kind == ErrorKind::kNetwork || kind == ErrorKind::kTimeout);
}

TEST(HttpClientTest, NonHttpSchemeIsInvalidArgument) {
  Client client;
  Request req;
  req.url = "file:///etc/passwd";
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kInvalidArgument);
  req.url = "http://[::1";
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kInvalidArgument);
}

TEST(HttpClientTest, ChunkedTrailersAppearInHeaders) {
  StubHttpServer server([](const StubRequest&) {
    return StubReply{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Stream-Error\r\n\r\n"
        "5\r\nhello\r\n0\r\nX-Stream-Error: block not found\r\n\r\n"};
  });
  Client client;
  Request req;
  req.url = server.url("/cat");
  const Response res = client.perform(req);
  EXPECT_EQ(res.body, "hello");
  EXPECT_EQ(res.header("x-stream-error"), "block not found");
}

TEST(HttpClientTest, MultipartStreamsFilesWithEncodedNamesAndDirectoryParts) {
  const auto dir = std::filesystem::temp_directory_path() / "farmhand_http_multipart";
  std::filesystem::create_directories(dir);
  const auto file = dir / "frame 0001.png";
  const std::string content(300'000, '\x7f');
  std::ofstream(file, std::ios::binary) << content;

  StubHttpServer server([](const StubRequest&) { return stub_reply(200, "{}"); });
  Client client;
  Request req;
  req.method = "POST";
  req.url = server.url("/api/v0/add");
  req.multipart = {
      {"file", "frames", "application/x-directory", {}},
      {"file", "frames/frame 0001.png", "application/octet-stream", file},
  };
  EXPECT_EQ(client.perform(req).status, 200);
  const StubRequest got = server.requests().at(0);
  EXPECT_NE(got.headers.at("content-type").find("multipart/form-data; boundary="),
            std::string::npos);
  const std::string& body = got.body;
  EXPECT_NE(body.find("filename=\"frames\"\r\nContent-Type: application/x-directory"),
            std::string::npos);
  EXPECT_NE(body.find("filename=\"frames%2Fframe%200001.png\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n" +
                      content + "\r\n"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(HttpClientTest, MultipartMissingFileIsIoError) {
  StubHttpServer server([](const StubRequest&) { return stub_reply(200, "{}"); });
  Client client;
  Request req;
  req.method = "POST";
  req.url = server.url("/api/v0/add");
  req.multipart = {{"file", "x", "application/octet-stream", "/nonexistent/farmhand/x.png"}};
  EXPECT_EQ(kind_of([&] { client.perform(req); }), ErrorKind::kIo);
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace farmhand::http
