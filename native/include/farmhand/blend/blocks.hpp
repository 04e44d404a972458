// The block structure of a .blend: the BHead chain after the file header, ending in ENDB.
//
// Format rule source: Blender's `source/blender/blenloader/BLO_core_bhead.hh` and
// `intern/readfile.cc` (`blo_bhead_read`, `read_file_dna`). Each block is a header followed
// by `len` bytes of data; the header's layout depends on the file header:
//
//   4-byte pointers (legacy "_"):  char code[4], int32 len, uint32 old, int32 SDNAnr, int32 nr
//   8-byte pointers (legacy "-"):  char code[4], int32 len, uint64 old, int32 SDNAnr, int32 nr
//   17-byte header (Blender 5.x):  char code[4], int32 SDNAnr, uint64 old, int64 len, int64 nr
//
// in the file's byte order. Codes used here: "DNA1" (the SDNA, sdna.hpp), "LI\0\0" (a linked
// library), "CF\0\0" (an Alembic/USD cache file), "VF\0\0" (a font: VFont, whose `packedfile` is
// the old pointer of its packed bytes' block, 0 when it is read from `filepath`), "GLOB" (a
// FileGlobal: `curscene`, the old pointer of the scene the file was saved with), "SC\0\0" (a Scene,
// whose first member is its ID, `ID.name` = "SC" + the scene's name), "ENDB" (the end). A block
// with SDNAnr > 0 holds `nr` structs of that SDNA struct, so its `len` must be at least nr x the
// struct's size (Blender's writer makes it exactly that); SDNAnr 0 marks raw data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "farmhand/blend/header.hpp"
#include "farmhand/blend/stream.hpp"

namespace farmhand::blend {

/// A font (VF block) that is not packed into the file: Blender opens `path` while it reads
/// the file (readfile's VFont loading, before any check of ours could run on the loaded data).
struct UnpackedFont {
  std::string name;  // ID name without the "VF" code, printable excerpt
  std::string path;  // VFont.filepath as stored, printable excerpt (<= 300 characters)
};

/// What the block walk found.
struct BlockSummary {
  std::uint64_t blocks = 0;                  // block headers read, ENDB included
  std::uint64_t decompressed_bytes = 0;      // file header + blocks, bytes
  std::size_t sdna_structs = 0;              // structs in the file's SDNA
  std::vector<std::string> libraries;        // one per LI block: its file path as stored
                                             // (printable excerpt; "" if the SDNA has no
                                             // Library.filepath/name member)
  std::vector<std::string> cache_files;      // one per CF block (an Alembic/USD cache,
                                             // which Blender opens while reading the file):
                                             // its file path as stored (printable excerpt)
  std::vector<UnpackedFont> unpacked_fonts;  // fonts Blender reads from a file path when it
                                             // opens the file (not packed, not built in)
  std::string current_scene;                 // name of the scene the file was saved with
                                             // (FileGlobal.curscene; the one Blender opens and
                                             // a headless worker renders), UTF-8; "" when the
                                             // file has no GLOB block, no scene block matches
                                             // it or the SDNA lacks the members
};

/// Bytes of a block header for `header`'s layout: 20, 24 or 32.
int block_header_size(const Header& header) noexcept;

/// Walks every block of `stream` (positioned at byte 0 of the decompressed file, whose
/// header is `header`) up to ENDB, parses the SDNA (parse_sdna) and checks each block
/// against it. Memory is bounded: only the DNA1 block (<= kMaxSdnaBytes), the first
/// 64 KiB of each LI block (at most 1000 of them), of the GLOB block, of each VF and CF block (at
/// most 10000 each), and the first 1 KiB
/// of each SC block (at most 10000; with more, current_scene stays "") are kept. Throws Error
/// kBlendInvalid saying what is wrong (negative length or count, a block running past the end of
/// the file, no or two DNA1 blocks, a struct number outside the SDNA, a block shorter than its
/// structs, data after ENDB, no ENDB, more than 10000 fonts) and whatever `stream` throws (corrupt
/// compression, too large).
BlockSummary scan_blocks(DecompressedStream& stream, const Header& header);

}  // namespace farmhand::blend
