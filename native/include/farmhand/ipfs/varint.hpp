// Unsigned LEB128 varints as used by multiformats (multiformats/unsigned-varint) and by
// protobuf (protobuf.dev "Encoding", section "Base 128 Varints").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace farmhand::ipfs {

/// Appends `value` to `out` as an unsigned varint (1..10 bytes).
void put_uvarint(std::string& out, uint64_t value);

/// Number of bytes put_uvarint(value) writes.
[[nodiscard]] std::size_t uvarint_size(uint64_t value) noexcept;

/// Reads one unsigned varint from the front of `in` and advances `in` past it.
/// Returns nullopt (and leaves `in` unchanged) if the input ends mid-varint or the value
/// does not fit in 64 bits. Throws nothing: callers pick the error kind.
[[nodiscard]] std::optional<uint64_t> read_uvarint(std::string_view& in) noexcept;

}  // namespace farmhand::ipfs
