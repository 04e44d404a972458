#include "farmhand/engine/config.hpp"

#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "farmhand/error.hpp"

namespace farmhand::engine {
namespace {

using nlohmann::json;

// Upper bound of the engine's intervals and retry waits, seconds (an hour).
constexpr double kMaxSeconds = 3600.0;

[[noreturn]] void bad(const std::string& key, const std::string& why) {
  throw Error(ErrorKind::kInvalidArgument, "engine config: '" + key + "' " + why);
}

std::string get_string(const json& v, const std::string& key) {
  if (!v.is_string()) bad(key, "must be a string, got " + std::string(v.type_name()));
  return v.get<std::string>();
}

// A duration in seconds within [min, max]. The upper bound keeps the value convertible to
// steady_clock ticks: an inf or 1e300 would overflow duration_cast (undefined behaviour; in
// practice a time in the past, so a heartbeat or retry on every loop turn).
double get_number(const json& v, const std::string& key, double min, double max) {
  if (!v.is_number()) bad(key, "must be a number, got " + std::string(v.type_name()));
  const double d = v.get<double>();
  if (!(d >= min)) bad(key, "must be >= " + std::to_string(min) + ", got " + v.dump());
  if (!(d <= max)) bad(key, "must be <= " + std::to_string(max) + " seconds, got " + v.dump());
  return d;
}

std::int64_t get_int(const json& v, const std::string& key, std::int64_t min, std::int64_t max) {
  if (!v.is_number_integer()) bad(key, "must be an integer, got " + v.dump());
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    bad(key,
        "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + v.dump());
  }
  const auto i = v.get<std::int64_t>();
  if (i < min || i > max) {
    bad(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                 std::to_string(i));
  }
  return i;
}

std::vector<std::string> get_urls(const json& v, const std::string& key) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& item : v) out.push_back(get_string(item, key + "[]"));
  } else {
    bad(key, "must be a list of URL strings");
  }
  for (const auto& url : out) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      bad(key, "holds \"" + url + "\": URLs must start with http:// or https://");
    }
  }
  return out;
}

}  // namespace

Config Config::from_json(const json& object) {
  if (!object.is_object()) {
    throw Error(ErrorKind::kInvalidArgument, "engine config must be a dict of settings");
  }
  static const std::set<std::string> kKnown = {"backend_url",     "key_file",
                                               "ipfs_rpc_urls",   "gateway_urls",
                                               "work_dir",        "max_job_bytes",
                                               "prefetch",        "cid_version",
                                               "poll_wait_s",     "heartbeat_interval_s",
                                               "keep_failed",     "blender_version",
                                               "log_file",        "auth_retry_s",
                                               "network_retry_s", "source_timeout_s",
                                               "key_fd",          "sandbox",
                                               "device_class"};
  for (const auto& [key, value] : object.items()) {
    if (kKnown.count(key) == 0) bad(key, "is not a known setting (typo?)");
  }
  for (const char* required : {"backend_url", "key_file", "work_dir", "blender_version"}) {
    if (!object.contains(required) || object.at(required).is_null()) {
      bad(required, "is required");
    }
  }
  Config c;
  c.backend_url = get_urls(object.at("backend_url"), "backend_url").at(0);
  while (!c.backend_url.empty() && c.backend_url.back() == '/') c.backend_url.pop_back();
  c.key_file = get_string(object.at("key_file"), "key_file");
  c.work_dir = get_string(object.at("work_dir"), "work_dir");
  if (c.key_file.empty()) bad("key_file", "must not be empty");
  if (c.work_dir.empty()) bad("work_dir", "must not be empty");
  c.blender_version =
      static_cast<int>(get_int(object.at("blender_version"), "blender_version", 200, 9999));
  auto opt = [&](const char* key) -> const json* {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  };
  if (const auto* v = opt("ipfs_rpc_urls")) c.ipfs_rpc_urls = get_urls(*v, "ipfs_rpc_urls");
  if (const auto* v = opt("gateway_urls")) c.gateway_urls = get_urls(*v, "gateway_urls");
  if (const auto* v = opt("max_job_bytes")) {
    c.max_job_bytes = static_cast<std::uint64_t>(
        get_int(*v, "max_job_bytes", 1, std::numeric_limits<std::int64_t>::max()));
  }
  if (const auto* v = opt("prefetch")) c.prefetch = static_cast<int>(get_int(*v, "prefetch", 0, 8));
  if (const auto* v = opt("cid_version")) {
    c.cid_version = static_cast<int>(get_int(*v, "cid_version", 0, 1));
  }
  if (const auto* v = opt("poll_wait_s")) {
    c.poll_wait_s = static_cast<int>(get_int(*v, "poll_wait_s", 0, 300));
  }
  if (const auto* v = opt("heartbeat_interval_s")) {
    c.heartbeat_interval_s = get_number(*v, "heartbeat_interval_s", 0.1, kMaxSeconds);
  }
  if (const auto* v = opt("device_class")) {
    c.device_class = get_string(*v, "device_class");
    if (!is_device_class(c.device_class)) {
      bad("device_class",
          "must be one of CPU, CUDA, OPTIX, HIP, METAL, ONEAPI, got \"" + c.device_class + "\"");
    }
  }
  if (const auto* v = opt("keep_failed")) {
    c.keep_failed = static_cast<int>(get_int(*v, "keep_failed", 0, 10000));
  }
  if (const auto* v = opt("log_file")) c.log_file = get_string(*v, "log_file");
  if (const auto* v = opt("auth_retry_s"))
    c.auth_retry_s = get_number(*v, "auth_retry_s", 0, kMaxSeconds);
  if (const auto* v = opt("network_retry_s")) {
    c.network_retry_s = get_number(*v, "network_retry_s", 0, kMaxSeconds);
  }
  if (const auto* v = opt("key_fd")) {
    c.key_fd = static_cast<int>(get_int(*v, "key_fd", 0, std::numeric_limits<int>::max()));
  }
  if (const auto* v = opt("sandbox")) {
    c.sandbox = get_string(*v, "sandbox");
    if (c.sandbox.empty() || c.sandbox.size() > 500) bad("sandbox", "must be 1 to 500 characters");
  }
  if (const auto* v = opt("source_timeout_s")) {
    c.source_timeout_s = static_cast<int>(get_int(*v, "source_timeout_s", 1, 3600));
  }
  return c;
}

bool is_device_class(const std::string& device) {
  static const std::set<std::string> kDevices = {"",    "CPU",   "CUDA",  "OPTIX",
                                                 "HIP", "METAL", "ONEAPI"};
  return kDevices.count(device) != 0;
}

std::string blender_major_minor(int blender_version) {
  if (blender_version <= 0) return {};
  return std::to_string(blender_version / 100) + "." + std::to_string(blender_version % 100);
}

}  // namespace farmhand::engine
