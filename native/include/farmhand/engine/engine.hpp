// The job engine: the core's own threads that find, fetch and hand over jobs to Blender,
// keep their leases alive, and upload and submit results. Blender's main thread only
// renders: it calls next_job(), then finish() / fail() / release().
//
// Threads (all owned by the Engine):
//   fetch:   authenticate -> report crashed jobs from the journal -> long-poll -> assign ->
//            download + verify -> validate the header -> queue for next_job()
//   service: heartbeats for every held job (queued ones included) and the results of
//            finish()/fail()/release(): upload + /complete, /fail, /release
// Up to 1 + prefetch jobs are held (being fetched, queued or rendering) at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "farmhand/engine/config.hpp"
#include "farmhand/engine/job.hpp"
#include "farmhand/engine/ports.hpp"

namespace farmhand::engine {

/// A snapshot for the UI.
struct Status {
  std::string state;              // stopped, starting, authenticating, recovering, idle, claiming,
                                  // downloading, validating, ready, rendering, uploading,
                                  // submitting, backing_off, stopping
  std::string job_id;             // the job the state is about, "" if none
  double progress = 0;            // 0..1, the rendering job's last progress()
  std::string message;            // its message
  std::uint64_t bytes_done = 0;   // bytes of the current download
  std::uint64_t bytes_total = 0;  // 0 while unknown
  int jobs_done = 0;
  int jobs_failed = 0;
  std::string last_error;
  std::string worker_address;
  std::string lease_lost_job_id;  // the last job whose lease was lost, "" if none
  std::string sandbox;            // Config::sandbox: "Landlock ABI 7: ..." or "not sandboxed"
};

struct Shared;   // state shared by the threads (engine/shared_state.hpp)
struct Command;  // a finish/fail/release for the service thread (same file)

class Engine {
 public:
  /// Creates work_dir (kIo); threads start in start().
  Engine(Config config, Ports ports);
  /// stop(false) if still running.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  [[nodiscard]] const std::string& worker_address() const;
  [[nodiscard]] const Config& config() const;

  /// Spawns the threads. kInvalidArgument if already started.
  void start();
  /// Waits up to timeout_s seconds for a queued job and hands it to the caller (it is now
  /// "rendering"); nullopt on timeout or when stopping.
  std::optional<Job> next_job(double timeout_s);
  /// Records the rendering job's progress (fraction clamped to 0..1); heartbeats carry it.
  /// kInvalidArgument for a job this engine does not hold.
  void progress(const std::string& job_id, double fraction, const std::string& message);
  /// Hands the result over: upload + /complete happen on the service thread. Output files
  /// must exist; one file -> its CID, several -> a directory of them. `device`: the device
  /// class the frames were actually rendered with ("CPU" for a GPU worker that fell back),
  /// "" = config.device_class; sent at /complete with the Blender version (MAJOR.MINOR of
  /// config.blender_version), docs/protocol.md. kInvalidArgument for a job that is not
  /// rendering here or a device that is not a device class.
  void finish(const std::string& job_id, std::vector<std::filesystem::path> outputs,
              double render_seconds, const std::string& device = {});
  /// Reports the render failed: /fail with `error`, `log_tail` and `code` (the failure kind,
  /// docs/protocol.md "Failure codes"; "" = none). `error` is sent as given when it starts
  /// with "refused: " or "failed: ", else with "failed: " in front; trailing whitespace is
  /// removed. The engine replaces its work dir, the home dir and the user name in both
  /// texts (scrub_local). Non-blocking.
  void fail(const std::string& job_id, const std::string& error, const std::string& log_tail,
            bool retryable, const std::string& code = {});
  /// Hands the job back untouched: /release. Non-blocking.
  void release(const std::string& job_id, const std::string& reason);
  /// True once the job's lease was lost (a heartbeat answered 409): stop rendering it.
  [[nodiscard]] bool job_cancelled(const std::string& job_id) const;
  [[nodiscard]] Status status() const;
  /// graceful: pending uploads/submits complete, every job not yet rendered is released;
  /// not graceful: everything held is released now. Blocks until the threads exit or
  /// timeout_s seconds pass. A no-op when not running.
  void stop(bool graceful, double timeout_s);

 private:
  // Queues `command` for the service thread if its job is being rendered here; for a job
  // dropped after its lease was lost, logs `drop_reason` instead. Throws as finish() does.
  void hand_over(Command command, const char* what, const std::string& drop_reason);

  std::shared_ptr<Shared> s_;
  std::thread fetch_;
  std::thread service_;
};

}  // namespace farmhand::engine
