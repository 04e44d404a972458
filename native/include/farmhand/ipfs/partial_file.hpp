// A file written under a temporary name in its destination directory and renamed into
// place only by commit(): readers never see a half-written file, and a PartialFile
// destroyed without commit() removes its temporary file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

namespace farmhand::ipfs {

class PartialFile {
 public:
  /// Creates "<dir>/.<name>.partial-XXXXXX" (mode 0644). Throws Error kIo.
  /// `durable`: commit() fsyncs before the rename (the file survives a crash once it has
  /// its name) and start_writeback() works; otherwise the kernel writes it back when it
  /// likes (atomic for readers all the same, but a crash may leave it empty or torn).
  PartialFile(const std::filesystem::path& dir, const std::string& name, bool durable = true);
  ~PartialFile();
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  /// Appends bytes. Throws Error kIo (e.g. disk full).
  void write(std::string_view bytes);
  /// Sets the file's length to `bytes` (a hole where nothing was written yet), so that
  /// write_at may fill it in any order. Throws Error kIo.
  void resize(uint64_t bytes);
  /// Writes `bytes` at `offset` (pwrite; thread-safe for disjoint ranges: one writer at a
  /// time, since the kernel takes the file's lock for each write anyway and several
  /// writers spin on it). Throws kIo.
  void write_at(uint64_t offset, std::string_view bytes);
  /// Reads `out.size()` bytes at `offset` into `out` (pread). Throws kIo, also on a short read.
  void read_at(uint64_t offset, std::string& out);
  /// Starts writing `bytes` at `offset` back to disk now (Linux sync_file_range, no wait), so
  /// that commit()'s fsync has little left to do. Best effort: errors are left to commit().
  /// Nothing when not durable.
  void start_writeback(uint64_t offset, uint64_t bytes);
  /// fsyncs (if durable), closes and renames onto the final path (replacing it); returns
  /// that path.
  std::filesystem::path commit();

 private:
  std::filesystem::path temp_;
  std::filesystem::path final_;
  int fd_ = -1;
  bool durable_;
  std::mutex write_mutex_;  // write_at: one writer at a time
};

}  // namespace farmhand::ipfs
