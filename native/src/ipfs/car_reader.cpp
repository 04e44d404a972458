#include "farmhand/ipfs/car_reader.hpp"

#include <optional>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/varint.hpp"

namespace farmhand::ipfs {
namespace {

[[noreturn]] void bad_header(const std::string& why) {
  throw Error(ErrorKind::kMalformedResponse, "CAR header is not {roots, version: 1}: " + why);
}

// A CBOR data item's head (RFC 8949 section 3): major type and argument. Only the
// definite forms (additional info 0..27) are accepted.
struct Head {
  int major;
  uint64_t arg;
};

Head read_head(std::string_view& in) {
  if (in.empty()) bad_header("ends early");
  const auto first = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  const int info = first & 31;
  Head h{first >> 5, static_cast<uint64_t>(info)};
  if (info < 24) return h;
  if (info > 27) bad_header("indefinite length or reserved CBOR encoding");
  const std::size_t n = std::size_t{1} << (info - 24);
  if (in.size() < n) bad_header("ends early");
  h.arg = 0;
  for (std::size_t i = 0; i < n; ++i) h.arg = (h.arg << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(n);
  return h;
}

std::string_view read_bytes(std::string_view& in, int major, uint64_t max_len) {
  const Head h = read_head(in);
  if (h.major != major) bad_header("expected CBOR major type " + std::to_string(major));
  if (h.arg > max_len || h.arg > in.size()) bad_header("string too long or cut off");
  std::string_view out = in.substr(0, h.arg);
  in.remove_prefix(h.arg);
  return out;
}

// Length of the binary CID at the front of `in` (CIDv0: 0x12 0x20 + 32 bytes; CIDv1:
// varint version, codec, multihash code, digest length, digest), or 0 if malformed.
std::size_t cid_length(std::string_view in) {
  if (in.size() >= 2 && static_cast<uint8_t>(in[0]) == 0x12 &&
      static_cast<uint8_t>(in[1]) == 0x20) {
    return in.size() >= 34 ? 34 : 0;
  }
  std::string_view rest = in;
  for (int i = 0; i < 3; ++i) {
    if (!read_uvarint(rest)) return 0;
  }
  const auto digest_len = read_uvarint(rest);
  if (!digest_len || *digest_len > 64 || *digest_len > rest.size()) return 0;
  return (in.size() - rest.size()) + static_cast<std::size_t>(*digest_len);
}

}  // namespace

std::vector<Cid> decode_car_header(std::string_view cbor) {
  std::string_view in = cbor;
  const Head map = read_head(in);
  if (map.major != 5) bad_header("not a CBOR map");
  if (map.arg != 2) bad_header("map has " + std::to_string(map.arg) + " keys, expected 2");
  std::optional<std::vector<Cid>> roots;
  bool version = false;
  for (uint64_t k = 0; k < map.arg; ++k) {
    const std::string_view key = read_bytes(in, 3, 16);
    if (key == "version") {
      const Head v = read_head(in);
      if (v.major != 0) bad_header("version is not an unsigned integer");
      if (v.arg != 1) {
        bad_header("version " + std::to_string(v.arg) + " (only CARv1 is read; ask for version=1)");
      }
      if (version) bad_header("duplicate key version");
      version = true;
    } else if (key == "roots") {
      if (roots) bad_header("duplicate key roots");
      const Head arr = read_head(in);
      if (arr.major != 4 || arr.arg > 64) bad_header("roots is not an array of at most 64 CIDs");
      roots.emplace();
      for (uint64_t i = 0; i < arr.arg; ++i) {
        const Head tag = read_head(in);
        if (tag.major != 6 || tag.arg != 42) bad_header("a root is not a CID (tag 42)");
        const std::string_view b = read_bytes(in, 2, 128);
        if (b.empty() || b[0] != '\0') bad_header("a root CID lacks the 0x00 multibase prefix");
        try {
          roots->push_back(Cid::from_bytes(b.substr(1)));
        } catch (const Error& e) {
          bad_header(std::string("a root CID is malformed: ") + e.what());
        }
      }
    } else {
      bad_header("unexpected key \"" + std::string(key) + "\"");
    }
  }
  if (!version || !roots) bad_header("missing roots or version");
  if (!in.empty()) bad_header(std::to_string(in.size()) + " bytes after the map");
  return std::move(*roots);
}

CarReader::CarReader(std::string label, std::size_t max_block_bytes)
    : label_(std::move(label)), max_block_bytes_(max_block_bytes) {}

void CarReader::feed(std::string_view bytes) {
  // Drop consumed bytes once they dominate the buffer (keeps copies to one block's worth).
  if (pos_ > (std::size_t{1} << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

bool CarReader::read_header() {
  std::string_view in = pending();
  const std::size_t before = in.size();
  const auto len = read_uvarint(in);
  if (!len) {
    if (before >= 10) {
      throw Error(ErrorKind::kMalformedResponse, label_ + ": CAR header length is not a varint");
    }
    return false;
  }
  if (*len == 0 || *len > kMaxCarHeaderBytes) {
    throw Error(ErrorKind::kMalformedResponse,
                label_ + ": CAR header length " + std::to_string(*len) + " is not in 1.." +
                    std::to_string(kMaxCarHeaderBytes) + ": not a CARv1 stream");
  }
  if (in.size() < *len) return false;
  try {
    roots_ = decode_car_header(in.substr(0, *len));
  } catch (const Error& e) {
    throw Error(ErrorKind::kMalformedResponse, label_ + ": " + e.what());
  }
  pos_ += (before - in.size()) + *len;
  header_read_ = true;
  return true;
}

std::optional<CarBlock> CarReader::next() {
  if (!header_read_ && !read_header()) return std::nullopt;
  std::string_view in = pending();
  const std::size_t before = in.size();
  const auto len = read_uvarint(in);
  if (!len) {
    if (before >= 10) {
      throw Error(ErrorKind::kMalformedResponse, label_ + ": CAR section length is not a varint");
    }
    return std::nullopt;
  }
  if (*len == 0 || *len > max_block_bytes_ + 128) {
    throw Error(ErrorKind::kMalformedResponse, label_ + ": CAR section " + std::to_string(blocks_) +
                                                   " claims " + std::to_string(*len) +
                                                   " bytes (allowed 1.." +
                                                   std::to_string(max_block_bytes_ + 128) + ")");
  }
  if (in.size() < *len) return std::nullopt;
  const std::string_view section = in.substr(0, *len);
  const std::size_t cid_len = cid_length(section);
  if (cid_len == 0) {
    throw Error(ErrorKind::kMalformedResponse,
                label_ + ": CAR section " + std::to_string(blocks_) + " does not start with a CID");
  }
  std::optional<Cid> cid;
  try {
    cid = Cid::from_bytes(section.substr(0, cid_len));
  } catch (const Error& e) {
    throw Error(ErrorKind::kMalformedResponse,
                label_ + ": CAR section " + std::to_string(blocks_) + ": " + e.what());
  }
  const std::string_view data = section.substr(cid_len);
  if (data.size() > max_block_bytes_) {
    throw Error(ErrorKind::kMalformedResponse, label_ + ": block " + cid->to_string() + " of " +
                                                   std::to_string(data.size()) +
                                                   " bytes is over the block size limit");
  }
  if (cid->hash_code() != kMultihashSha256) {
    throw Error(ErrorKind::kBlockVerificationFailed,
                label_ + ": block " + cid->to_string() +
                    " uses a multihash other than sha2-256 and cannot be verified");
  }
  if (!cid->matches(data)) {
    throw Error(ErrorKind::kBlockVerificationFailed,
                label_ + " served " + std::to_string(data.size()) + " bytes for block " +
                    cid->to_string() + " in its CAR stream that do not hash to that CID");
  }
  CarBlock block{std::move(*cid), std::string(data)};
  pos_ += (before - in.size()) + *len;
  ++blocks_;
  return block;
}

void CarReader::finish() const {
  if (!header_read_) {
    throw Error(ErrorKind::kMalformedResponse, label_ + " ended before a complete CAR header (" +
                                                   std::to_string(buf_.size() - pos_) +
                                                   " bytes): not a CAR stream");
  }
  if (pos_ != buf_.size()) {
    throw Error(ErrorKind::kMalformedResponse,
                label_ + " ended in the middle of CAR section " + std::to_string(blocks_) + " (" +
                    std::to_string(buf_.size() - pos_) + " bytes left over): truncated");
  }
}

}  // namespace farmhand::ipfs
