#include "farmhand/ipfs/protobuf.hpp"

#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/varint.hpp"

namespace farmhand::ipfs::pb {

void put_uvarint_key(std::string& out, int field, int wire_type) {
  put_uvarint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

void put_varint_field(std::string& out, int field, uint64_t value) {
  put_uvarint(out, (static_cast<uint64_t>(field) << 3) | kWireVarint);
  put_uvarint(out, value);
}

void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  put_uvarint(out, (static_cast<uint64_t>(field) << 3) | kWireLen);
  put_uvarint(out, bytes.size());
  out.append(bytes);
}

Reader::Reader(std::string_view message, int error_kind_as_int, std::string what)
    : in_(message), error_kind_(error_kind_as_int), what_(std::move(what)) {}

std::optional<Field> Reader::next() {
  if (in_.empty()) return std::nullopt;
  const auto fail = [this](const std::string& why) {
    const auto kind =
        error_kind_ < 0 ? ErrorKind::kBlockVerificationFailed : static_cast<ErrorKind>(error_kind_);
    throw Error(kind, "malformed " + what_ + ": " + why);
  };
  const auto key = read_uvarint(in_);
  if (!key) fail("truncated field key");
  Field f;
  const uint64_t number = *key >> 3;
  if (number == 0 || number > (1U << 29)) fail("field number " + std::to_string(number));
  f.number = static_cast<int>(number);
  f.wire_type = static_cast<int>(*key & 7);
  if (f.wire_type == kWireVarint) {
    const auto v = read_uvarint(in_);
    if (!v) fail("truncated varint in field " + std::to_string(f.number));
    f.varint = *v;
  } else if (f.wire_type == kWireLen) {
    const auto len = read_uvarint(in_);
    if (!len || *len > in_.size()) {
      fail("length of field " + std::to_string(f.number) + " runs past the end");
    }
    f.bytes = in_.substr(0, *len);
    in_.remove_prefix(*len);
  } else {
    fail("unsupported wire type " + std::to_string(f.wire_type) + " in field " +
         std::to_string(f.number));
  }
  return f;
}

}  // namespace farmhand::ipfs::pb
