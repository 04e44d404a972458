// The crash journal: work_dir/journal.json records every job the engine holds and how far
// it got, written atomically (temporary file, fsync, rename), so that after a crash the next
// start can tell the backend what happened to each.
//
// Format: {"version": 1, "jobs": [{"id": "7", "asset_cid": "Qm...", "state": "handed"}]}
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace farmhand::engine {

enum class JournalState {
  kClaimed,    // assigned to us, downloading/validating/queued; Blender has not seen it
  kHanded,     // returned by next_job(): Blender is rendering it
  kFinishing,  // Blender finished; result being uploaded/submitted
};

/// "claimed", "handed", "finishing".
const char* to_string(JournalState s) noexcept;

struct JournalEntry {
  std::string id;
  std::string asset_cid;
  JournalState state = JournalState::kClaimed;
};

class Journal {
 public:
  explicit Journal(std::filesystem::path file) : file_(std::move(file)) {}

  /// Entries on disk; none if the file does not exist. A corrupt journal (e.g. truncated by
  /// a disk-full crash) throws Error kIo naming the file, so nothing is silently forgotten.
  [[nodiscard]] std::vector<JournalEntry> load() const;
  /// Replaces the journal with `entries` atomically; kIo on failure.
  void save(const std::vector<JournalEntry>& entries) const;

  [[nodiscard]] const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace farmhand::engine
