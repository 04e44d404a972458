// The engine's log: one line per state change, for people.
//
// Each line goes to stderr and, if configured, appended to log_file; a job's lines are also
// appended to work_dir/job-<id>/worker.log (the crash journal sends its tail to the backend).
// Format: "2026-11-29T14:40:05.123Z farmhand: job 7: downloaded 1048576 bytes in 0.21 s".
// Never pass secrets (key material, tokens) to it.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace farmhand::engine {

class JobLog {
 public:
  /// Opens log_file (if given) once to check it: created if missing (mode 0644), and it must
  /// be a regular file. Throws Error kIo naming it otherwise (a directory, a missing parent
  /// directory, a FIFO: appending to a FIFO without a reader would block every logging thread).
  explicit JobLog(std::optional<std::filesystem::path> log_file);

  /// An engine-wide line.
  void line(const std::string& text);
  /// A line about job `id`, also appended to `job_dir`/worker.log when job_dir exists.
  void job(const std::string& id, const std::filesystem::path& job_dir, const std::string& text);

 private:
  void write(const std::string& full, const std::filesystem::path* job_log);
  std::optional<std::filesystem::path> log_file_;
  std::mutex mu_;
};

/// "2026-11-29T14:40:05.123Z": UTC now, ISO 8601 with milliseconds.
std::string utc_timestamp();

/// The last `max_bytes` bytes of `file` (from the start of a line when possible); "" if absent.
std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes);

}  // namespace farmhand::engine
