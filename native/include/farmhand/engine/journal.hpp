// The crash journal: work_dir/journal.json records every job the engine holds and how far
// it got, written atomically (temporary file, fsync, rename), so that after a crash the next
// start can tell the backend what happened to each.
//
// Format: {"version": 1, "jobs": [{"id": "7", "asset_cid": "Qm...", "state": "handed",
//          "coordinator": "http://127.0.0.1:8000", "recorded_at": 1764748800}]}
// ("coordinator" and "recorded_at" are absent from journals written before they existed:
// such entries load with an empty coordinator and recorded_at 0.)
// A "finishing" entry may carry the rendered result, so that a restarted worker submits it
// from disk instead of rendering again (durable submission, docs/protocol.md "Worker timing"):
//   "result": {"files": ["/work/job-7/output/frame_0001.png"], "render_seconds": 1.5,
//              "frames": [1], "cid": "Qm..." (or ""), "sha256": "<hex>" (or "")}
// Readers ignore keys they do not know, so older and newer workers read each other's files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
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

/// A rendered result waiting to be uploaded and submitted.
struct JournalResult {
  std::vector<std::filesystem::path> files;  // the output files, absolute paths in the job dir
  double render_seconds = 0;                 // seconds
  std::vector<int> frames;                   // frames rendered (the job's frames)
  std::string cid;                           // result CID once computed, else ""
  std::string sha256;                        // 64 hex once computed, else ""
  std::string device;  // device class rendered with (Engine::finish), "" = the config's
};

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
  std::optional<JournalResult> result{};  // kFinishing after finish(): what to submit
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
