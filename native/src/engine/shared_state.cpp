#include "shared_state.hpp"

#include "farmhand/error.hpp"

namespace farmhand::engine {

namespace {
constexpr std::size_t kLogTailBytes =
    std::size_t{64} * 1024;  // the backend keeps the last 65536 chars
}

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Shared::save_journal_locked() {
  std::vector<JournalEntry> entries = foreign;
  entries.insert(entries.end(), crashed.begin(), crashed.end());
  entries.insert(entries.end(), recovering.begin(), recovering.end());
  const std::int64_t now = unix_now_s();
  for (const auto& [id, h] : held) {
    JournalEntry e{id, h.job.asset_cid, JournalState::kClaimed, config.backend_url, now};
    if (h.stage == Stage::kRendering) e.state = JournalState::kHanded;
    if (h.stage == Stage::kFinishing) e.state = JournalState::kFinishing;
    entries.push_back(std::move(e));
  }
  try {
    journal.save(entries);
  } catch (const Error& e) {
    last_error = e.what();
    log.line(std::string("could not write the crash journal: ") + e.what());
  }
}

void Shared::record_error(const std::string& text) {
  {
    const std::lock_guard lock(mu);
    last_error = text;
  }
  log.line(text);
}

bool Shared::sleep_unless_stopping(double seconds) {
  std::unique_lock lock(mu);
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
  cv.wait_until(lock, until, [&] { return stopping; });
  return stopping;
}

CallResult call_backend(Shared& s, Backend& backend, const std::string& id, const std::string& what,
                        const std::function<void()>& call) {
  for (int attempt = 1;; ++attempt) {
    try {
      call();
      return CallResult::kOk;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kLeaseLost ||
          (e.kind() == ErrorKind::kHttpStatus && e.http_status() == 404)) {
        s.log.job(id, s.workspace.job_dir(id),
                  what + ": the job is no longer ours (" + e.what() + ")");
        return CallResult::kLeaseGone;
      }
      if (attempt >= 2) {
        std::string msg = "job " + id;
        msg += ": " + what;
        msg += std::string(" failed: ") + e.what();
        s.record_error(msg);
        return CallResult::kFailed;
      }
      s.log.job(id, s.workspace.job_dir(id), what + " failed, retrying once: " + e.what());
      if (e.kind() == ErrorKind::kAuthRejected) {
        try {
          backend.authenticate();
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the retry reports it
        }
      }
    }
  }
}

void report_failure(Shared& s, Backend& backend, const std::string& id, const std::string& reason,
                    bool retryable, const std::string& log_tail) {
  const auto dir = s.workspace.job_dir(id);
  s.log.job(id, dir,
            "failed (" + std::string(retryable ? "retryable" : "not retryable") + "): " + reason);
  const std::string tail =
      log_tail.empty() ? file_tail(s.workspace.worker_log(id), kLogTailBytes) : log_tail;
  call_backend(s, backend, id, "/fail", [&] { backend.fail(id, reason, retryable, tail); });
  s.workspace.mark_failed(id, reason);
  const std::lock_guard lock(s.mu);
  s.jobs_failed += 1;
  s.last_error = "job " + id + ": " + reason;
  s.ready.erase(std::remove(s.ready.begin(), s.ready.end(), id), s.ready.end());
  s.held.erase(id);
  s.save_journal_locked();
  s.cv.notify_all();
}

void report_release(Shared& s, Backend& backend, const std::string& id, const std::string& reason) {
  s.log.job(id, s.workspace.job_dir(id), "handing back (/release): " + reason);
  call_backend(s, backend, id, "/release", [&] { backend.release(id, reason); });
  s.workspace.remove(id);
  const std::lock_guard lock(s.mu);
  s.ready.erase(std::remove(s.ready.begin(), s.ready.end(), id), s.ready.end());
  s.held.erase(id);
  s.save_journal_locked();
  s.cv.notify_all();
}

void drop_job(Shared& s, const std::string& id, const std::string& why) {
  s.log.job(id, s.workspace.job_dir(id), "dropped: " + why);
  s.workspace.remove(id);
  const std::lock_guard lock(s.mu);
  s.lost.insert(id);
  s.ready.erase(std::remove(s.ready.begin(), s.ready.end(), id), s.ready.end());
  s.held.erase(id);
  s.save_journal_locked();
  s.cv.notify_all();
}

}  // namespace farmhand::engine
