#include "shared_state.hpp"

#include "farmhand/error.hpp"

namespace farmhand::engine {

namespace {
constexpr std::size_t kLogTailBytes =
    std::size_t{64} * 1024;  // the backend keeps the last 65536 chars
}

namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.size() < 2) return;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

void replace_word(std::string& text, const std::string& word, const std::string& to) {
  if (word.size() < 3 || word == "root" || word == "user" || word == "home") return;
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at)) {
    const bool starts = at == 0 || !word_char(text[at - 1]);
    const std::size_t end = at + word.size();
    const bool ends = end == text.size() || (!word_char(text[end]) || text[end] == '.');
    if (starts && ends) {
      text.replace(at, word.size(), to);
      at += to.size();
    } else {
      at = end;
    }
  }
}

}  // namespace

std::string scrub_local(std::string text, const std::filesystem::path& work_dir) {
  std::vector<std::pair<std::string, std::string>> paths;
  auto add = [&](const std::filesystem::path& p, const char* name) {
    std::string s = p.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    if (s.size() > 1) paths.emplace_back(s, name);
    std::error_code ec;
    const auto real = std::filesystem::weakly_canonical(p, ec).string();
    if (!ec && real.size() > 1 && real != s) paths.emplace_back(real, name);
  };
  add(work_dir, "<work>");
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    add(home, "<home>");
  }
  std::sort(paths.begin(), paths.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [from, to] : paths) replace_all(text, from, to);
  for (const char* var : {"USER", "LOGNAME"}) {
    if (const char* name = std::getenv(var); name != nullptr) replace_word(text, name, "<user>");
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.pop_back();
  }
  return text;
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
    e.result = h.result;
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
  if ((what == "/fail" && s.no_fail) || (what == "/release" && s.no_release)) {
    return CallResult::kOk;  // the backend has no such endpoint (logged once)
  }
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
      if (e.kind() == ErrorKind::kNotSupported) {
        // A seed-literal backend: the seed's table says log, skip the job, go on polling.
        std::atomic<bool>& flag = what == "/fail" ? s.no_fail : s.no_release;
        if (!flag.exchange(true)) {
          s.log.line("the backend has no " + what + " endpoint (" + e.what() +
                     "); jobs are skipped without telling it (logged once)");
        }
        return CallResult::kOk;
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
                    bool retryable, const std::string& log_tail, const std::string& code) {
  const auto dir = s.workspace.job_dir(id);
  s.log.job(id, dir,
            "failed (" + std::string(retryable ? "retryable" : "not retryable") +
                (code.empty() ? "" : ", " + code) + "): " + reason);
  const std::string tail = scrub_local(
      log_tail.empty() ? file_tail(s.workspace.worker_log(id), kLogTailBytes) : log_tail,
      s.config.work_dir);
  // docs/protocol.md "Failure codes": the text starts with "refused: " or "failed: "
  const bool worded = reason.starts_with("refused: ") || reason.starts_with("failed: ");
  const std::string sent = scrub_local(worded ? reason : "failed: " + reason, s.config.work_dir);
  call_backend(s, backend, id, "/fail", [&] { backend.fail(id, sent, retryable, tail, code); });
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
