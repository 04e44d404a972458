// The engine's directories under work_dir:
//
//   work_dir/journal.json            crash journal (journal.hpp)
//   work_dir/job-<id>/scene.blend    the verified job file
//   work_dir/job-<id>/output/        where Blender writes frames (Job::output_dir)
//   work_dir/job-<id>/result/        several outputs gathered for a directory upload
//   work_dir/job-<id>/worker.log     the engine's lines about this job
//   work_dir/job-<id>/FAILED         present when the job failed: the reason, one line
//
// Successful jobs' dirs are removed; failed ones are kept, the newest keep_failed of them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace farmhand::engine {

class Workspace {
 public:
  /// Creates work_dir (kIo on failure).
  Workspace(std::filesystem::path work_dir, int keep_failed);

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] std::filesystem::path job_dir(const std::string& id) const;
  [[nodiscard]] std::filesystem::path journal_file() const { return root_ / "journal.json"; }
  [[nodiscard]] std::filesystem::path worker_log(const std::string& id) const {
    return job_dir(id) / "worker.log";
  }

  /// A fresh job-<id>/ with an empty output/ (anything left from an earlier attempt is
  /// removed). Returns the job dir. kInvalidArgument if `id` is not a decimal number; kIo.
  std::filesystem::path prepare(const std::string& id);
  /// Writes job-<id>/FAILED with `reason`, then removes the oldest failed dirs beyond
  /// keep_failed. Never throws (a cleanup problem must not hide the job's failure).
  void mark_failed(const std::string& id, const std::string& reason) noexcept;
  /// Removes job-<id>/ (a successful or handed-back job). Never throws.
  void remove(const std::string& id) noexcept;

  /// What to upload for `outputs`: the file itself when there is one, else job-<id>/result/
  /// holding a copy of each (by file name, which must be unique). kInvalidArgument for no
  /// outputs or a duplicate name; kIo if an output is missing or not a regular file.
  std::filesystem::path assemble_result(const std::string& id,
                                        const std::vector<std::filesystem::path>& outputs);

 private:
  std::filesystem::path root_;
  int keep_failed_;
};

/// Lower-case hex SHA-256 of the files' bytes concatenated in file-name order (the
/// protocol's `sha256` of a result). kIo if a file cannot be read.
std::string sha256_concat_hex(std::vector<std::filesystem::path> files);

/// Sum of the files' sizes in bytes (0 for a missing file).
std::uint64_t total_bytes(const std::vector<std::filesystem::path>& files) noexcept;

}  // namespace farmhand::engine
