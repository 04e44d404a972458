// Validation of a job's .blend file on disk before Blender opens it.
#pragma once

#include <cstdint>
#include <filesystem>

#include "farmhand/blend/blocks.hpp"
#include "farmhand/blend/header.hpp"

namespace farmhand::blend {

/// Reads the header of `path` (plain, gzip or zstd; only the bytes the header needs are
/// decompressed) and returns it with `compression` set. Throws Error kBlendInvalid if the
/// file is larger than `max_bytes` (bytes), empty, truncated, not a .blend, or its
/// compression is corrupt; kIo if it cannot be opened.
Header inspect_file(const std::filesystem::path& path, std::uint64_t max_bytes);

/// A compressed .blend may decompress to at most max_bytes x this factor. Blender holds the
/// decompressed file in memory while reading it, so the job size limit applies to what it
/// will read, compressed or not: a compressed file gets the same allowance as the same scene
/// saved uncompressed (factor 1). A zstd bomb (101 KB -> 3 GiB) is refused after max_bytes
/// of output, in 64 KiB buffers.
inline constexpr std::uint64_t kDecompressedLimitFactor = 1;

/// What validate_structure found.
struct Validated {
  Header header;
  BlockSummary blocks;
};

/// The oldest file version a worker opens (2.50): Blender's upgrade of older files opens
/// files they name while reading them (sound strips' BKE_sound_new_file).
inline constexpr int kOldestVersion = 250;

/// inspect_file, then refuses a file saved by a newer Blender than `running_version`
/// (e.g. 304 for 3.4) with kBlendInvalid naming both versions, or by one older than
/// kOldestVersion ("refused: pre-2.50 file ...", the engine's code refused_by_audit), then
/// decompresses the whole file as a stream (at most max_bytes x kDecompressedLimitFactor bytes) and
/// walks its block structure (scan_blocks: BHead chain and SDNA), refusing with kBlendInvalid a
/// file whose structure does not parse, that links libraries (LI blocks; the message names their
/// paths) or that uses a font not packed into it (VF blocks: "refused: N external files are
/// not packed: PATH (font 'NAME'), ... — File > External Data > Pack Resources, ...", the
/// engine's code missing_files; Blender would open the font's file while reading). Nothing of the
/// file reaches Blender before this returns.
Validated validate_structure(const std::filesystem::path& path, std::uint64_t max_bytes,
                             int running_version);

/// validate_structure(...).header.
Header validate_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                     int running_version);

}  // namespace farmhand::blend
