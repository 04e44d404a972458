// Fixed-size splitter (cf. boxo chunker "size-262144"): reads a file in chunks of exactly
// `chunk_size` bytes (the last one shorter). An empty file yields no chunk.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

namespace farmhand::ipfs {

inline constexpr std::size_t kDefaultChunkSize = std::size_t{256} * 1024;  // kubo's default, bytes

class FixedChunker {
 public:
  /// Throws Error kIo if the file cannot be opened.
  FixedChunker(const std::filesystem::path& file, std::size_t chunk_size = kDefaultChunkSize);
  /// Fills `out` with the next chunk (resized to its length); false when the file is done.
  /// Throws Error kIo on a read error.
  bool next(std::string& out);

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::size_t chunk_size_;
};

}  // namespace farmhand::ipfs
