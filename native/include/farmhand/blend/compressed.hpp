// Reading only the first bytes of a gzip- or zstd-compressed .blend.
//
// Blender writes compressed files as gzip (RFC 1952; Blender < 3.0) or zstd (RFC 8878;
// Blender >= 3.0, several frames plus a seek table). To read the header we inflate just
// enough of the stream, never the whole file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "farmhand/blend/header.hpp"

namespace farmhand::blend {

/// Reads up to `buf.size()` bytes into `buf`; returns how many (0 = end of input).
using ReadFn = std::function<std::size_t(std::span<std::uint8_t> buf)>;

/// gzip magic 1f 8b (RFC 1952 section 2.3.1), zstd frame magic 28 b5 2f fd (RFC 8878
/// section 3.1.1), else kNone. Needs at least 4 bytes to recognise zstd.
Compression detect_compression(std::span<const std::uint8_t> magic) noexcept;

/// Decompresses from `read` until `want` bytes of output exist or the stream ends; returns
/// at most `want` bytes (fewer if the stream is shorter). Reads at most `max_input` bytes of
/// compressed input. Throws Error kBlendInvalid if the stream is corrupt or `max_input` is
/// exhausted before `want` bytes came out.
std::vector<std::uint8_t> gunzip_prefix(const ReadFn& read, std::size_t want,
                                        std::size_t max_input);
/// Same for a zstd stream (libzstd streaming API).
std::vector<std::uint8_t> unzstd_prefix(const ReadFn& read, std::size_t want,
                                        std::size_t max_input);

}  // namespace farmhand::blend
