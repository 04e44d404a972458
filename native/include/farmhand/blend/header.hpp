// The .blend file header: the first 12 or 17 bytes of an uncompressed .blend.
//
// Format rule source: Blender's `source/blender/blenloader/intern/readfile.cc`
// (`read_file_dna` / `blo_decode_and_check`) and `BLO_core_blend_header.hh` (Blender 5.0):
//
//   legacy, 12 bytes:  "BLENDER" | '_' (4-byte pointers) or '-' (8-byte)
//                      | 'v' (little endian) or 'V' (big endian) | 3 digits ("304" = 3.4)
//   large, 17 bytes:   "BLENDER" | 2-digit header size "17" | '-' (8-byte pointers)
//                      | 2-digit format version "01" | 'v' or 'V' | 4 digits ("0500" = 5.0)
//
// Pure parsing, no I/O: validate.hpp reads files (and their gzip/zstd wrappers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace farmhand::blend {

/// Bytes needed to parse any header we know (the large form); a legacy header uses 12.
inline constexpr std::size_t kMaxHeaderBytes = 17;
/// Bytes of a legacy header.
inline constexpr std::size_t kLegacyHeaderBytes = 12;

enum class Endianness { kLittle, kBig };
enum class Compression { kNone, kGzip, kZstd };

/// What the header says about a file.
struct Header {
  int version = 0;       // Blender version that saved the file: 304 = 3.4, 500 = 5.0
  int pointer_size = 8;  // bytes: 4 or 8
  Endianness endianness = Endianness::kLittle;
  int header_size = 12;    // bytes: 12 (legacy) or 17 (large header)
  int format_version = 0;  // 0 for the legacy header, else the large header's "01"
  Compression compression = Compression::kNone;  // set by inspect_file, kNone from parse_header
};

/// Parses the start of an uncompressed .blend. `bytes` may be longer than the header (only
/// the first 12 or 17 bytes are read). Throws Error kBlendInvalid saying what is wrong
/// (not a .blend, truncated, unknown pointer-size/endianness marker, non-digit version,
/// unsupported header size or format version).
Header parse_header(std::span<const std::uint8_t> bytes);

/// "3.4" for 304, "5.0" for 500, "2.79" for 279: how Blender names its own versions.
std::string version_name(int version);

/// "none", "gzip", "zstd".
const char* to_string(Compression c) noexcept;
/// "little", "big".
const char* to_string(Endianness e) noexcept;

}  // namespace farmhand::blend
