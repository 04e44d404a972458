#include "farmhand/engine/engine.hpp"

#include <algorithm>

#include "farmhand/error.hpp"
#include "shared_state.hpp"

namespace farmhand::engine {
namespace {

// The rendering job `id`, or nullptr for a job already dropped after its lease was lost
// (calls about it are then no-ops). Throws kInvalidArgument for any other id.
HeldJob* held_or_throw(Shared& s, const std::string& id, const char* what) {
  auto it = s.held.find(id);
  if (it == s.held.end() && s.lost.count(id) != 0) return nullptr;
  if (it == s.held.end() || it->second.stage != Stage::kRendering) {
    throw Error(ErrorKind::kInvalidArgument,
                std::string(what) + ": job " + id +
                    " is not being rendered by this engine (not returned by next_job(), or "
                    "already finished, failed or released)");
  }
  return &it->second;
}

}  // namespace

Engine::Engine(Config config, Ports ports)
    : s_(std::make_shared<Shared>(std::move(config), std::move(ports))) {}

Engine::~Engine() {
  try {
    stop(false, 5.0);
  } catch (...) {  // NOLINT(bugprone-empty-catch): destructors must not throw
  }
}

const std::string& Engine::worker_address() const {
  return s_->ports.worker_address;
}
const Config& Engine::config() const {
  return s_->config;
}

void Engine::start() {
  {
    const std::lock_guard lock(s_->mu);
    if (s_->started) throw Error(ErrorKind::kInvalidArgument, "Engine.start(): already started");
    s_->started = true;
  }
  s_->log.line("engine starting: worker " + s_->ports.worker_address + ", backend " +
               s_->config.backend_url + ", work_dir " + s_->config.work_dir.string() +
               ", prefetch " + std::to_string(s_->config.prefetch) + "; " + s_->config.sandbox);
  auto shared = s_;
  fetch_ = std::thread([shared] { fetch_loop(shared); });
  service_ = std::thread([shared] { service_loop(shared); });
}

std::optional<Job> Engine::next_job(double timeout_s) {
  // Blender asking for more work is done with any job whose lease was lost meanwhile.
  std::vector<std::string> abandoned;
  {
    const std::lock_guard lock(s_->mu);
    for (const auto& [id, h] : s_->held) {
      if (h.stage == Stage::kRendering && h.cancelled) abandoned.push_back(id);
    }
  }
  for (const auto& id : abandoned) drop_job(*s_, id, "lease lost while rendering");
  Job job;
  {
    std::unique_lock lock(s_->mu);
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(std::max(0.0, timeout_s)));
    s_->cv.wait_until(lock, until, [&] { return s_->stopping || !s_->ready.empty(); });
    if (s_->stopping || s_->ready.empty()) return std::nullopt;
    const std::string id = s_->ready.front();
    s_->ready.pop_front();
    auto& h = s_->held.at(id);
    h.stage = Stage::kRendering;
    job = h.job;
    s_->save_journal_locked();
    s_->cv.notify_all();
  }
  s_->log.job(job.id, job.work_dir, "handed to Blender (" + job.blend_path.string() + ")");
  return job;
}

void Engine::progress(const std::string& job_id, double fraction, const std::string& message) {
  const std::lock_guard lock(s_->mu);
  auto* h = held_or_throw(*s_, job_id, "progress()");
  if (h == nullptr) return;
  h->progress = std::clamp(fraction, 0.0, 1.0);
  h->message = message;
}

void Engine::finish(const std::string& job_id, std::vector<std::filesystem::path> outputs,
                    double render_seconds, const std::string& device) {
  if (!is_device_class(device)) {
    throw Error(
        ErrorKind::kInvalidArgument,
        "finish(): device must be one of CPU, CUDA, OPTIX, HIP, METAL, ONEAPI (the device "
        "class the frames were rendered with) or \"\" for the engine's device_class, got \"" +
            device + "\"");
  }
  Command c;
  c.kind = Command::Kind::kFinish;
  c.id = job_id;
  c.outputs = std::move(outputs);
  c.render_seconds = render_seconds;
  c.device = device;
  hand_over(std::move(c), "finish()", "finished after its lease was lost; result discarded");
}

void Engine::fail(const std::string& job_id, const std::string& error, const std::string& log_tail,
                  bool retryable, const std::string& code) {
  Command c;
  c.kind = Command::Kind::kFail;
  c.id = job_id;
  std::string text = error;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.pop_back();
  }
  c.text = text.starts_with("refused: ") || text.starts_with("failed: ") ? text : "failed: " + text;
  c.log_tail = log_tail;
  c.retryable = retryable;
  c.code = code;
  hand_over(std::move(c), "fail()", "failed after its lease was lost: " + error);
}

void Engine::release(const std::string& job_id, const std::string& reason) {
  Command c;
  c.kind = Command::Kind::kRelease;
  c.id = job_id;
  c.text = reason;
  hand_over(std::move(c), "release()", "released after its lease was lost");
}

void Engine::hand_over(Command command, const char* what, const std::string& drop_reason) {
  const std::string job_id = command.id;
  bool cancelled = false;
  {
    const std::lock_guard lock(s_->mu);
    auto* h = held_or_throw(*s_, job_id, what);
    if (h == nullptr) return;
    cancelled = h->cancelled;
    if (!cancelled) {
      h->stage = Stage::kFinishing;
      if (command.kind == Command::Kind::kFinish) {
        // Named in the journal from now on: a restart submits it rather than render again.
        h->result = JournalResult{command.outputs, command.render_seconds, h->job.frames, "", "",
                                  command.device};
      }
      s_->commands.push_back(std::move(command));
      s_->save_journal_locked();
      s_->cv.notify_all();
    }
  }
  if (cancelled) drop_job(*s_, job_id, drop_reason);
}

bool Engine::job_cancelled(const std::string& job_id) const {
  const std::lock_guard lock(s_->mu);
  auto it = s_->held.find(job_id);
  // A job we no longer hold because its lease was lost reads as cancelled too.
  if (it == s_->held.end()) return s_->lost.count(job_id) != 0;
  return it->second.cancelled;
}

Status Engine::status() const {
  const std::lock_guard lock(s_->mu);
  Status st;
  st.worker_address = s_->ports.worker_address;
  st.sandbox = s_->config.sandbox;
  st.jobs_done = s_->jobs_done;
  st.jobs_failed = s_->jobs_failed;
  st.last_error = s_->last_error;
  st.lease_lost_job_id = s_->lease_lost_job_id;
  st.bytes_done = s_->bytes_done;
  st.bytes_total = s_->bytes_total;
  const HeldJob* rendering = nullptr;
  for (const auto& [id, h] : s_->held) {
    if (h.stage == Stage::kRendering) rendering = &h;
  }
  if (rendering != nullptr) {
    st.progress = rendering->progress;
    st.message = rendering->message;
  }
  if (!s_->started) {
    st.state = "stopped";
  } else if (s_->stopping) {
    st.state = s_->service_exited ? "stopped" : "stopping";
  } else if (!s_->service_state.empty()) {
    st.state = s_->service_state;
    st.job_id = s_->service_job_id;
  } else if (rendering != nullptr) {
    st.state = "rendering";
    st.job_id = rendering->job.id;
  } else if (!s_->ready.empty() && s_->fetch_state == "idle") {
    st.state = "ready";
    st.job_id = s_->ready.front();
  } else {
    st.state = s_->fetch_state;
    st.job_id = s_->fetch_job_id;
  }
  return st;
}

void Engine::stop(bool graceful, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(std::max(0.0, timeout_s)));
  {
    std::unique_lock lock(s_->mu);
    if (!s_->started || (s_->stopping && !fetch_.joinable() && !service_.joinable())) return;
    if (!s_->stopping) {
      s_->stopping = true;
      s_->graceful = graceful;
      s_->cancel = true;
      // An /assign in flight is never cut off: the fetch thread releases what it claimed.
      if (!s_->claim_in_flight) s_->cancel_calls = true;
      s_->cv.notify_all();
      s_->log.line(std::string("engine stopping (") + (graceful ? "graceful" : "now") + ")");
    }
    // A fetch thread blocked in a long-poll holds no job: it need not be waited for.
    const auto idle = [&] {
      return s_->fetch_state == "idle" || s_->fetch_state == "authenticating" ||
             s_->fetch_state == "backing_off" || s_->fetch_state == "starting";
    };
    s_->cv.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(300)),
                      [&] { return s_->fetch_exited; });
    s_->cv.wait_until(lock, deadline, [&] { return s_->fetch_exited || idle(); });
    if (!s_->fetch_exited) {
      s_->fetch_released = true;  // abandoned: it exits on its own when its call returns
      s_->cv.notify_all();
    }
    s_->cv.wait_until(lock, deadline, [&] { return s_->service_exited; });
  }
  bool fetch_exited = false;
  bool service_exited = false;
  {
    const std::lock_guard lock(s_->mu);
    fetch_exited = s_->fetch_exited;
    service_exited = s_->service_exited;
  }
  if (fetch_.joinable()) fetch_exited ? fetch_.join() : fetch_.detach();
  if (service_.joinable()) service_exited ? service_.join() : service_.detach();
  s_->log.line("engine stopped");
}

}  // namespace farmhand::engine
