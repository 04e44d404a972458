// The service thread: heartbeats for every held job, and the results Blender hands over
// (finish -> upload + /complete, fail -> /fail, release -> /release). At stop it finishes
// (graceful) or hands back (not graceful) what is pending, then releases every held job.
//
// Durable submission (docs/protocol.md "Worker timing"): a finished job's result stays on
// disk, named in the crash journal, and its upload and /complete are retried with back-off
// until the backend answers 200 (done) or 409/404 (the job is no longer ours), interleaved
// with the heartbeats of the other held jobs; a result still unsubmitted at stop is left in
// the journal and submitted by the next start.

#include <random>

#include "farmhand/engine/error_policy.hpp"
#include "farmhand/error.hpp"
#include "shared_state.hpp"

namespace farmhand::engine {
namespace {

struct Beat {
  std::string id;
  double progress;
  std::string message;
};

// A finished job on its way to the backend.
struct Submitting {
  Command command;               // kFinish: outputs, render_seconds
  std::filesystem::path result;  // the file or job-<id>/result/ directory to upload
  std::string cid;               // its CID (computed locally)
  std::string sha;               // sha256 of the outputs
  std::vector<int> frames;       // frames rendered
  bool uploaded = false;
  int upload_rounds = 0;  // rounds over every IPFS API that failed
  int attempts = 0;       // failed /complete calls
  Clock::time_point next_try;
  Clock::time_point started;
  double upload_s = 0;
};

Clock::duration secs(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

class Service {
 public:
  explicit Service(std::shared_ptr<Shared> s) : s_(std::move(s)), rng_(std::random_device{}()) {}

  void run() {
    while (true) {
      std::optional<Command> command;
      std::vector<Beat> beats;
      {
        std::unique_lock lock(s_->mu);
        // The wake time is recomputed after every notification: a newly claimed job's first
        // heartbeat may be due sooner than the time this wait began with.
        while (s_->commands.empty() && !(s_->stopping && s_->fetch_released)) {
          const auto wake = next_wake_locked();
          if (Clock::now() >= wake) break;
          s_->cv.wait_until(lock, wake);
        }
        if (!s_->commands.empty()) {
          command = std::move(s_->commands.front());
          s_->commands.pop_front();
        } else if (s_->stopping && s_->fetch_released) {
          break;
        } else {
          beats = due_beats_locked();
        }
      }
      if (command) execute(*command, /*graceful=*/true);
      for (const auto& b : beats) heartbeat(b);
      submit_due();
    }
    shutdown();
  }

 private:
  double unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  Backend& backend() {
    if (!backend_) {
      backend_ = s_->ports.make_backend(nullptr);
      try {
        backend_->authenticate();
      } catch (const Error& e) {  // the calls themselves retry and report
        s_->log.line(std::string("service thread: authentication failed: ") + e.what());
      }
    }
    return *backend_;
  }

  Storage& storage() {
    if (!storage_) storage_ = s_->ports.make_storage();
    return *storage_;
  }

  [[nodiscard]] bool beats_for(const HeldJob& h) const {
    // Finished jobs keep their lease alive while their result is being submitted.
    return !h.cancelled && (h.stage != Stage::kFinishing || submitting_.count(h.job.id) != 0);
  }

  Clock::time_point next_wake_locked() const {
    auto wake = Clock::now() + std::chrono::seconds(1);
    if (!s_->no_heartbeat) {
      for (const auto& [id, h] : s_->held) {
        if (beats_for(h)) wake = std::min(wake, h.next_heartbeat);
      }
    }
    for (const auto& [id, sub] : submitting_) wake = std::min(wake, sub.next_try);
    return wake;
  }

  std::vector<Beat> due_beats_locked() {
    std::vector<Beat> out;
    if (s_->no_heartbeat) return out;
    const auto now = Clock::now();
    for (auto& [id, h] : s_->held) {
      if (!beats_for(h) || h.next_heartbeat > now) continue;
      h.next_heartbeat = now + secs(h.heartbeat_every_s);
      out.push_back({id, h.progress, h.message});
    }
    return out;
  }

  void heartbeat(const Beat& b) {
    try {
      const double lease_s = backend().heartbeat(b.id, b.progress, b.message);
      if (lease_s > 0) {
        const std::lock_guard lock(s_->mu);
        auto it = s_->held.find(b.id);
        if (it != s_->held.end()) {
          it->second.heartbeat_every_s =
              heartbeat_interval_s(s_->config.heartbeat_interval_s, lease_s);
        }
      }
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kLeaseLost ||
          (e.kind() == ErrorKind::kHttpStatus && e.http_status() == 404)) {
        lease_lost(b.id, e.what());
      } else if (e.kind() == ErrorKind::kNotSupported) {
        if (!s_->no_heartbeat.exchange(true)) {
          s_->log.line(std::string("the backend has no heartbeat endpoint (") + e.what() +
                       "); leases are not kept alive by this worker (logged once)");
        }
      } else {
        if (e.kind() == ErrorKind::kAuthRejected) backend_.reset();
        s_->record_error("job " + b.id + ": heartbeat failed (will retry): " + e.what());
      }
    }
  }

  void lease_lost(const std::string& id, const std::string& why) {
    {
      const std::lock_guard lock(s_->mu);
      if (s_->held.count(id) == 0) return;
    }
    // Logged before the job is marked cancelled: from then on next_job() may drop it and
    // remove its dir, and a line written into the dir meanwhile left it behind (remove_all
    // then fails on a directory that is no longer empty).
    s_->log.job(id, s_->workspace.job_dir(id),
                "lease lost (heartbeat answered: " + why + "); stop working on it");
    bool queued = false;
    {
      const std::lock_guard lock(s_->mu);
      auto it = s_->held.find(id);
      if (it == s_->held.end()) return;
      it->second.cancelled = true;
      s_->lease_lost_job_id = id;
      s_->last_error = "job " + id + ": lease lost: " + why;
      queued = it->second.stage == Stage::kQueued;
      s_->cv.notify_all();
    }
    if (queued) drop_job(*s_, id, "lease lost while queued");
    if (submitting_.erase(id) != 0)
      drop_job(*s_, id, "lease lost before submission; result discarded");
  }

  void set_state(const char* state, const std::string& id) {
    const std::lock_guard lock(s_->mu);
    s_->service_state = state;
    s_->service_job_id = id;
  }

  void execute(const Command& c, bool graceful) {
    switch (c.kind) {
      case Command::Kind::kFinish:
        if (graceful) {
          begin_submission(c);
        } else {
          report_release(*s_, backend(), c.id, "worker stopping before the result was uploaded");
        }
        break;
      case Command::Kind::kFail:
        report_failure(*s_, backend(), c.id, c.text, c.retryable, c.log_tail, c.code);
        break;
      case Command::Kind::kRelease:
        report_release(*s_, backend(), c.id, c.text);
        break;
    }
    set_state("", "");
  }

  // Hashes the result, records it in the journal, and makes the first attempt.
  void begin_submission(const Command& c) {
    const std::string& id = c.id;
    const auto dir = s_->workspace.job_dir(id);
    Submitting sub;
    sub.command = c;
    sub.started = Clock::now();
    JournalResult recorded;
    try {
      sub.result = s_->workspace.assemble_result(id, c.outputs);
      sub.sha = sha256_concat_hex(c.outputs);
      sub.cid = storage().cid_of(sub.result);
    } catch (const Error& e) {
      report_failure(*s_, backend(), id, std::string("result unusable: ") + e.what(), true, {},
                     "no_output");
      return;
    }
    {
      const std::lock_guard lock(s_->mu);
      auto it = s_->held.find(id);
      if (it == s_->held.end()) return;
      sub.frames = it->second.job.frames;
      recorded.files = c.outputs;
      recorded.render_seconds = c.render_seconds;
      recorded.frames = sub.frames;
      recorded.cid = sub.cid;
      recorded.sha256 = sub.sha;
      recorded.device = c.device;
      it->second.result = recorded;
      s_->save_journal_locked();  // from here on the result survives a crash
    }
    s_->log.job(id, dir,
                "rendered in " + fmt_seconds(c.render_seconds) + "; uploading " +
                    std::to_string(c.outputs.size()) + " file(s), " +
                    std::to_string(total_bytes(c.outputs)) + " bytes, CID " + sub.cid);
    sub.next_try = Clock::now();
    submitting_[id] = std::move(sub);
    attempt(id);
  }

  void submit_due() {
    std::vector<std::string> due;
    const auto now = Clock::now();
    for (const auto& [id, sub] : submitting_) {
      if (sub.next_try <= now) due.push_back(id);
    }
    for (const auto& id : due) attempt(id);
  }

  // One try at what is left of job `id`'s submission: upload (each IPFS API in turn), then
  // /complete. Reschedules itself on a transient failure.
  void attempt(const std::string& id) {
    auto it = submitting_.find(id);
    if (it == submitting_.end()) return;
    Submitting& sub = it->second;
    const auto dir = s_->workspace.job_dir(id);
    if (!sub.uploaded) {
      set_state("uploading", id);
      const auto t0 = Clock::now();
      const std::size_t apis = storage().api_count();
      std::string last_error = "no IPFS RPC API configured (ipfs_rpc_urls is empty)";
      for (int n = 0; !sub.uploaded; ++n) {
        const std::size_t api = upload_api_for_attempt(n, apis);
        if (api >= apis) break;
        try {
          const std::string got = storage().upload(sub.result, api);
          if (got != sub.cid) {
            throw Error(ErrorKind::kCidMismatch, "IPFS API #" + std::to_string(api) + " stored " +
                                                     got + ", expected " + sub.cid);
          }
          sub.uploaded = true;
        } catch (const Error& e) {
          last_error = e.what();
          s_->log.job(id, dir,
                      "upload via IPFS API #" + std::to_string(api) + " failed (attempt " +
                          std::to_string(n + 1) + "): " + e.what());
        }
      }
      set_state("", "");
      if (!sub.uploaded) {
        sub.upload_rounds += 1;
        if (sub.upload_rounds >= kUploadRounds) {
          submitting_.erase(it);
          report_failure(*s_, backend(), id,
                         "upload failed on every IPFS API " + std::to_string(kUploadRounds) +
                             " times: " + last_error,
                         true, {}, "upload_failed");
          return;
        }
        const double wait = submit_retry_s(sub.upload_rounds, unit());
        s_->log.job(id, dir,
                    "upload round " + std::to_string(sub.upload_rounds) + " failed; retrying in " +
                        fmt_seconds(wait));
        sub.next_try = Clock::now() + secs(wait);
        return;
      }
      sub.upload_s = seconds_since(t0);
      s_->log.job(id, dir, "uploaded " + sub.cid + " in " + fmt_seconds(sub.upload_s));
    }

    set_state("submitting", id);
    const Submission body{sub.cid,
                          sub.sha,
                          sub.command.render_seconds,
                          sub.frames,
                          sub.command.device.empty() ? s_->config.device_class : sub.command.device,
                          blender_major_minor(s_->config.blender_version)};
    const auto t1 = Clock::now();
    try {
      backend().complete(id, body);
    } catch (const Error& e) {
      set_state("", "");
      switch (on_submit_error(e.kind(), e.http_status())) {
        case SubmitOutcome::kDrop:
          submitting_.erase(it);
          drop_job(*s_, id,
                   std::string("lease lost before submission; result discarded: ") + e.what());
          return;
        case SubmitOutcome::kFail:
          submitting_.erase(it);
          report_failure(*s_, backend(), id, std::string("submission refused: ") + e.what(), true,
                         {}, "upload_failed");
          return;
        case SubmitOutcome::kRetry:
          break;
      }
      if (e.kind() == ErrorKind::kAuthRejected) backend_.reset();
      sub.attempts += 1;
      const double wait = submit_retry_s(sub.attempts, unit());
      s_->log.job(id, dir,
                  "submission failed (attempt " + std::to_string(sub.attempts) +
                      "; the result is kept on disk), retrying in " + fmt_seconds(wait) + ": " +
                      e.what());
      sub.next_try = Clock::now() + secs(wait);
      return;
    }
    set_state("", "");
    double download_s = 0;
    double validate_s = 0;
    {
      const std::lock_guard lock(s_->mu);
      auto h = s_->held.find(id);
      if (h != s_->held.end()) {
        download_s = h->second.download_s;
        validate_s = h->second.validate_s;
      }
    }
    s_->log.job(id, dir,
                "completed: result " + sub.cid + " (sha256 " + sub.sha + "); download+verify " +
                    fmt_seconds(download_s) + ", validate " + fmt_seconds(validate_s) +
                    ", render " + fmt_seconds(sub.command.render_seconds) + ", upload " +
                    fmt_seconds(sub.upload_s) + ", submit " + fmt_seconds(seconds_since(t1)) +
                    (sub.attempts > 0
                         ? " after " + std::to_string(sub.attempts) + " failed attempt(s) over " +
                               fmt_seconds(seconds_since(sub.started))
                         : std::string()));
    submitting_.erase(it);
    s_->workspace.remove(id);
    const std::lock_guard lock(s_->mu);
    s_->jobs_done += 1;
    s_->held.erase(id);
    s_->save_journal_locked();
    s_->cv.notify_all();
  }

  void shutdown() {
    while (true) {  // commands may keep arriving while we work through them
      bool graceful = true;
      std::deque<Command> pending;
      {
        const std::lock_guard lock(s_->mu);
        graceful = s_->graceful;
        pending.swap(s_->commands);
      }
      if (pending.empty()) break;
      for (const auto& c : pending) execute(c, graceful);
    }
    // One last try for each result still waiting; what remains stays on disk, named in the
    // journal, for the next start.
    std::vector<std::string> ids;
    for (const auto& [id, sub] : submitting_) ids.push_back(id);
    for (const auto& id : ids) attempt(id);
    for (const auto& [id, sub] : submitting_) {
      s_->log.job(id, s_->workspace.job_dir(id),
                  "result " + sub.cid +
                      " not yet submitted: kept on disk (crash journal) for "
                      "the next start");
    }
    ids.clear();
    {
      const std::lock_guard lock(s_->mu);
      for (const auto& [id, h] : s_->held) {
        if (h.stage != Stage::kFinishing) ids.push_back(id);
      }
    }
    for (const auto& id : ids) {
      bool cancelled = false;
      {
        const std::lock_guard lock(s_->mu);
        auto it = s_->held.find(id);
        cancelled = it != s_->held.end() && it->second.cancelled;
      }
      if (cancelled) {
        drop_job(*s_, id, "lease already lost");
      } else {
        report_release(*s_, backend(), id, "worker stopping");
      }
    }
  }

  std::shared_ptr<Shared> s_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Storage> storage_;
  std::map<std::string, Submitting> submitting_;  // by job id
  std::mt19937_64 rng_;
};

}  // namespace

void service_loop(const std::shared_ptr<Shared>& s) {
  try {
    Service(s).run();
  } catch (const std::exception& e) {
    s->record_error(std::string("engine service thread stopped: ") + e.what());
  }
  const std::lock_guard lock(s->mu);
  s->service_exited = true;
  s->service_state.clear();
  s->cv.notify_all();
}

}  // namespace farmhand::engine
