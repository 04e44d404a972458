#include "farmhand/engine/job_log.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <system_error>

#include "farmhand/error.hpp"
#include "farmhand/platform/file.hpp"
#include "farmhand/platform/time.hpp"

namespace farmhand::engine {

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  const std::tm tm = platform::utc_tm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const auto size = static_cast<std::size_t>(in.tellg());
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (start > 0) {
    const auto nl = text.find('\n');
    if (nl != std::string::npos) text.erase(0, nl + 1);
  }
  return text;
}

namespace {

// Appends `text` to `file` if it is (or is created as) a regular file; returns 0 or the errno
// of the failure, or -1 for a file that is not regular. Never blocks: a FIFO without a reader
// fails at once (ENXIO); any other FIFO or device is refused (platform::open_regular).
int append_regular(const std::filesystem::path& file, const std::string& text) {
  auto opened = platform::open_regular(file, platform::OpenFor::kAppend);
  if (opened.not_regular) return -1;
  if (!opened.ok()) return opened.error;
  return platform::write_all(opened.file, text);
}

}  // namespace

JobLog::JobLog(std::optional<std::filesystem::path> log_file) : log_file_(std::move(log_file)) {
  if (!log_file_) return;
  const int rc = append_regular(*log_file_, "");
  if (rc == -1 || rc == ENXIO) {
    throw Error(ErrorKind::kIo, "log_file " + log_file_->string() +
                                    " is not a regular file (a FIFO, device or socket); point "
                                    "it at a file");
  }
  if (rc != 0) {
    throw Error(ErrorKind::kIo, "cannot open log_file " + log_file_->string() + ": " +
                                    std::generic_category().message(rc) +
                                    "; check the path and that its directory exists");
  }
}

void JobLog::line(const std::string& text) {
  write(utc_timestamp() + " farmhand: " + text + "\n", nullptr);
}

void JobLog::job(const std::string& id, const std::filesystem::path& job_dir,
                 const std::string& text) {
  const auto worker_log = job_dir / "worker.log";
  write(utc_timestamp() + " farmhand: job " + id + ": " + text + "\n",
        std::filesystem::is_directory(job_dir) ? &worker_log : nullptr);
}

void JobLog::write(const std::string& full, const std::filesystem::path* job_log) {
  const std::lock_guard lock(mu_);
  // One write(2) per line (a line under PIPE_BUF is never split, and never interleaved with
  // another process writing to the same pipe or O_APPEND file), not iostream's pieces.
  std::cerr.flush();
  platform::File stderr_fd(2);
  (void)platform::write_all(stderr_fd, full);
  (void)stderr_fd.release();  // borrowed: never closed here
  // Best effort (a log line must never stop the engine), and never blocking.
  if (log_file_) (void)append_regular(*log_file_, full);
  if (job_log != nullptr) (void)append_regular(*job_log, full);
}

}  // namespace farmhand::engine
