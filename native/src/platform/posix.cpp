// POSIX implementation of farmhand/platform/*.hpp (Linux, macOS).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "farmhand/platform/file.hpp"
#include "farmhand/platform/time.hpp"

namespace farmhand::platform {

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

int File::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

Opened open_regular(const std::filesystem::path& path, OpenFor mode) {
  // O_NONBLOCK: opening a FIFO would otherwise wait for its other end (a hang). Reads and
  // writes of a regular file ignore it.
  const int flags = mode == OpenFor::kRead ? O_RDONLY | O_NONBLOCK | O_CLOEXEC
                                           : O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC;
  Opened out;
  File file(::open(path.c_str(), flags, 0644));
  if (!file.is_open()) {
    out.error = errno;
    return out;
  }
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) {
    out.error = errno;
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.not_regular = true;
    return out;
  }
  out.file = std::move(file);
  return out;
}

int write_all(const File& file, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(file.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

long read_some(const File& file, std::span<char> buf) {
  for (;;) {
    const ssize_t n = ::read(file.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

std::tm utc_tm(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return tm;
}

}  // namespace farmhand::platform
