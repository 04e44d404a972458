// State shared by the engine's threads and the Python-facing Engine methods. One mutex,
// one condition variable (notify_all on every change); network and disk I/O happen with
// the mutex released, except the small journal writes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "farmhand/engine/config.hpp"
#include "farmhand/engine/engine.hpp"
#include "farmhand/engine/job.hpp"
#include "farmhand/engine/job_log.hpp"
#include "farmhand/engine/journal.hpp"
#include "farmhand/engine/ports.hpp"
#include "farmhand/engine/workspace.hpp"

namespace farmhand::engine {

using Clock = std::chrono::steady_clock;

/// Seconds elapsed since `t0`.
/// Seconds since the Unix epoch (wall clock), for journal timestamps.
std::int64_t unix_now_s();

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// "1.25 s": a duration in seconds for log lines.
inline std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

/// Where a held job is.
enum class Stage {
  kFetching,   // assigned; downloading / validating on the fetch thread
  kQueued,     // verified; waiting for next_job()
  kRendering,  // handed to Blender
  kFinishing,  // finish()/fail()/release() called; the service thread is on it
};

struct HeldJob {
  Job job;
  Stage stage = Stage::kFetching;
  double progress = 0;
  std::string message;
  bool cancelled = false;  // lease lost
  Clock::time_point next_heartbeat;
  double heartbeat_every_s = 10;        // heartbeat_interval_s(config, the granted lease)
  std::optional<JournalResult> result;  // after finish(): what to upload and submit
  std::uint64_t blend_bytes = 0;        // size of the downloaded .blend
  double download_s = 0;                // seconds: download + block verification
  double validate_s = 0;                // seconds: header validation
};

/// A result the service thread must report.
struct Command {
  enum class Kind { kFinish, kFail, kRelease } kind = Kind::kRelease;
  std::string id;
  std::vector<std::filesystem::path> outputs;  // kFinish
  double render_seconds = 0;                   // kFinish
  std::string device;                          // kFinish: device class rendered with, "" =
                                               // config.device_class
  std::string text;                            // kFail: error; kRelease: reason
  std::string log_tail;                        // kFail
  bool retryable = true;                       // kFail
  std::string code;                            // kFail: failure kind (protocol.md)
};

struct Shared {
  Shared(Config c, Ports p)
      : config(std::move(c)),
        ports(std::move(p)),
        log(config.log_file),
        workspace(config.work_dir, config.keep_failed),
        journal(workspace.journal_file()) {}

  const Config config;
  const Ports ports;
  JobLog log;
  Workspace workspace;
  Journal journal;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, HeldJob> held;   // by job id
  std::deque<std::string> ready;         // kQueued ids, oldest first
  std::deque<Command> commands;          // for the service thread
  std::vector<JournalEntry> recovering;  // entries of a previous run not yet reported
  std::vector<JournalEntry> foreign;     // entries for another coordinator: kept, not reported
  std::vector<JournalEntry> crashed;     // jobs Blender crashed on here: never claimed again
  std::set<std::string> lost;            // ids dropped after their lease was lost

  bool started = false;
  bool stopping = false;
  bool graceful = true;
  bool fetch_exited = false;    // the fetch thread returned
  bool fetch_released = false;  // the service thread may do its shutdown sweep (fetch exited,
                                // or was abandoned by stop() while it held no job)
  bool service_exited = false;
  std::atomic<bool> cancel{false};  // set when stopping: aborts downloads
  // Set when stopping: aborts the fetch thread's backend calls (a long-poll, auth, a health
  // probe), except an /assign in flight (claim_in_flight): the coordinator may already have
  // committed it, so it is let finish within its timeout, its job released, and this set then.
  std::atomic<bool> cancel_calls{false};
  bool claim_in_flight = false;  // the fetch thread's /assign is in flight

  std::string fetch_state = "starting";
  std::string service_state;  // "uploading" / "submitting" while busy, else ""
  std::string fetch_job_id;
  std::string service_job_id;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  int jobs_done = 0;
  int jobs_failed = 0;
  std::string last_error;
  std::string lease_lost_job_id;
  // Seed-literal backends lack these endpoints (kNotSupported): found once, logged once.
  std::atomic<bool> no_heartbeat{false};
  std::atomic<bool> no_fail{false};
  std::atomic<bool> no_release{false};

  /// Jobs counting against 1 + prefetch (fetching, queued, rendering). Caller holds mu.
  [[nodiscard]] int active_locked() const {
    int n = 0;
    // A job whose lease was lost no longer counts: it is not ours, whatever Blender does.
    for (const auto& [id, h] : held) n += h.stage != Stage::kFinishing && !h.cancelled ? 1 : 0;
    return n;
  }
  /// Rewrites journal.json from `foreign` + `recovering` + `held` (held entries stamped with
  /// config.backend_url and the current time). Caller holds mu. Logs on failure.
  void save_journal_locked();
  /// Sets last_error and logs. Caller must not hold mu.
  void record_error(const std::string& text);
  /// Sleeps up to `seconds` or until stopping. Caller must not hold mu. True if stopping.
  bool sleep_unless_stopping(double seconds);
};

/// Outcome of a /fail, /release or /complete call made through call_backend().
enum class CallResult { kOk, kLeaseGone, kFailed };

/// Runs `call` (a backend request for job `id`, described by `what`), re-authenticating
/// once on kAuthRejected and retrying once on other errors (these calls are safe to retry,
/// docs/protocol.md). kLeaseLost or HTTP 404 -> kLeaseGone. Logs failures.
CallResult call_backend(Shared& s, Backend& backend, const std::string& id, const std::string& what,
                        const std::function<void()>& call);
/// Skips a held job: logs `reason`, /fail with it (prefixed "failed: " unless it starts with
/// "refused: " or "failed: ") and the worker.log tail (or `log_tail` if given),
/// keeps its dir (FAILED), counts it failed, forgets it.
void report_failure(Shared& s, Backend& backend, const std::string& id, const std::string& reason,
                    bool retryable, const std::string& log_tail = {}, const std::string& code = {});
/// `text` with the worker's own paths and user name replaced, longest first: the work dir
/// -> "<work>", $HOME -> "<home>", the login name ($USER / $LOGNAME, 3+ characters, as a
/// whole word) -> "<user>"; trailing whitespace removed. Applied to every error and log tail
/// sent to a coordinator.
std::string scrub_local(std::string text, const std::filesystem::path& work_dir);
/// Hands a held job back: /release, removes its dir, forgets it.
void report_release(Shared& s, Backend& backend, const std::string& id, const std::string& reason);
/// Forgets a held job whose lease is gone: removes its dir, no backend call.
void drop_job(Shared& s, const std::string& id, const std::string& why);

void fetch_loop(const std::shared_ptr<Shared>& s);
void service_loop(const std::shared_ptr<Shared>& s);

}  // namespace farmhand::engine
