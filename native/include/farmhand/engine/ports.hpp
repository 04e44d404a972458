// What the engine needs from the outside world, as two small interfaces.
//
// The real implementations (real_ports.hpp) wrap backend::Client and ipfs::Client; the
// engine's unit tests substitute stubs to produce faults the real services cannot. Each
// object is used by one thread only (the clients keep one connection per thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace farmhand::engine {

/// A pending job as GET /api/v1/jobs/available lists it (docs/protocol.md).
struct Offer {
  std::string id;
  std::string asset_cid;
  std::string reward;
  std::vector<int> frames;
  std::string output_format = "PNG";
};

/// The body of POST /api/v1/jobs/{id}/complete.
struct Submission {
  std::string result_cid;
  std::string sha256;         // 64 lower-case hex
  double render_seconds = 0;  // seconds
  std::vector<int> frames;
  std::string device;   // device class actually rendered with ("CPU"); "" = not said
  std::string blender;  // Blender that rendered it, "3.4"; "" = not said
};

/// The outcome of an assign.
struct Claim {
  bool won = false;          // the lease is ours; false on 409 (someone else won, or not pending)
  double lease_seconds = 0;  // the lease length the backend granted; 0 when it did not say
};

/// The coordinator API. Every call throws farmhand::Error (kNetwork, kTimeout,
/// kAuthRejected, kHttpStatus, kMalformedResponse; kLeaseLost for a lost lease;
/// kNotSupported from heartbeat/fail/release when a seed-literal backend lacks them).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void authenticate() = 0;
  /// Long-polls up to `wait_s` seconds for pending jobs.
  virtual std::vector<Offer> available(int wait_s) = 0;
  virtual Claim assign(const std::string& id) = 0;
  /// Extends the lease; returns its length in seconds (0 when the backend did not say).
  virtual double heartbeat(const std::string& id, double progress, const std::string& message) = 0;
  virtual void complete(const std::string& id, const Submission& submission) = 0;
  /// `code`: the failure kind (docs/protocol.md "Failure codes"); "" sends none.
  virtual void fail(const std::string& id, const std::string& error, bool retryable,
                    const std::string& log_tail, const std::string& code) = 0;
  virtual void release(const std::string& id, const std::string& reason) = 0;
  /// One quick GET /api/v1/health: true when the backend answers over HTTP at all.
  virtual bool probe_health() = 0;
};

/// (done_bytes, total_bytes); total is 0 while unknown.
using TransferProgress = std::function<void(std::uint64_t, std::uint64_t)>;

/// IPFS: verified download, CIDs, upload to one of several RPC APIs.
class Storage {
 public:
  virtual ~Storage() = default;
  /// Verified download of `cid` into dest_dir/filename; kNotFound, kTooLarge, kCancelled, ...
  virtual std::filesystem::path download(const std::string& cid,
                                         const std::filesystem::path& dest_dir,
                                         const std::string& filename,
                                         const TransferProgress& progress,
                                         const std::atomic<bool>* cancel) = 0;
  /// The CID kubo would give `file_or_dir` with the configured CID version.
  virtual std::string cid_of(const std::filesystem::path& file_or_dir) = 0;
  /// Number of RPC APIs upload() can use.
  virtual std::size_t api_count() const = 0;
  /// Adds `file_or_dir` through RPC API number `api_index`; returns its CID (the
  /// implementation compares it with cid_of: kCidMismatch if kubo disagrees).
  virtual std::string upload(const std::filesystem::path& file_or_dir, std::size_t api_index) = 0;
};

/// Makes one Backend / Storage per engine thread.
struct Ports {
  /// `cancel` (may be null): once true, calls in flight (a long-poll) end with kCancelled.
  /// The fetch thread passes the engine's stop flag; the service thread passes null, since
  /// it must still release jobs while stopping.
  std::function<std::unique_ptr<Backend>(const std::atomic<bool>* cancel)> make_backend;
  std::function<std::unique_ptr<Storage>()> make_storage;
  std::string worker_address;  // "0x" + 64 hex
};

}  // namespace farmhand::engine
