// Whole-stream decompression for structure checks: zlib (gzip, RFC 1952) and libzstd
// (RFC 8878, several frames and skippable frames such as Blender's seek table).
#include "farmhand/blend/stream.hpp"

#include <zlib.h>
#include <zstd.h>

#include <array>
#include <vector>

#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

constexpr std::size_t kInputChunk = 64 << 10;

[[noreturn]] void corrupt(const char* format, const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid, std::string(format) + "-compressed .blend is corrupt (" +
                                            why + "): re-save the file in Blender");
}

}  // namespace

struct DecompressedStream::Impl {
  ReadFn raw;
  Compression compression;
  std::vector<std::uint8_t> in = std::vector<std::uint8_t>(kInputChunk);
  std::size_t in_pos = 0;
  std::size_t in_len = 0;
  bool raw_done = false;
  bool stream_done = false;
  z_stream zs{};
  bool zs_open = false;
  ZSTD_DStream* zd = nullptr;
  std::size_t zstd_hint = 0;  // ZSTD_decompressStream's last answer: 0 = between frames

  ~Impl() {
    if (zs_open) inflateEnd(&zs);
    if (zd != nullptr) ZSTD_freeDStream(zd);
  }

  // Makes sure some compressed input is buffered; false at the end of the raw file.
  bool fill() {
    if (in_pos < in_len) return true;
    if (raw_done) return false;
    in_len = raw(std::span(in.data(), in.size()));
    in_pos = 0;
    if (in_len == 0) raw_done = true;
    return in_len > 0;
  }

  std::size_t read_plain(std::span<std::uint8_t> out) {
    std::size_t got = 0;
    while (got < out.size()) {
      const std::size_t n = raw(out.subspan(got));
      if (n == 0) break;
      got += n;
    }
    return got;
  }

  std::size_t read_gzip(std::span<std::uint8_t> out) {
    if (!zs_open) {
      if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        throw Error(ErrorKind::kIo, "zlib could not start an inflater (out of memory?)");
      }
      zs_open = true;
    }
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    while (zs.avail_out > 0 && !stream_done) {
      const bool have = fill();
      zs.next_in = in.data() + in_pos;
      zs.avail_in = have ? static_cast<uInt>(in_len - in_pos) : 0;
      const uInt before = zs.avail_out;
      const int rc = inflate(&zs, Z_NO_FLUSH);
      in_pos = in_len - zs.avail_in;
      if (rc == Z_STREAM_END) {
        stream_done = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        corrupt("gzip", zs.msg != nullptr ? zs.msg : "zlib error " + std::to_string(rc));
      } else if (!have && zs.avail_out == before) {
        corrupt("gzip", "the stream ends before its end marker");
      }
    }
    return out.size() - zs.avail_out;
  }

  std::size_t read_zstd(std::span<std::uint8_t> out) {
    if (zd == nullptr) {
      zd = ZSTD_createDStream();
      if (zd == nullptr) throw Error(ErrorKind::kIo, "libzstd could not allocate a stream");
      // Refuse frames that would need a window above 128 MiB (as the header reader does).
      ZSTD_DCtx_setParameter(zd, ZSTD_d_windowLogMax, 27);
    }
    ZSTD_outBuffer output{out.data(), out.size(), 0};
    while (output.pos < output.size) {
      // Without new input the decoder may still hold output: call it until it gives none.
      const bool have = fill();
      ZSTD_inBuffer input{in.data(), have ? in_len : 0, have ? in_pos : 0};
      const std::size_t before = output.pos;
      const std::size_t hint = ZSTD_decompressStream(zd, &output, &input);
      if (ZSTD_isError(hint) != 0U) corrupt("zstd", ZSTD_getErrorName(hint));
      if (have) in_pos = input.pos;
      if (!have && output.pos == before) {
        // The answer of the last call that had input says whether a frame was left open.
        if (zstd_hint != 0) corrupt("zstd", "the stream ends inside a frame");
        break;
      }
      if (have || output.pos != before) zstd_hint = hint;
    }
    return output.pos;
  }
};

DecompressedStream::DecompressedStream(ReadFn raw, Compression compression,
                                       std::uint64_t max_output, std::string limit_source)
    : impl_(std::make_unique<Impl>()),
      max_output_(max_output),
      limit_source_(std::move(limit_source)) {
  impl_->raw = std::move(raw);
  impl_->compression = compression;
}

DecompressedStream::~DecompressedStream() = default;

std::size_t DecompressedStream::read(std::span<std::uint8_t> buf) {
  // Never produce more than one byte past the ceiling: that byte proves the excess.
  const std::uint64_t room = max_output_ - std::min(max_output_, produced_) + 1;
  if (buf.size() > room) buf = buf.first(static_cast<std::size_t>(room));
  std::size_t n = 0;
  switch (impl_->compression) {
    case Compression::kNone:
      n = impl_->read_plain(buf);
      break;
    case Compression::kGzip:
      n = impl_->read_gzip(buf);
      break;
    case Compression::kZstd:
      n = impl_->read_zstd(buf);
      break;
  }
  produced_ += n;
  if (produced_ > max_output_) {
    throw Error(ErrorKind::kBlendInvalid,
                std::string("the ") + to_string(impl_->compression) +
                    "-compressed .blend decompresses to more than " + std::to_string(max_output_) +
                    " bytes (" + limit_source_ +
                    "): a compression bomb, or a scene too large for this worker");
  }
  return n;
}

std::uint64_t DecompressedStream::skip(std::uint64_t n) {
  std::array<std::uint8_t, 64 << 10> sink{};
  std::uint64_t done = 0;
  while (done < n) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(sink.size(), n - done));
    const std::size_t got = read(std::span(sink.data(), want));
    done += got;
    if (got < want) break;
  }
  return done;
}

}  // namespace farmhand::blend
