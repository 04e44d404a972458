// A file written under a temporary name in its destination directory and renamed into
// place only by commit(): readers never see a half-written file, and a PartialFile
// destroyed without commit() removes its temporary file.
#pragma once

#include <filesystem>
#include <string_view>

namespace farmhand::ipfs {

class PartialFile {
 public:
  /// Creates "<dir>/.<name>.partial-XXXXXX" (mode 0644). Throws Error kIo.
  PartialFile(const std::filesystem::path& dir, const std::string& name);
  ~PartialFile();
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  /// Appends bytes. Throws Error kIo (e.g. disk full).
  void write(std::string_view bytes);
  /// fsyncs, closes and renames onto the final path (replacing it); returns that path.
  std::filesystem::path commit();

 private:
  std::filesystem::path temp_;
  std::filesystem::path final_;
  int fd_ = -1;
};

}  // namespace farmhand::ipfs
