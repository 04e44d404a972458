// gzip (RFC 1952) prefix inflation with zlib: stops as soon as enough output exists.
#include <zlib.h>

#include <algorithm>
#include <array>

#include "farmhand/blend/compressed.hpp"
#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

[[noreturn]] void corrupt(const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid,
              "gzip-compressed .blend is corrupt (" + why + "): re-save the file in Blender");
}

struct Inflater {
  z_stream zs{};
  Inflater() {
    // 16 + MAX_WBITS: expect a gzip wrapper (zlib manual, inflateInit2).
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
      throw Error(ErrorKind::kIo, "zlib could not start an inflater (out of memory?)");
    }
  }
  ~Inflater() { inflateEnd(&zs); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

}  // namespace

std::vector<std::uint8_t> gunzip_prefix(const ReadFn& read, std::size_t want,
                                        std::size_t max_input) {
  std::vector<std::uint8_t> out(want);
  Inflater inf;
  inf.zs.next_out = out.data();
  inf.zs.avail_out = static_cast<uInt>(want);
  std::array<std::uint8_t, 4096> in{};
  std::size_t consumed = 0;
  while (inf.zs.avail_out > 0) {
    if (inf.zs.avail_in == 0) {
      if (consumed >= max_input) corrupt("no header within the first bytes of the stream");
      const std::size_t n = read(std::span(in.data(), std::min(in.size(), max_input - consumed)));
      if (n == 0) break;  // end of input: return what we have
      consumed += n;
      inf.zs.next_in = in.data();
      inf.zs.avail_in = static_cast<uInt>(n);
    }
    const int rc = inflate(&inf.zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR) continue;  // needs more input
    if (rc != Z_OK) {
      corrupt(inf.zs.msg != nullptr ? inf.zs.msg : "zlib error " + std::to_string(rc));
    }
  }
  out.resize(want - inf.zs.avail_out);
  return out;
}

}  // namespace farmhand::blend
