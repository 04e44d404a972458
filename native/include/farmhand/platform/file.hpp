#pragma once
// The operating system's file calls, behind one small interface: every OS-specific file
// operation of the core goes through here (docs/architecture.md, "Platform layer").
//
//   native/src/platform/posix.cpp   Linux and macOS (open/fstat/read/write; gmtime_r)
//   (Windows: not yet written; CreateFileW/GetFileInformationByHandle/FlushFileBuffers/
//    MoveFileExW are the counterparts; .github/workflows/wheels.yml is the untried recipe)
//
// The OS sandbox (Landlock on Linux) belongs here too, as platform/sandbox.hpp.
//
// Errors are returned, not thrown: each caller words its own error (KeyFileError, IoError)
// with the path and what to do.

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace farmhand::platform {

// An open file descriptor, closed on destruction. -1: none.
class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& other) noexcept : fd_(other.release()) {}
  File& operator=(File&& other) noexcept;
  ~File();

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool is_open() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

enum class OpenFor {
  kRead,    // read only; the file must exist
  kAppend,  // write at the end; created (mode 0644) when missing
};

// What open_regular() got: an open File, or why not.
struct Opened {
  File file;
  int error = 0;             // errno of a failed open/fstat (0 when none)
  bool not_regular = false;  // opened, but a FIFO, device, socket or directory: closed again
  [[nodiscard]] bool ok() const { return file.is_open(); }
};

// Opens `path` only if it is a regular file. Never blocks on a FIFO (opened non-blocking,
// then fstat on the open descriptor refuses it: no check-then-open race). Close-on-exec.
Opened open_regular(const std::filesystem::path& path, OpenFor mode);

// Writes all of `bytes` (retrying short writes and EINTR). Returns 0 or the errno.
int write_all(const File& file, std::string_view bytes);

// Reads up to buf.size() bytes (retrying EINTR). Returns the count (0 at end of file), or -1
// with errno set.
long read_some(const File& file, std::span<char> buf);

}  // namespace farmhand::platform
