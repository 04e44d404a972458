#include "farmhand/blend/header.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string_view>

#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

constexpr std::string_view kMagic = "BLENDER";

[[noreturn]] void invalid(const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid, "not a usable .blend file: " + why);
}

// Printable rendering of up to `n` leading bytes, for messages ("BLENDER-v3\x00...").
std::string excerpt(std::span<const std::uint8_t> bytes, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < n; ++i) {
    const auto c = bytes[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
      out += hex;
    }
  }
  return out;
}

int digits(std::span<const std::uint8_t> bytes, std::size_t at, std::size_t count,
           const char* what) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (std::isdigit(bytes[i]) == 0) {
      invalid(std::string(what) + " is not " + std::to_string(count) +
              " decimal digits (header starts \"" + excerpt(bytes, kMaxHeaderBytes) + "\")");
    }
    value = value * 10 + (bytes[i] - '0');
  }
  return value;
}

Endianness endianness_at(std::span<const std::uint8_t> bytes, std::size_t at) {
  if (bytes[at] == 'v') return Endianness::kLittle;
  if (bytes[at] == 'V') return Endianness::kBig;
  invalid("endianness marker at byte " + std::to_string(at) + " must be 'v' or 'V' (header \"" +
          excerpt(bytes, kMaxHeaderBytes) + "\")");
}

Header parse_large(std::span<const std::uint8_t> bytes) {
  // "BLENDER" "17" '-' "01" 'v' "0500"
  const int size = digits(bytes, 7, 2, "header size");
  if (size != static_cast<int>(kMaxHeaderBytes)) {
    invalid("header size " + std::to_string(size) +
            " is not one this worker knows (17): saved by a newer Blender?");
  }
  if (bytes.size() < kMaxHeaderBytes) {
    invalid("file ends inside its 17-byte header (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (bytes[9] != '-') {
    invalid("large header must have '-' (8-byte pointers) at byte 9, found \"" +
            excerpt(bytes.subspan(9, 1), 1) + "\"");
  }
  Header h;
  h.format_version = digits(bytes, 10, 2, "header format version");
  if (h.format_version != 1) {
    invalid("header format version " + std::to_string(h.format_version) +
            " is not one this worker knows (01): saved by a newer Blender?");
  }
  h.endianness = endianness_at(bytes, 12);
  h.version = digits(bytes, 13, 4, "version");
  h.pointer_size = 8;
  h.header_size = static_cast<int>(kMaxHeaderBytes);
  return h;
}

}  // namespace

Header parse_header(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) invalid("the file is empty");
  const std::size_t magic_len = std::min(bytes.size(), kMagic.size());
  if (std::string_view(reinterpret_cast<const char*>(bytes.data()), magic_len) !=
      kMagic.substr(0, magic_len)) {
    invalid("it does not start with \"BLENDER\" (starts \"" + excerpt(bytes, 12) + "\")");
  }
  if (bytes.size() < kLegacyHeaderBytes) {
    invalid("file ends inside its header (" + std::to_string(bytes.size()) +
            " bytes, a header has at least 12)");
  }
  const auto marker = bytes[7];
  if (std::isdigit(marker) != 0) return parse_large(bytes);
  Header h;
  if (marker == '_') {
    h.pointer_size = 4;
  } else if (marker == '-') {
    h.pointer_size = 8;
  } else {
    invalid("pointer-size marker at byte 7 must be '_', '-' or a digit, found \"" +
            excerpt(bytes.subspan(7, 1), 1) + "\"");
  }
  h.endianness = endianness_at(bytes, 8);
  h.version = digits(bytes, 9, 3, "version");
  h.header_size = static_cast<int>(kLegacyHeaderBytes);
  h.format_version = 0;
  return h;
}

std::string version_name(int version) {
  const int major = version / 100;
  const int minor = version % 100;
  char buf[32];
  if (major < 3) {
    std::snprintf(buf, sizeof buf, "%d.%02d", major, minor);
  } else {
    std::snprintf(buf, sizeof buf, "%d.%d", major, minor);
  }
  return buf;
}

const char* to_string(Compression c) noexcept {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

const char* to_string(Endianness e) noexcept {
  return e == Endianness::kLittle ? "little" : "big";
}

}  // namespace farmhand::blend
