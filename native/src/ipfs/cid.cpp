#include "farmhand/ipfs/cid.hpp"

#include <algorithm>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/multibase.hpp"
#include "farmhand/ipfs/varint.hpp"

namespace farmhand::ipfs {
namespace {

[[noreturn]] void invalid(std::string_view text, const std::string& what) {
  std::string shown(text.substr(0, 80));
  throw Error(ErrorKind::kCidInvalid, "invalid CID \"" + shown + "\": " + what);
}

// Reads a multihash (varint code, varint length, digest) that must fill `in` exactly.
std::pair<uint64_t, std::string> read_multihash(std::string_view in, std::string_view text) {
  const auto code = read_uvarint(in);
  if (!code) invalid(text, "truncated multihash function code");
  const auto len = read_uvarint(in);
  if (!len) invalid(text, "truncated multihash length");
  if (*len != in.size()) {
    invalid(text, "multihash says " + std::to_string(*len) + " digest bytes but " +
                      std::to_string(in.size()) + " follow");
  }
  if (*code == kMultihashSha256 && *len != 32) {
    invalid(text, "sha2-256 digest must be 32 bytes, not " + std::to_string(*len));
  }
  if (*len == 0) invalid(text, "empty multihash digest");
  return {*code, std::string(in)};
}

}  // namespace

Cid Cid::from_bytes(std::string_view bytes) {
  if (bytes.size() == 34 && static_cast<uint8_t>(bytes[0]) == 0x12 &&
      static_cast<uint8_t>(bytes[1]) == 0x20) {
    return {0, kCodecDagPb, kMultihashSha256, std::string(bytes.substr(2))};
  }
  std::string_view in = bytes;
  const auto version = read_uvarint(in);
  if (!version) invalid("<binary>", "truncated version varint");
  if (*version != 1) {
    invalid("<binary>", "unsupported CID version " + std::to_string(*version) + " (need 0 or 1)");
  }
  const auto codec = read_uvarint(in);
  if (!codec) invalid("<binary>", "truncated codec varint");
  auto [code, digest] = read_multihash(in, "<binary>");
  return {1, *codec, code, std::move(digest)};
}

Cid Cid::parse(std::string_view text) {
  if (text.empty()) invalid(text, "empty string");
  if (text.size() == 46 && text.starts_with("Qm")) {
    const auto raw = base58btc_decode(text);
    if (!raw) invalid(text, "not base58btc (CIDv0 must be base58btc)");
    if (raw->size() != 34 || static_cast<uint8_t>((*raw)[0]) != 0x12 ||
        static_cast<uint8_t>((*raw)[1]) != 0x20) {
      invalid(text, "CIDv0 must be a 34-byte sha2-256 multihash");
    }
    return from_bytes(*raw);
  }
  std::optional<std::string> raw;
  const std::string_view body = text.substr(1);
  switch (text[0]) {
    case 'b':
    case 'B':
      raw = base32_decode(body);
      break;
    case 'z':
      raw = base58btc_decode(body);
      break;
    case 'k':
    case 'K':
      raw = base36_decode(body);
      break;
    default:
      invalid(text, std::string("unsupported multibase prefix '") + text[0] +
                        "' (expected Qm..., b (base32), z (base58btc) or k (base36))");
  }
  if (!raw)
    invalid(text, std::string("not valid multibase '") + text[0] +
                      "' text (a character outside its alphabet, or a truncated length)");
  std::string_view in = *raw;
  const auto version = read_uvarint(in);
  if (!version) invalid(text, "truncated version varint");
  if (*version != 1) {
    invalid(text, "unsupported CID version " + std::to_string(*version) +
                      " in a multibase CID (only CIDv1 is multibase-encoded)");
  }
  const auto codec = read_uvarint(in);
  if (!codec) invalid(text, "truncated codec varint");
  auto [code, digest] = read_multihash(in, text);
  return {1, *codec, code, std::move(digest)};
}

Cid Cid::from_digest(int version, uint64_t codec, const Digest& digest) {
  if (version == 0 && codec != kCodecDagPb) {
    throw Error(ErrorKind::kInvalidArgument, "CIDv0 can only name dag-pb blocks");
  }
  if (version != 0 && version != 1) {
    throw Error(ErrorKind::kInvalidArgument,
                "CID version must be 0 or 1, not " + std::to_string(version));
  }
  return {version, codec, kMultihashSha256,
          std::string(reinterpret_cast<const char*>(digest.data()), digest.size())};
}

std::string Cid::bytes() const {
  std::string out;
  if (version_ == 1) {
    put_uvarint(out, 1);
    put_uvarint(out, codec_);
  }
  put_uvarint(out, hash_code_);
  put_uvarint(out, digest_.size());
  out += digest_;
  return out;
}

std::string Cid::to_string() const {
  if (version_ == 0) return base58btc_encode(bytes());
  return "b" + base32_encode(bytes());
}

bool Cid::matches(std::string_view block) const {
  if (hash_code_ != kMultihashSha256) return false;
  const Digest d = sha256(block);
  return digest_.size() == d.size() &&
         std::equal(d.begin(), d.end(), reinterpret_cast<const uint8_t*>(digest_.data()));
}

}  // namespace farmhand::ipfs
