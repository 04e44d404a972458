// Validation of a job's .blend file on disk before Blender opens it.
#pragma once

#include <cstdint>
#include <filesystem>

#include "farmhand/blend/header.hpp"

namespace farmhand::blend {

/// Reads the header of `path` (plain, gzip or zstd; only the bytes the header needs are
/// decompressed) and returns it with `compression` set. Throws Error kBlendInvalid if the
/// file is larger than `max_bytes` (bytes), empty, truncated, not a .blend, or its
/// compression is corrupt; kIo if it cannot be opened.
Header inspect_file(const std::filesystem::path& path, std::uint64_t max_bytes);

/// inspect_file, then refuses a file saved by a newer Blender than `running_version`
/// (e.g. 304 for 3.4) with kBlendInvalid naming both versions.
Header validate_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                     int running_version);

}  // namespace farmhand::blend
