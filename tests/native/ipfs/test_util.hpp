// Helpers shared by the ipfs GoogleTests: kubo's deterministic test data generator and
// temp files.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "farmhand/ipfs/sha256.hpp"

namespace farmhand::ipfs::testing {

/// kubo test/cli/testutils/random_deterministic.go: ChaCha20 (RFC 8439) keystream with
/// key = SHA-256(seed), 12-byte zero nonce, counter 0; the first `size` bytes.
inline std::string deterministic_bytes(std::string_view seed, std::size_t size) {
  const Digest key = sha256(seed);
  unsigned char iv[16] = {};  // OpenSSL's ChaCha20 IV: 4-byte LE counter + 12-byte nonce
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, key.data(), iv);
  std::string zeros(size, '\0');
  std::string out(size, '\0');
  int len = 0;
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                    reinterpret_cast<const unsigned char*>(zeros.data()), static_cast<int>(size));
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

/// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("farmhand-ipfs-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, std::string_view bytes) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace farmhand::ipfs::testing
