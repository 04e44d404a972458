#include "farmhand/ipfs/partial_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "farmhand/error.hpp"

namespace farmhand::ipfs {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& p) {
  const std::error_code ec(errno, std::generic_category());  // thread-safe strerror
  throw Error(ErrorKind::kIo, what + " " + p.string() + ": " + ec.message());
}

}  // namespace

PartialFile::PartialFile(const std::filesystem::path& dir, const std::string& name)
    : final_(dir / name) {
  std::string templ = (dir / ("." + name + ".partial-XXXXXX")).string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  if (fd_ < 0) io_error("cannot create a temporary file in", dir);
  temp_ = buf.data();
  ::fchmod(fd_, 0644);
}

PartialFile::~PartialFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void PartialFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write", temp_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::filesystem::path PartialFile::commit() {
  if (::fsync(fd_) != 0) io_error("cannot flush", temp_);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) io_error("cannot close", temp_);
  if (::rename(temp_.c_str(), final_.c_str()) != 0) io_error("cannot rename into", final_);
  temp_.clear();
  return final_;
}

}  // namespace farmhand::ipfs
