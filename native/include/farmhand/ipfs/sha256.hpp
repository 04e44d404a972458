// SHA-256 (FIPS 180-4) through OpenSSL libcrypto's EVP interface, which uses the CPU's
// SHA extensions (SHA-NI / ARMv8 SHA2) where present.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

using EVP_MD_CTX = struct evp_md_ctx_st;

namespace farmhand::ipfs {

using Digest = std::array<uint8_t, 32>;

/// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  [[nodiscard]] Digest finish();

 private:
  EVP_MD_CTX* ctx_;
};

/// One-shot digest of `bytes`.
[[nodiscard]] Digest sha256(std::string_view bytes);

/// Lower-case hex of `digest` (64 characters).
[[nodiscard]] std::string to_hex(const Digest& digest);

/// Lower-case hex SHA-256 of the file's bytes, read in 1 MiB pieces.
/// Throws Error kIo if the file cannot be opened or read, or is not a regular file (a FIFO,
/// device or directory: refused at once instead of blocking or reading forever).
[[nodiscard]] std::string sha256_file_hex(const std::filesystem::path& file);

/// Lower-case hex SHA-256 of the files' bytes concatenated in the given order (the
/// `sha256` of a multi-frame result, docs/protocol.md). Throws Error kIo as above.
[[nodiscard]] std::string sha256_files_hex(const std::vector<std::filesystem::path>& files);

}  // namespace farmhand::ipfs
