// The fetch thread: authenticate, report what a crashed run left behind, then long-poll,
// claim, download + verify and validate jobs until stopped (engine.hpp).

#include <algorithm>
#include <random>
#include <set>

#include "farmhand/blend/validate.hpp"
#include "farmhand/engine/error_policy.hpp"
#include "farmhand/error.hpp"
#include "shared_state.hpp"

namespace farmhand::engine {
namespace {

// The /fail text of a fault of this worker's own machine (its disk full or read-only, its
// work dir gone: ErrorKind::kIo) that kept it from job work: `what` it could not do and the
// system's reason (docs/protocol.md "Failure codes", worker_error; scrubbed when sent).
std::string worker_fault(const std::string& what, const Error& e) {
  return "failed: this worker " + what + " (" + e.what() +
         "): a fault of this worker's machine, not of the job: another worker can take it; "
         "the worker's owner should free space in (or repair) its work dir";
}

// True for the output formats of docs/protocol.md (what every Farmhand worker writes).
bool is_protocol_format(const std::string& format) {
  return format == "PNG" || format == "JPEG" || format == "OPEN_EXR";
}

// The failure code (docs/protocol.md "Failure codes") of a validation error.
std::string validation_code(const Error& e) {
  if (e.kind() == ErrorKind::kTooLarge) return "too_large";
  if (e.kind() != ErrorKind::kBlendInvalid) return "worker_error";
  const std::string what = e.what();
  if (what.find(" not packed: ") != std::string::npos) return "missing_files";
  if (what.starts_with("refused: Alembic/USD cache") || what.starts_with("refused: pre-2.50")) {
    return "refused_by_audit";
  }
  return what.find("newer") != std::string::npos ? "too_new" : "corrupt";
}

class Fetcher {
 public:
  explicit Fetcher(std::shared_ptr<Shared> s)
      : s_(std::move(s)),
        backend_(s_->ports.make_backend(&s_->cancel_calls)),
        storage_(s_->ports.make_storage()) {}

  void run() {
    if (!ensure_auth()) return;
    recover();
    while (true) {
      {
        std::unique_lock lock(s_->mu);
        s_->cv.wait(lock,
                    [&] { return s_->stopping || s_->active_locked() < 1 + s_->config.prefetch; });
        if (s_->stopping) return;
      }
      if (!ensure_auth()) return;
      set_state("idle");
      std::vector<Offer> offers;
      try {
        offers = backend_->available(s_->config.poll_wait_s);
      } catch (const Error& e) {
        if (back_off("polling for jobs failed", e)) return;
        continue;
      }
      if (offers.empty() && s_->config.poll_wait_s == 0 && s_->sleep_unless_stopping(1.0)) return;
      bool tried_any = false;
      for (const auto& offer : offers) {
        {
          const std::lock_guard lock(s_->mu);
          if (s_->stopping || s_->active_locked() >= 1 + s_->config.prefetch) break;
          // Requeued after our lease expired while we still hold it (e.g. Blender is still
          // rendering it): never claim it twice, that would reset its work dir.
          if (s_->held.count(offer.id) != 0) continue;
          // Blender crashed on this job here before (a poison job): leave it to others.
          if (std::any_of(s_->crashed.begin(), s_->crashed.end(),
                          [&](const JournalEntry& c) { return c.id == offer.id; })) {
            if (skipped_crashed_.insert(offer.id).second) {
              s_->log.line("job " + offer.id +
                           ": not claimed: Blender crashed on it on this worker before");
            }
            continue;
          }
          s_->fetch_state = "claiming";
          s_->fetch_job_id = offer.id;
        }
        tried_any = true;
        if (!claim_and_fetch(offer)) break;
      }
      // Only jobs we already hold are pending: the long-poll would answer at once, so pace it.
      if (!offers.empty() && !tried_any && s_->sleep_unless_stopping(1.0)) return;
    }
  }

 private:
  void set_state(const char* state, const std::string& job_id = {}) {
    const std::lock_guard lock(s_->mu);
    s_->fetch_state = state;
    s_->fetch_job_id = job_id;
  }

  // Logs the error and waits (seed table: auth -> auth_retry_s, else network_retry_s).
  // Returns true when stopping.
  bool back_off(const std::string& what, const Error& e) {
    if (e.kind() == ErrorKind::kCancelled) {
      // stop() cancels the request in flight: that is the stop, not an error to report.
      const std::lock_guard lock(s_->mu);
      if (s_->stopping) return true;
    }
    if (e.kind() == ErrorKind::kAuthRejected) authed_ = false;
    const double wait = jittered_s(retry_wait_s(e.kind(), s_->config),
                                   std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
    const bool probe = probe_while_waiting(e.kind(), e.http_status());
    s_->record_error(what + ": " + e.what() + " (retrying in " + fmt_seconds(wait) +
                     (probe ? ", or as soon as the backend answers)" : ")"));
    set_state("backing_off");
    if (!probe) return s_->sleep_unless_stopping(wait);
    // Probe the backend's health meanwhile: work resumes within about a second of its return.
    const auto t0 = Clock::now();
    const auto until =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
    double step = kProbeFirstS;
    while (Clock::now() < until) {
      const double left = std::chrono::duration<double>(until - Clock::now()).count();
      if (s_->sleep_unless_stopping(std::min(step, left))) return true;
      step = std::min(step * 2, kProbeMaxS);
      try {
        if (backend_->probe_health()) {
          s_->log.line("the backend answers again (after " + fmt_seconds(seconds_since(t0)) +
                       " of waiting): resuming");
          return false;
        }
      } catch (const Error&) {  // kCancelled: the engine is stopping
        return true;
      }
    }
    return false;
  }

  // False when stopping.
  bool ensure_auth() {
    while (!authed_) {
      set_state("authenticating");
      try {
        backend_->authenticate();
        authed_ = true;
        s_->log.line("authenticated as " + s_->ports.worker_address + " at " +
                     s_->config.backend_url);
      } catch (const Error& e) {
        if (back_off("authentication failed", e)) return false;
      }
      const std::lock_guard lock(s_->mu);
      if (s_->stopping) return false;
    }
    return true;
  }

  // Splits a loaded journal: entries of this coordinator (or of unknown origin, from an old
  // journal) are returned to be reported now; entries of another coordinator stay in the
  // journal (Shared::foreign) until the worker talks to that coordinator again, or are
  // dropped once older than kForeignJournalEntryTtlS.
  std::vector<JournalEntry> keep_foreign(std::vector<JournalEntry> entries) {
    std::vector<JournalEntry> mine;
    std::vector<JournalEntry> kept;
    const std::int64_t now = unix_now_s();
    for (auto& e : entries) {
      if (e.coordinator.empty() || e.coordinator == s_->config.backend_url) {
        mine.push_back(std::move(e));
      } else if (e.recorded_at > 0 && now - e.recorded_at > kForeignJournalEntryTtlS) {
        s_->log.line("job " + e.id + " of " + e.coordinator +
                     ": crash journal entry older than 7 days dropped (never reported)");
      } else {
        s_->log.line("job " + e.id + " of " + e.coordinator +
                     ": crash journal entry kept for that coordinator (this run reports to " +
                     s_->config.backend_url + ")");
        kept.push_back(std::move(e));
      }
    }
    const std::lock_guard lock(s_->mu);
    s_->foreign = std::move(kept);
    if (mine.empty()) s_->save_journal_locked();
    return mine;
  }

  // Reports every job of a previous run's journal (for this coordinator) before taking new
  // work.
  void recover() {
    std::vector<JournalEntry> entries;
    try {
      entries = s_->journal.load();
    } catch (const Error& e) {
      s_->record_error(e.what());
      auto aside = s_->journal.file();
      aside += ".corrupt";
      std::error_code ec;
      std::filesystem::rename(s_->journal.file(), aside, ec);
      return;
    }
    entries = keep_foreign(std::move(entries));
    {
      // Poison jobs recorded by earlier runs stay recorded (7 days), not reported again.
      const std::lock_guard lock(s_->mu);
      const std::int64_t now = unix_now_s();
      for (const auto& e : entries) {
        if (e.state == JournalState::kCrashed &&
            (e.recorded_at == 0 || now - e.recorded_at <= kForeignJournalEntryTtlS)) {
          s_->crashed.push_back(e);
        }
      }
      std::erase_if(entries,
                    [](const JournalEntry& e) { return e.state == JournalState::kCrashed; });
      if (entries.empty()) s_->save_journal_locked();
    }
    if (entries.empty()) return;
    set_state("recovering");
    {
      const std::lock_guard lock(s_->mu);
      s_->recovering = entries;
    }
    for (const auto& e : entries) {
      const auto dir = s_->workspace.job_dir(e.id);
      if (resubmit(e)) continue;
      if (e.state == JournalState::kClaimed) {
        s_->log.job(e.id, dir, "left claimed by a previous run: releasing it");
        call_backend(*s_, *backend_, e.id, "/release",
                     [&] { backend_->release(e.id, "worker restarted before rendering the job"); });
        s_->workspace.remove(e.id);
      } else {
        const std::string reason = e.state == JournalState::kHanded
                                       ? "worker crashed while rendering"
                                       : "worker crashed while uploading the result";
        s_->log.job(e.id, dir, reason + " (found in the crash journal): reporting /fail");
        // The coordinator keeps the last 64 KiB of a log tail: the crash report goes last.
        const std::string report = e.state == JournalState::kHanded ? crash_report(e.id) : "";
        const std::string tail = scrub_local(
            file_tail(s_->workspace.worker_log(e.id), std::size_t{64} * 1024 - report.size()) +
                report,
            s_->config.work_dir);
        call_backend(*s_, *backend_, e.id, "/fail",
                     [&] { backend_->fail(e.id, reason, true, tail, "crashed"); });
        s_->workspace.mark_failed(e.id, reason);
        const std::lock_guard lock(s_->mu);
        s_->jobs_failed += 1;
        s_->last_error = "job " + e.id + ": " + reason;
        if (e.state == JournalState::kHanded) {
          s_->crashed.push_back(JournalEntry{e.id, e.asset_cid, JournalState::kCrashed,
                                             s_->config.backend_url, unix_now_s()});
        }
      }
      const std::lock_guard lock(s_->mu);
      std::erase_if(s_->recovering, [&](const JournalEntry& r) { return r.id == e.id; });
      s_->save_journal_locked();
    }
  }

  // Blender's crash report for a job that crashed it, for the /fail log tail: Blender writes
  // <temp dir>/<file name>.crash.txt (the launcher points TMPDIR at <work dir>/tmp, so
  // scene.crash.txt there; blender.crash.txt when no file was open). The report is moved
  // into the job's dir (kept with FAILED). "" when there is none.
  std::string crash_report(const std::string& id) {
    namespace fs = std::filesystem;
    const fs::path dir = s_->workspace.job_dir(id);
    for (const auto& candidate :
         {s_->config.work_dir / "tmp" / "scene.crash.txt",
          s_->config.work_dir / "tmp" / "blender.crash.txt", dir / "scene.crash.txt"}) {
      std::error_code ec;
      if (!fs::is_regular_file(candidate, ec)) continue;
      std::string report = file_tail(candidate, std::size_t{16} * 1024);
      fs::rename(candidate, dir / "blender.crash.txt", ec);
      if (ec) fs::remove(candidate, ec);
      s_->log.job(id, dir,
                  "Blender's crash report (" + candidate.filename().string() + ", " +
                      std::to_string(report.size()) + " bytes) added to the log tail");
      return "\n--- Blender crash report (" + candidate.filename().string() + ") ---\n" + report;
    }
    return {};
  }

  // A finished result a previous run could not submit: if its files are all still there, it
  // becomes a held job whose submission the service thread retries (durable submission).
  bool resubmit(const JournalEntry& e) {
    if (e.state != JournalState::kFinishing || !e.result || e.result->files.empty()) return false;
    for (const auto& f : e.result->files) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(f, ec)) return false;
    }
    const auto dir = s_->workspace.job_dir(e.id);
    s_->log.job(e.id, dir,
                "finished result " + e.result->cid + " of a previous run found on disk (" +
                    std::to_string(e.result->files.size()) + " file(s)): submitting it");
    const std::lock_guard lock(s_->mu);
    HeldJob h;
    h.job.id = e.id;
    h.job.asset_cid = e.asset_cid;
    h.job.work_dir = dir;
    h.job.output_dir = dir / "output";
    h.job.frames = e.result->frames;
    h.stage = Stage::kFinishing;
    h.result = e.result;
    h.heartbeat_every_s = s_->config.heartbeat_interval_s;
    h.next_heartbeat = Clock::now();
    s_->held[e.id] = std::move(h);
    Command c;
    c.kind = Command::Kind::kFinish;
    c.id = e.id;
    c.outputs = e.result->files;
    c.render_seconds = e.result->render_seconds;
    c.device = e.result->device;
    s_->commands.push_back(std::move(c));
    std::erase_if(s_->recovering, [&](const JournalEntry& r) { return r.id == e.id; });
    s_->save_journal_locked();
    s_->cv.notify_all();
    return true;
  }

  // True when the claim was refused (409: try the next offer of this batch). False otherwise:
  // after a won claim the loop polls again for a fresh list (docs/protocol.md: an older list's
  // further offers are likely claimed by others by now, each attempt a refused write), and on
  // errors it stops going through this batch.
  bool claim_and_fetch(const Offer& offer) {
    const std::string& id = offer.id;
    {
      const std::lock_guard lock(s_->mu);
      if (s_->stopping) return false;
      s_->claim_in_flight = true;
    }
    Claim claim;
    try {
      claim = backend_->assign(id);
    } catch (const Error& e) {
      // A network error or timeout leaves the outcome unknown: it may have been committed.
      const bool unknown = e.kind() == ErrorKind::kNetwork || e.kind() == ErrorKind::kTimeout;
      if (claim_ended_by_stop(id, unknown)) return false;
      back_off("job " + id + ": claim failed", e);
      return false;
    }
    if (claim_ended_by_stop(id, claim.won)) return false;
    if (!claim.won) {
      s_->log.line("job " + id + ": taken by another worker (409), trying the next");
      return true;
    }
    if (!is_protocol_format(offer.output_format)) {  // a backend of another implementation
      report_failure(*s_, *backend_, id,
                     "failed: this job asks for output format '" + offer.output_format +
                         "'; Farmhand workers write PNG, JPEG or OPEN_EXR: submit it again with "
                         "one of those",
                     false, {}, "unsupported_format");
      return false;
    }
    std::filesystem::path dir;
    try {
      dir = s_->workspace.prepare(id);
    } catch (const Error& e) {
      s_->record_error("job " + id + ": " + e.what());
      if (e.kind() == ErrorKind::kIo) {  // this machine's disk: fail it for another worker
        report_failure(*s_, *backend_, id, worker_fault("cannot create its dir for the job", e),
                       true, {}, "worker_error");
        s_->sleep_unless_stopping(s_->config.network_retry_s);
        return false;
      }
      call_backend(*s_, *backend_, id, "/release", [&] {
        backend_->release(
            id, scrub_local(std::string("worker cannot use it: ") + e.what(), s_->config.work_dir));
      });
      return false;
    }
    Job job;
    job.id = id;
    job.asset_cid = offer.asset_cid;
    job.work_dir = dir;
    job.blend_path = dir / "scene.blend";
    job.output_dir = dir / "output";
    job.frames = offer.frames;
    job.output_format = offer.output_format.empty() ? "PNG" : offer.output_format;
    job.reward = offer.reward;
    {
      const std::lock_guard lock(s_->mu);
      HeldJob h;
      h.job = job;
      h.heartbeat_every_s =
          heartbeat_interval_s(s_->config.heartbeat_interval_s, claim.lease_seconds);
      h.next_heartbeat = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(h.heartbeat_every_s));
      s_->held[id] = std::move(h);
      s_->fetch_state = "downloading";
      s_->fetch_job_id = id;
      s_->bytes_done = 0;
      s_->bytes_total = 0;
      s_->save_journal_locked();
    }
    s_->log.job(id, dir,
                "claimed (asset " + offer.asset_cid + ", reward " + offer.reward + ", " +
                    (offer.frames.empty() ? std::string("the scene's current frame")
                                          : std::to_string(offer.frames.size()) + " frame(s)") +
                    ", " + job.output_format + ")");

    const auto t0 = Clock::now();
    try {
      storage_->download(
          offer.asset_cid, dir, "scene.blend",
          [this](std::uint64_t done, std::uint64_t total) {
            const std::lock_guard lock(s_->mu);
            s_->bytes_done = done;
            s_->bytes_total = total;
          },
          &s_->cancel);
    } catch (const Error& e) {
      if (on_download_error(e.kind()) == DownloadOutcome::kRelease) {
        // Stopping: the service thread releases every job still held.
        s_->log.job(id, dir, "download cancelled: the engine is stopping");
        return false;
      }
      if (e.kind() == ErrorKind::kTooLarge) {  // this worker's limit: another may accept it
        report_failure(*s_, *backend_, id,
                       std::string("refused: the job file is larger than this worker accepts "
                                   "(--max-job-bytes): ") +
                           e.what(),
                       true, {}, "too_large");
        return false;
      }
      if (e.kind() == ErrorKind::kIo) {  // writing it here failed: this machine's fault
        report_failure(*s_, *backend_, id, worker_fault("cannot store the job file", e), true, {},
                       "worker_error");
        s_->sleep_unless_stopping(s_->config.network_retry_s);
        return false;
      }
      report_failure(*s_, *backend_, id, std::string("download failed: ") + e.what(), true, {},
                     "download_failed");
      return false;
    }
    const double download_s = seconds_since(t0);
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(job.blend_path, ec);
    s_->log.job(id, dir,
                "downloaded and verified " + std::to_string(bytes) + " bytes in " +
                    fmt_seconds(download_s));
    if (lease_lost(id)) return false;

    set_state("validating", id);
    const auto t1 = Clock::now();
    blend::Header header;
    blend::BlockSummary blocks;
    try {
      auto v = blend::validate_structure(job.blend_path, s_->config.max_job_bytes,
                                         s_->config.blender_version);
      header = v.header;
      blocks = std::move(v.blocks);
    } catch (const Error& e) {
      // (the LI refusal already reads "refused: linked library at LI block: ...")
      const std::string what = e.what();
      report_failure(*s_, *backend_, id, what.starts_with("refused: ") ? what : "refused: " + what,
                     e.kind() != ErrorKind::kBlendInvalid, {}, validation_code(e));
      return false;
    }
    const double validate_s = seconds_since(t1);
    s_->log.job(id, dir,
                "validated: saved by Blender " + blend::version_name(header.version) +
                    ", compression " + blend::to_string(header.compression) + ", " +
                    std::to_string(blocks.decompressed_bytes) + " bytes in " +
                    std::to_string(blocks.blocks) + " blocks, in " + fmt_seconds(validate_s) +
                    "; queued for Blender");
    bool stopping = false;
    {
      const std::lock_guard lock(s_->mu);
      stopping = s_->stopping;
      auto it = s_->held.find(id);
      if (!stopping && it != s_->held.end() && !it->second.cancelled) {
        it->second.job.blend_version = header.version;
        it->second.job.scene = blocks.current_scene;
        it->second.stage = Stage::kQueued;
        it->second.blend_bytes = bytes;
        it->second.download_s = download_s;
        it->second.validate_s = validate_s;
        s_->ready.push_back(id);
        s_->save_journal_locked();
        s_->cv.notify_all();
      }
    }
    if (stopping) return false;  // the service thread releases it
    lease_lost(id);
    set_state("idle");
    return false;
  }

  // Ends the /assign of job `id` in flight: true when the engine was told to stop meanwhile.
  // A claim that was won (or whose outcome is unknown: `maybe_won`) is committed on the
  // coordinator whatever the engine does now, so it is released at once (docs/protocol.md:
  // back to pending, attempts unchanged, a `released` event; a 409 = it was not ours) rather
  // than left to its lease's expiry (an attempt counted). The fetch thread's backend calls
  // are cancelled from then on, as stop() does while no claim is in flight.
  bool claim_ended_by_stop(const std::string& id, bool maybe_won) {
    {
      const std::lock_guard lock(s_->mu);
      s_->claim_in_flight = false;
      if (!s_->stopping) return false;
    }
    if (maybe_won) {
      s_->log.line("job " + id + ": claim answered after the engine was told to stop: released");
      call_backend(*s_, *backend_, id, "/release",
                   [&] { backend_->release(id, "worker stopping"); });
    }
    s_->cancel_calls = true;
    return true;
  }

  // True (and the job dropped) if a heartbeat found the job's lease lost meanwhile.
  bool lease_lost(const std::string& id) {
    {
      const std::lock_guard lock(s_->mu);
      auto it = s_->held.find(id);
      if (it == s_->held.end() || !it->second.cancelled || it->second.stage == Stage::kQueued) {
        return it == s_->held.end();
      }
    }
    drop_job(*s_, id, "lease lost while fetching");
    return true;
  }

  std::shared_ptr<Shared> s_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Storage> storage_;
  std::set<std::string> skipped_crashed_;  // poison jobs already logged as skipped
  bool authed_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

void fetch_loop(const std::shared_ptr<Shared>& s) {
  try {
    Fetcher(s).run();
  } catch (const std::exception& e) {
    s->record_error(std::string("engine fetch thread stopped: ") + e.what());
  }
  const std::lock_guard lock(s->mu);
  s->fetch_exited = true;
  s->fetch_released = true;
  s->fetch_state = "stopped";
  s->cv.notify_all();
}

}  // namespace farmhand::engine
