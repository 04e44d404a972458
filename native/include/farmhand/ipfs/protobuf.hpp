// The few pieces of the protobuf wire format (protobuf.dev "Encoding") that dag-pb and
// UnixFS need: varint (wire type 0) and length-delimited (wire type 2) fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace farmhand::ipfs::pb {

inline constexpr int kWireVarint = 0;
inline constexpr int kWireLen = 2;

/// Appends the key of `field` with `wire_type`.
void put_uvarint_key(std::string& out, int field, int wire_type);
/// Appends key(field, varint) and the value.
void put_varint_field(std::string& out, int field, uint64_t value);
/// Appends key(field, len), the length and the bytes.
void put_bytes_field(std::string& out, int field, std::string_view bytes);

/// One decoded field. For kWireVarint `varint` is set, for kWireLen `bytes` views the input.
struct Field {
  int number = 0;
  int wire_type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

/// Reads fields one by one from a message; only wire types 0 and 2 are accepted.
class Reader {
 public:
  explicit Reader(std::string_view message) : in_(message) {}
  /// The next field; nullopt at the end. Throws Error(kind) on malformed input, with
  /// `what` (e.g. "dag-pb node") in the message.
  std::optional<Field> next();
  Reader(std::string_view message, int error_kind_as_int, std::string what);

 private:
  std::string_view in_;
  int error_kind_ = -1;
  std::string what_ = "protobuf message";
};

}  // namespace farmhand::ipfs::pb
