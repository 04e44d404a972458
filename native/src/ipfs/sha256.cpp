#include "farmhand/ipfs/sha256.hpp"

#include <openssl/evp.h>

#include <vector>

#include "farmhand/error.hpp"
#include "farmhand/platform/file.hpp"

namespace farmhand::ipfs {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::bad_alloc();
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

void Sha256::update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

Digest Sha256::finish() {
  Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, d.data(), &len);
  return d;
}

Digest sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

std::string to_hex(const Digest& digest) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string sha256_file_hex(const std::filesystem::path& file) {
  return sha256_files_hex({file});
}

std::string sha256_files_hex(const std::vector<std::filesystem::path>& files) {
  Sha256 h;
  std::vector<char> buf(1 << 20);
  for (const auto& file : files) {
    // A FIFO never blocks the open, and anything but a regular file is refused on the open
    // descriptor (no check-then-open race): platform::open_regular.
    auto opened = platform::open_regular(file, platform::OpenFor::kRead);
    if (opened.not_regular) {
      throw Error(ErrorKind::kIo, "cannot hash " + file.string() +
                                      ": not a regular file (a FIFO, device or "
                                      "directory); only files' bytes are hashed");
    }
    if (!opened.ok()) {
      throw Error(ErrorKind::kIo, "cannot open " + file.string() + " to hash it: check it exists");
    }
    for (;;) {
      const long n = platform::read_some(opened.file, buf);
      if (n < 0) throw Error(ErrorKind::kIo, "read error while hashing " + file.string());
      if (n == 0) break;
      h.update({buf.data(), static_cast<std::size_t>(n)});
    }
  }
  return to_hex(h.finish());
}

}  // namespace farmhand::ipfs
