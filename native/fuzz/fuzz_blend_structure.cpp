// libFuzzer target: the .blend block walk and SDNA parser (and the whole-stream gzip/zstd
// decompressors under them) must either return or throw farmhand::Error, never crash, hang,
// read out of bounds or hold more than the ceiling. Seeds: native/fuzz/corpus/blend_structure/
// (synthetic files of every header layout and byte order, gzip and zstd wrapped).
#include <cstddef>
#include <cstdint>
#include <span>

#include "farmhand/blend/blocks.hpp"
#include "farmhand/blend/compressed.hpp"
#include "farmhand/blend/header.hpp"
#include "farmhand/blend/sdna.hpp"
#include "farmhand/blend/stream.hpp"
#include "farmhand/error.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace farmhand::blend;
  const std::span<const std::uint8_t> input(data, size);
  // The SDNA parser on its own, for each layout.
  for (const auto& h : {Header{}, Header{304, 4, Endianness::kBig, 12, 0, Compression::kNone}}) {
    try {
      (void)parse_sdna(input, h);
    } catch (const farmhand::Error&) {
    }
  }
  // The whole file: header, then the block walk over the decompressed stream.
  farmhand::fuzz::InputReader reader(input);
  const ReadFn read = reader.read();
  try {
    const Compression c = detect_compression(input);
    DecompressedStream probe(read, c, 64 << 20, "fuzz ceiling");
    std::vector<std::uint8_t> head(kMaxHeaderBytes);
    head.resize(probe.read(head));
    const Header h = parse_header(head);
    reader.rewind();
    DecompressedStream stream(read, c, 64 << 20, "fuzz ceiling");
    (void)scan_blocks(stream, h);
  } catch (const farmhand::Error&) {
  }
  return 0;
}
