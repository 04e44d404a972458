// libFuzzer target: the .blend header parser and the gzip/zstd prefix readers must either
// return a header or throw farmhand::Error, never crash, hang or read out of bounds.
// Seeds: native/fuzz/corpus/blend_header/.
#include <cstddef>
#include <cstdint>
#include <span>

#include "farmhand/blend/compressed.hpp"
#include "farmhand/blend/header.hpp"
#include "farmhand/error.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace farmhand::blend;
  const std::span<const std::uint8_t> input(data, size);
  try {
    (void)parse_header(input);
  } catch (const farmhand::Error&) {
  }
  farmhand::fuzz::InputReader reader(input);
  const ReadFn read = reader.read();
  try {
    const Compression c = detect_compression(input);
    std::vector<std::uint8_t> head;
    if (c == Compression::kGzip) head = gunzip_prefix(read, kMaxHeaderBytes, 1 << 20);
    if (c == Compression::kZstd) head = unzstd_prefix(read, kMaxHeaderBytes, 1 << 20);
    if (c != Compression::kNone) (void)parse_header(head);
  } catch (const farmhand::Error&) {
  }
  return 0;
}
