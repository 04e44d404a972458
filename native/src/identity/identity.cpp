#include "farmhand/identity/identity.hpp"

#include <sodium.h>

#include <system_error>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/identity/key_file.hpp"

namespace farmhand::identity {

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, size);
  out.pop_back();  // the terminating NUL
  return out;
}

Identity::Identity(std::array<std::uint8_t, 32> public_key, SecureBuffer secret_key)
    : public_key_(public_key),
      secret_key_(std::move(secret_key)),
      address_("0x" + to_hex(public_key_.data(), public_key_.size())) {}

Identity Identity::from_seed(const SecureBuffer& seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    throw Error(ErrorKind::kInvalidArgument,
                "an Ed25519 seed is 32 bytes, got " + std::to_string(seed.size()));
  }
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  SecureBuffer sk(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  return {pk, std::move(sk)};
}

Identity Identity::load_or_create(const std::filesystem::path& key_file) {
  if (key_file.empty() || !key_file.has_filename()) {
    // "" used to end in "cannot move the new key file into place"; "dir/" likewise.
    throw Error(ErrorKind::kKeyFile, "key file path '" + key_file.string() +
                                         "' names no file; give a file path such as "
                                         "~/.config/farmhand/worker.key");
  }
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::symlink_status(key_file, ec));
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Error(ErrorKind::kKeyFile, "cannot check key file '" + key_file.string() +
                                         "': " + ec.message() + "; check the configured key path");
  }
  if (exists) return from_seed(read_key_file(key_file));
  SecureBuffer seed(crypto_sign_SEEDBYTES);
  randombytes_buf(seed.data(), seed.size());
  write_key_file(key_file, seed);
  return from_seed(seed);
}

Identity Identity::from_key_fd(int fd) {
  return from_seed(read_key_fd(fd));
}

std::string Identity::sign_hex(std::string_view message) const {
  std::array<std::uint8_t, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_key_.data());
  return to_hex(sig.data(), sig.size());
}

}  // namespace farmhand::identity
