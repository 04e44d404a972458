// zstd (RFC 8878) prefix decompression with libzstd's streaming API: stops as soon as
// enough output exists, so a multi-gigabyte file costs one input chunk.
#include <zstd.h>

#include <algorithm>
#include <array>

#include "farmhand/blend/compressed.hpp"
#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

[[noreturn]] void corrupt(const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid,
              "zstd-compressed .blend is corrupt (" + why + "): re-save the file in Blender");
}

struct DStream {
  ZSTD_DStream* ds = ZSTD_createDStream();
  DStream() {
    if (ds == nullptr) throw Error(ErrorKind::kIo, "libzstd could not allocate a stream");
    // Refuse frames that would need a window above 128 MiB (ZSTD_d_windowLogMax = 27).
    ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 27);
  }
  ~DStream() { ZSTD_freeDStream(ds); }
  DStream(const DStream&) = delete;
  DStream& operator=(const DStream&) = delete;
};

}  // namespace

std::vector<std::uint8_t> unzstd_prefix(const ReadFn& read, std::size_t want,
                                        std::size_t max_input) {
  std::vector<std::uint8_t> out(want);
  DStream d;
  std::array<std::uint8_t, 4096> in{};
  ZSTD_inBuffer input{in.data(), 0, 0};
  ZSTD_outBuffer output{out.data(), want, 0};
  std::size_t consumed = 0;
  while (output.pos < output.size) {
    if (input.pos == input.size) {
      if (consumed >= max_input) corrupt("no header within the first bytes of the stream");
      const std::size_t n = read(std::span(in.data(), std::min(in.size(), max_input - consumed)));
      if (n == 0) break;  // end of input: return what we have
      consumed += n;
      input = ZSTD_inBuffer{in.data(), n, 0};
    }
    const std::size_t rc = ZSTD_decompressStream(d.ds, &output, &input);
    if (ZSTD_isError(rc) != 0U) corrupt(ZSTD_getErrorName(rc));
    if (rc == 0 && input.pos == input.size && output.pos < output.size) {
      // A frame ended exactly here; a following frame (Blender writes several) continues.
      continue;
    }
  }
  out.resize(output.pos);
  return out;
}

Compression detect_compression(std::span<const std::uint8_t> magic) noexcept {
  if (magic.size() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Compression::kGzip;
  if (magic.size() >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
      magic[3] == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

}  // namespace farmhand::blend
