// The crash journal: work_dir/journal.json records every job the engine holds and how far
// it got, written atomically (temporary file, fsync, rename), so that after a crash the next
// start can tell the backend what happened to each.
//
// Format: {"version": 1, "jobs": [{"id": "7", "asset_cid": "Qm...", "state": "handed",
//          "coordinator": "http://127.0.0.1:8000", "recorded_at": 1764748800}]}
// ("coordinator" and "recorded_at" are absent from journals written before they existed:
// such entries load with an empty coordinator and recorded_at 0.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace farmhand::engine {

enum class JournalState {
  kClaimed,    // assigned to us, downloading/validating/queued; Blender has not seen it
  kHanded,     // returned by next_job(): Blender is rendering it
  kFinishing,  // Blender finished; result being uploaded/submitted
  kCrashed,    // Blender crashed while rendering it (reported): never claimed again here;
               // kept kForeignJournalEntryTtlS after it was recorded
};

/// "claimed", "handed", "finishing", "crashed".
const char* to_string(JournalState s) noexcept;

struct JournalEntry {
  std::string id;
  std::string asset_cid;
  JournalState state = JournalState::kClaimed;
  /// The backend URL (config.backend_url) the job was claimed from: recovery reports an
  /// entry only to that coordinator. "" = unknown (an old journal): the current one.
  std::string coordinator{};
  /// Unix time (seconds) the entry was last written; 0 = unknown. Entries for another
  /// coordinator are dropped once older than kForeignJournalEntryTtlS.
  std::int64_t recorded_at = 0;
};

/// How long a journal entry for another coordinator is kept (7 days) waiting for the
/// worker to talk to that coordinator again; then it is dropped with a log line.
inline constexpr std::int64_t kForeignJournalEntryTtlS = std::int64_t{7} * 24 * 3600;

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
