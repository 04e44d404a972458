// The whole decompressed byte stream of a .blend (plain, gzip or zstd), with a ceiling on how
// many bytes it may produce: a compression bomb is refused while streaming, in bounded memory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "farmhand/blend/compressed.hpp"
#include "farmhand/blend/header.hpp"

namespace farmhand::blend {

class DecompressedStream {
 public:
  /// Reads the raw file through `raw` and decompresses it as `compression` says. Producing
  /// more than `max_output` bytes throws Error kBlendInvalid ("decompresses to more than
  /// ..."), naming the limit and `limit_source` (e.g. "max_job_bytes x 1").
  DecompressedStream(ReadFn raw, Compression compression, std::uint64_t max_output,
                     std::string limit_source);
  ~DecompressedStream();
  DecompressedStream(const DecompressedStream&) = delete;
  DecompressedStream& operator=(const DecompressedStream&) = delete;

  /// Fills `buf` as far as the stream allows; returns the byte count (fewer only at the end
  /// of the stream, 0 = end). Throws Error kBlendInvalid on corrupt compression or when the
  /// ceiling is passed.
  std::size_t read(std::span<std::uint8_t> buf);
  /// Reads and drops `n` bytes; returns how many were there (fewer = end of stream).
  std::uint64_t skip(std::uint64_t n);
  /// Decompressed bytes produced so far.
  [[nodiscard]] std::uint64_t produced() const noexcept { return produced_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t produced_ = 0;
  std::uint64_t max_output_;
  std::string limit_source_;
};

}  // namespace farmhand::blend
