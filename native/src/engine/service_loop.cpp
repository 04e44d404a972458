// The service thread: heartbeats for every held job, and the results Blender hands over
// (finish -> upload + /complete, fail -> /fail, release -> /release). At stop it finishes
// (graceful) or hands back (not graceful) what is pending, then releases every held job.

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

class Service {
 public:
  explicit Service(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  void run() {
    while (true) {
      std::optional<Command> command;
      std::vector<Beat> beats;
      {
        std::unique_lock lock(s_->mu);
        const auto wake = next_wake_locked();
        s_->cv.wait_until(lock, wake, [&] {
          return !s_->commands.empty() || (s_->stopping && s_->fetch_released) ||
                 Clock::now() >= next_wake_locked();
        });
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
    }
    shutdown();
  }

 private:
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

  Clock::time_point next_wake_locked() const {
    auto wake = Clock::now() + std::chrono::seconds(1);
    for (const auto& [id, h] : s_->held) {
      if (h.stage != Stage::kFinishing && !h.cancelled) wake = std::min(wake, h.next_heartbeat);
    }
    return wake;
  }

  std::vector<Beat> due_beats_locked() {
    std::vector<Beat> out;
    const auto now = Clock::now();
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s_->config.heartbeat_interval_s));
    for (auto& [id, h] : s_->held) {
      if (h.stage == Stage::kFinishing || h.cancelled || h.next_heartbeat > now) continue;
      h.next_heartbeat = now + interval;
      out.push_back({id, h.progress, h.message});
    }
    return out;
  }

  void heartbeat(const Beat& b) {
    try {
      backend().heartbeat(b.id, b.progress, b.message);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kLeaseLost ||
          (e.kind() == ErrorKind::kHttpStatus && e.http_status() == 404)) {
        lease_lost(b.id, e.what());
      } else {
        if (e.kind() == ErrorKind::kAuthRejected) backend_.reset();
        s_->record_error("job " + b.id + ": heartbeat failed (will retry): " + e.what());
      }
    }
  }

  void lease_lost(const std::string& id, const std::string& why) {
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
    s_->log.job(id, s_->workspace.job_dir(id),
                "lease lost (heartbeat answered: " + why + "); stop working on it");
    if (queued) drop_job(*s_, id, "lease lost while queued");
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
          finish(c);
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

  void finish(const Command& c) {
    const std::string& id = c.id;
    const auto dir = s_->workspace.job_dir(id);
    set_state("uploading", id);
    std::filesystem::path result;
    std::string sha;
    std::string cid;
    const auto bytes = total_bytes(c.outputs);
    const auto t0 = Clock::now();
    try {
      result = s_->workspace.assemble_result(id, c.outputs);
      sha = sha256_concat_hex(c.outputs);
      cid = storage().cid_of(result);
    } catch (const Error& e) {
      report_failure(*s_, backend(), id, std::string("result unusable: ") + e.what(), true, {},
                     "no_output");
      return;
    }
    s_->log.job(id, dir,
                "rendered in " + fmt_seconds(c.render_seconds) + "; uploading " +
                    std::to_string(c.outputs.size()) + " file(s), " + std::to_string(bytes) +
                    " bytes, CID " + cid);
    const std::size_t apis = storage().api_count();
    std::string last_error = "no IPFS RPC API configured (ipfs_rpc_urls is empty)";
    bool uploaded = false;
    for (int attempt = 0; !uploaded; ++attempt) {
      const std::size_t api = upload_api_for_attempt(attempt, apis);
      if (api >= apis) break;
      try {
        const std::string got = storage().upload(result, api);
        if (got != cid) {
          std::string msg = "IPFS API #" + std::to_string(api) + " stored " + got;
          msg += ", expected " + cid;
          throw Error(ErrorKind::kCidMismatch, msg);
        }
        uploaded = true;
      } catch (const Error& e) {
        last_error = e.what();
        s_->log.job(id, dir,
                    "upload via IPFS API #" + std::to_string(api) + " failed (attempt " +
                        std::to_string(attempt + 1) + "): " + e.what());
      }
    }
    if (!uploaded) {
      report_failure(*s_, backend(), id, "upload failed on every IPFS API: " + last_error, true, {},
                     "upload_failed");
      return;
    }
    const double upload_s = seconds_since(t0);
    s_->log.job(id, dir, "uploaded " + cid + " in " + fmt_seconds(upload_s));

    set_state("submitting", id);
    std::vector<int> frames;
    double download_s = 0;
    double validate_s = 0;
    {
      const std::lock_guard lock(s_->mu);
      auto it = s_->held.find(id);
      if (it != s_->held.end()) {
        frames = it->second.job.frames;
        download_s = it->second.download_s;
        validate_s = it->second.validate_s;
      }
    }
    const Submission sub{cid, sha, c.render_seconds, frames};
    const auto t1 = Clock::now();
    for (int attempt = 1;; ++attempt) {
      try {
        backend().complete(id, sub);
        break;
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kLeaseLost) {
          drop_job(*s_, id,
                   std::string("lease lost before submission; result discarded: ") + e.what());
          return;
        }
        if (e.kind() == ErrorKind::kAuthRejected) backend_.reset();
        if (!retry_submission(attempt, e.kind())) {
          report_failure(*s_, backend(), id, std::string("submission failed: ") + e.what(), true,
                         {}, "upload_failed");
          return;
        }
        s_->log.job(id, dir, std::string("submission failed, retrying once: ") + e.what());
      }
    }
    s_->log.job(id, dir,
                "completed: result " + cid + " (sha256 " + sha + "); download+verify " +
                    fmt_seconds(download_s) + ", validate " + fmt_seconds(validate_s) +
                    ", render " + fmt_seconds(c.render_seconds) + ", upload " +
                    fmt_seconds(upload_s) + ", submit " + fmt_seconds(seconds_since(t1)));
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
    std::vector<std::string> ids;
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
