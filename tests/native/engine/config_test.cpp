#include "farmhand/engine/config.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "farmhand/error.hpp"

namespace farmhand::engine {
namespace {

nlohmann::json minimal() {
  return {{"backend_url", "http://127.0.0.1:8000/"},
          {"key_file", "/tmp/k"},
          {"work_dir", "/tmp/w"},
          {"blender_version", 304}};
}

std::string refusal(const nlohmann::json& j) {
  try {
    Config::from_json(j);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "accepted " << j.dump();
  return {};
}

TEST(EngineConfigTest, DefaultsMatchTheDocumentedValues) {
  const auto c = Config::from_json(minimal());
  EXPECT_EQ(c.backend_url, "http://127.0.0.1:8000");  // trailing slash dropped
  EXPECT_EQ(c.max_job_bytes, std::uint64_t{2} << 30);
  EXPECT_EQ(c.prefetch, 1);
  EXPECT_EQ(c.cid_version, 0);
  EXPECT_EQ(c.poll_wait_s, 20);
  EXPECT_DOUBLE_EQ(c.heartbeat_interval_s, 10.0);
  EXPECT_EQ(c.keep_failed, 5);
  EXPECT_EQ(c.blender_version, 304);
  EXPECT_FALSE(c.log_file.has_value());
  EXPECT_DOUBLE_EQ(c.auth_retry_s, 5.0);
  EXPECT_DOUBLE_EQ(c.network_retry_s, 10.0);
  EXPECT_EQ(c.source_timeout_s, 60);
  EXPECT_TRUE(c.ipfs_rpc_urls.empty());
}

TEST(EngineConfigTest, EveryKeyIsRead) {
  auto j = minimal();
  j["ipfs_rpc_urls"] = {"http://127.0.0.1:5001", "http://127.0.0.1:5002"};
  j["gateway_urls"] = {"http://127.0.0.1:8080"};
  j["max_job_bytes"] = 1000;
  j["prefetch"] = 0;
  j["cid_version"] = 1;
  j["poll_wait_s"] = 2;
  j["heartbeat_interval_s"] = 0.5;
  j["keep_failed"] = 2;
  j["log_file"] = "/tmp/log";
  j["auth_retry_s"] = 0.1;
  j["network_retry_s"] = 0.2;
  j["source_timeout_s"] = 3;
  const auto c = Config::from_json(j);
  EXPECT_EQ(c.ipfs_rpc_urls.size(), 2U);
  EXPECT_EQ(c.gateway_urls.at(0), "http://127.0.0.1:8080");
  EXPECT_EQ(c.max_job_bytes, 1000U);
  EXPECT_EQ(c.prefetch, 0);
  EXPECT_EQ(c.cid_version, 1);
  EXPECT_EQ(c.poll_wait_s, 2);
  EXPECT_DOUBLE_EQ(c.heartbeat_interval_s, 0.5);
  EXPECT_EQ(c.keep_failed, 2);
  EXPECT_EQ(c.log_file->string(), "/tmp/log");
  EXPECT_DOUBLE_EQ(c.auth_retry_s, 0.1);
  EXPECT_DOUBLE_EQ(c.network_retry_s, 0.2);
  EXPECT_EQ(c.source_timeout_s, 3);
}

TEST(EngineConfigTest, UnknownKeyIsRefusedByName) {
  auto j = minimal();
  j["prefech"] = 1;
  EXPECT_NE(refusal(j).find("'prefech' is not a known setting"), std::string::npos);
}

TEST(EngineConfigTest, MissingRequiredKeyIsRefusedByName) {
  for (const char* key : {"backend_url", "key_file", "work_dir", "blender_version"}) {
    auto j = minimal();
    j.erase(key);
    EXPECT_NE(refusal(j).find(std::string("'") + key + "' is required"), std::string::npos);
  }
}

TEST(EngineConfigTest, WrongTypesAndRangesAreRefused) {
  auto j = minimal();
  j["prefetch"] = "1";
  EXPECT_NE(refusal(j).find("'prefetch' must be an integer"), std::string::npos);
  j = minimal();
  j["cid_version"] = 2;
  EXPECT_NE(refusal(j).find("'cid_version' must be in [0, 1]"), std::string::npos);
  j = minimal();
  j["ipfs_rpc_urls"] = {"127.0.0.1:5001"};
  EXPECT_NE(refusal(j).find("must start with http:// or https://"), std::string::npos);
  j = minimal();
  j["heartbeat_interval_s"] = 0;
  EXPECT_NE(refusal(j).find("'heartbeat_interval_s' must be >="), std::string::npos);
  EXPECT_NE(refusal(nlohmann::json::array()).find("must be a dict"), std::string::npos);
}

TEST(EngineConfigTest, HugeOrInfiniteSecondsAreRefusedNotOverflowed) {
  // inf / 1e300 used to be accepted, then overflowed duration_cast to steady_clock ticks (a
  // heartbeat due in the past: one on every loop turn).
  for (const char* key : {"heartbeat_interval_s", "auth_retry_s", "network_retry_s"}) {
    for (const double value : {std::numeric_limits<double>::infinity(), 1e300, 3600.5}) {
      auto j = minimal();
      j[key] = value;
      const std::string msg = refusal(j);
      EXPECT_NE(msg.find(std::string("'") + key + "' must be <= 3600"), std::string::npos) << msg;
    }
    auto j = minimal();
    j[key] = 3600;
    EXPECT_NO_THROW((void)Config::from_json(j)) << key;
  }
}

TEST(EngineConfigTest, UnsignedIntegerAbove64BitSignedIsRefusedNotWrapped) {
  auto j = minimal();
  j["max_job_bytes"] = std::uint64_t{1} << 63;  // would wrap to a negative int64
  const std::string msg = refusal(j);
  EXPECT_NE(msg.find("got 9223372036854775808"), std::string::npos) << msg;
}

}  // namespace
}  // namespace farmhand::engine
