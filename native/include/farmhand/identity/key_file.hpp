// The worker's key file: reading, permission checks and atomic creation.
//
// Format (one line of text, 90 bytes):  "farmhand-ed25519-seed-v1:" + 64 lower-case hex
// characters of the 32-byte Ed25519 seed (RFC 8032 §5.1.5 "private key") + "\n".
// The file must be mode 0600 (no group/other bits); it is created that way.
#pragma once

#include <filesystem>
#include <string_view>

#include "farmhand/identity/secure_buffer.hpp"

namespace farmhand::identity {

inline constexpr std::string_view kKeyFilePrefix = "farmhand-ed25519-seed-v1:";
inline constexpr std::size_t kSeedBytes = 32;

/// Reads the 32-byte seed from `path` into guarded memory.
/// Throws kKeyFile when the file is missing or unreadable, is not a regular file, is readable
/// or writable by group/others (the message names `chmod 600 <path>`), or is not in the format
/// above.
SecureBuffer read_key_file(const std::filesystem::path& path);

/// Reads the seed from the open descriptor `fd` (the launcher's FARMHAND_KEY_FD) with the same
/// checks as read_key_file, reading from offset 0, and closes `fd` whatever happens: the
/// process holds the key only in guarded memory afterwards. Throws kKeyFile as read_key_file.
SecureBuffer read_key_fd(int fd);

/// Writes `seed` (32 bytes) to `path` atomically: a temporary file in the same directory,
/// created 0600, written, fsync'd, renamed over `path`, then the directory fsync'd. The parent
/// directory is created (0700) if missing. Throws kKeyFile on any filesystem failure.
void write_key_file(const std::filesystem::path& path, const SecureBuffer& seed);

}  // namespace farmhand::identity
