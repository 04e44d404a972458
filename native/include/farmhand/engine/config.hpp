// The engine's configuration: what Python passes to farmhand_core.Engine(config).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace farmhand::engine {

struct Config {
  std::string backend_url;         // required, e.g. "http://127.0.0.1:8000"
  std::filesystem::path key_file;  // required; created (0600) if missing
  int key_fd = -1;                 // >= 0: read the key from this inherited descriptor (the sandbox
                    // launcher's FARMHAND_KEY_FD) and close it; key_file is then never opened
  std::string sandbox = "not sandboxed";   // how this process is confined (FARMHAND_SANDBOX)
  std::vector<std::string> ipfs_rpc_urls;  // kubo RPC APIs, tried in order
  std::vector<std::string> gateway_urls;   // trustless gateways for downloads
  std::filesystem::path work_dir;          // required; job-<id>/ dirs and journal.json live here
  std::uint64_t max_job_bytes = std::uint64_t{2} << 30;  // bytes (2 GiB)
  int prefetch = 1;                    // jobs claimed ahead while one renders; 0 = off
  int cid_version = 0;                 // result CIDs: 0 (kubo default) or 1 (raw leaves)
  int poll_wait_s = 20;                // seconds a long-poll is held by the backend
  double heartbeat_interval_s = 10.0;  // seconds between heartbeats of each held job
  int keep_failed = 5;                 // failed jobs' work dirs kept, newest first
  int blender_version = 0;             // required: 304 = 3.4, 500 = 5.0
  std::string device_class;  // "CPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI"; "" = not said
  std::optional<std::filesystem::path> log_file;  // log lines also appended here
  double auth_retry_s = 5.0;                      // seconds to wait after an authentication failure
  double network_retry_s = 10.0;                  // seconds to wait after a network failure
  int source_timeout_s = 60;                      // seconds before an IPFS source is given up

  /// Builds a Config from a JSON object with the keys above (seconds as numbers, paths and
  /// URLs as strings, `log_file` string or null). Throws Error kInvalidArgument naming the
  /// key for an unknown key, a wrong type, a missing required key or an out-of-range value.
  static Config from_json(const nlohmann::json& object);
};

/// True for a device class the protocol knows (docs/protocol.md "Matching"): "CPU", "CUDA",
/// "OPTIX", "HIP", "METAL", "ONEAPI", or "" (not said).
bool is_device_class(const std::string& device);

/// A Blender version number as the protocol's `blender=` says it: 304 -> "3.4", 500 -> "5.0";
/// "" for 0 or less (not known).
std::string blender_major_minor(int blender_version);

}  // namespace farmhand::engine
