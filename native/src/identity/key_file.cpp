// Key file I/O with POSIX calls: fstat on the open descriptor (no check-then-open race),
// O_EXCL temporary files, fsync before rename, fsync of the directory after.
#include "farmhand/identity/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/platform/file.hpp"

namespace farmhand::identity {
namespace {

constexpr std::size_t kFileBytes = kKeyFilePrefix.size() + 2 * kSeedBytes + 1;  // + "\n"

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorKind::kKeyFile, "key file '" + path.string() + "': " + what);
}

// Thread-safe text of the current errno (strerror is not).
std::string errno_text() {
  return std::error_code(errno, std::generic_category()).message();
}

// The checks and parsing shared by read_key_file and read_key_fd; `path` names the key in
// messages. Reads from offset 0 (pread), so a descriptor's position does not matter.
SecureBuffer read_key_from(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, "cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file; point the key path at a file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    fail(path, std::string("mode ") + mode +
                   " lets group or others access the secret key; refusing to use it. Run `chmod "
                   "600 " +
                   path.string() + "` (and consider the key compromised if others had access)");
  }
  // Read into guarded memory: the hex seed is as secret as the seed itself.
  SecureBuffer text(kFileBytes + 1);
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "cannot read: " + errno_text());
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  const auto* chars = reinterpret_cast<const char*>(text.data());
  const bool shape_ok =
      (got == kFileBytes && chars[kFileBytes - 1] == '\n') || got == kFileBytes - 1;
  if (!shape_ok || std::memcmp(chars, kKeyFilePrefix.data(), kKeyFilePrefix.size()) != 0) {
    fail(path, "not a farmhand key file (expected one line \"" + std::string(kKeyFilePrefix) +
                   "<64 hex>\"); restore the original or move this file away to create a new key");
  }
  SecureBuffer seed(kSeedBytes);
  std::size_t seed_len = 0;
  const char* end = nullptr;
  const char* hex = chars + kKeyFilePrefix.size();
  if (sodium_hex2bin(seed.data(), seed.size(), hex, 2 * kSeedBytes, nullptr, &seed_len, &end) !=
          0 ||
      seed_len != kSeedBytes || end != hex + 2 * kSeedBytes) {
    fail(path,
         "the seed is not 64 hex characters; restore the original or move this file away "
         "to create a new key");
  }
  return seed;
}

}  // namespace

SecureBuffer read_key_file(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise block until a writer appears (a
  // hang); with it the open returns and fstat refuses the FIFO. Reads of a regular file
  // ignore O_NONBLOCK.
  platform::File fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) fail(path, "cannot open: " + errno_text());
  return read_key_from(fd.get(), path);
}

SecureBuffer read_key_fd(int fd) {
  const std::filesystem::path name = "descriptor " + std::to_string(fd) + " (FARMHAND_KEY_FD)";
  if (fd < 0) fail(name, "not a descriptor; start the node through its launcher");
  platform::File owned(fd);  // closed on every path out
  return read_key_from(owned.get(), name);
}

void write_key_file(const std::filesystem::path& path, const SecureBuffer& seed) {
  if (seed.size() != kSeedBytes) {
    throw Error(ErrorKind::kInvalidArgument, "an Ed25519 seed is 32 bytes");
  }
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(path, "cannot create directory '" + dir.string() + "': " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }

  SecureBuffer text(kFileBytes);
  auto* chars = reinterpret_cast<char*>(text.data());
  std::memcpy(chars, kKeyFilePrefix.data(), kKeyFilePrefix.size());
  // sodium_bin2hex writes 64 hex digits plus a NUL, which the "\n" then replaces.
  sodium_bin2hex(chars + kKeyFilePrefix.size(), 2 * kSeedBytes + 1, seed.data(), seed.size());
  chars[kFileBytes - 1] = '\n';

  std::array<std::uint8_t, 8> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  std::string tmp_name = "." + path.filename().string() + ".tmp-";
  for (const std::uint8_t b : nonce) tmp_name += "0123456789abcdef"[b & 0xF];
  const std::filesystem::path tmp = dir / tmp_name;

  platform::File fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail(path, "cannot create '" + tmp.string() + "': " + errno_text());
  auto remove_tmp = [&] { ::unlink(tmp.c_str()); };
  if (::fchmod(fd.get(), 0600) != 0) {
    remove_tmp();
    fail(path, "cannot chmod 600 the new key file: " + errno_text());
  }
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      remove_tmp();
      fail(path, "cannot write the new key file: " + errno_text());
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    remove_tmp();
    fail(path, "cannot flush the new key file to disk: " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    remove_tmp();
    fail(path, "cannot move the new key file into place: " + errno_text());
  }
  platform::File dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());  // best effort: makes the rename durable
}

}  // namespace farmhand::identity
