// The worker's identity: an Ed25519 key pair (libsodium) kept in a key file.
//
// Address = "0x" + 64 lower-case hex characters of the 32-byte public key. The secret key
// lives only in sodium_malloc'd memory (SecureBuffer), is wiped on destruction and is never
// printed, logged or returned.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "farmhand/identity/secure_buffer.hpp"

namespace farmhand::identity {

class Identity {
 public:
  /// Loads the key at `key_file`, or creates a new one there (0600, atomic write) when the file
  /// does not exist. Throws kKeyFile on problems (see key_file.hpp for the rules).
  static Identity load_or_create(const std::filesystem::path& key_file);

  /// Loads the key from the inherited descriptor `fd` and closes it (key_file.hpp,
  /// read_key_fd). Throws kKeyFile.
  static Identity from_key_fd(int fd);

  /// Builds the key pair from a 32-byte seed (RFC 8032 §5.1.5). Throws kInvalidArgument when
  /// the seed is not 32 bytes.
  static Identity from_seed(const SecureBuffer& seed);

  /// "0x" + 64 lower-case hex of the public key (66 characters).
  [[nodiscard]] const std::string& address() const { return address_; }
  /// The raw 32-byte Ed25519 public key.
  [[nodiscard]] const std::array<std::uint8_t, 32>& public_key() const { return public_key_; }
  /// Ed25519 detached signature (RFC 8032 §5.1.6) over `message`, as 128 lower-case hex chars.
  [[nodiscard]] std::string sign_hex(std::string_view message) const;

 private:
  Identity(std::array<std::uint8_t, 32> public_key, SecureBuffer secret_key);

  std::array<std::uint8_t, 32> public_key_{};
  SecureBuffer secret_key_;  // 64 bytes: libsodium's seed || public key form
  std::string address_;
};

/// Lower-case hex of `bytes`.
std::string to_hex(const std::uint8_t* bytes, std::size_t size);

}  // namespace farmhand::identity
