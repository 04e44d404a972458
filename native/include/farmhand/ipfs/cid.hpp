// Content identifiers (multiformats/cid, "CID specification"): CIDv0 and CIDv1 with a
// sha2-256 multihash (multiformats/multihash). Codecs: dag-pb (0x70) and raw (0x55)
// (multiformats/multicodec "table.csv"); others parse but cannot be fetched.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "farmhand/ipfs/sha256.hpp"

namespace farmhand::ipfs {

inline constexpr uint64_t kCodecDagPb = 0x70;
inline constexpr uint64_t kCodecRaw = 0x55;
inline constexpr uint64_t kMultihashSha256 = 0x12;

class Cid {
 public:
  /// Parses the text form: CIDv0 ("Qm" + 44 base58btc chars) or CIDv1 with multibase
  /// prefix 'b'/'B' (base32), 'z' (base58btc) or 'k' (base36).
  /// Throws Error kCidInvalid naming what is wrong (empty, bad base, bad varint, ...).
  static Cid parse(std::string_view text);
  /// Parses the binary form (as found in dag-pb PBLink.Hash). The whole input must be used.
  /// Throws Error kCidInvalid.
  static Cid from_bytes(std::string_view bytes);
  /// The CID of a block whose sha2-256 digest is `digest`. CIDv0 requires codec dag-pb.
  static Cid from_digest(int version, uint64_t codec, const Digest& digest);

  /// CIDv0: base58btc; CIDv1: 'b' + base32 lower (kubo's default print form).
  [[nodiscard]] std::string to_string() const;
  /// Binary form: the multihash for v0; varint(1) varint(codec) multihash for v1.
  [[nodiscard]] std::string bytes() const;
  [[nodiscard]] int version() const { return version_; }
  [[nodiscard]] uint64_t codec() const { return codec_; }
  [[nodiscard]] uint64_t hash_code() const { return hash_code_; }
  /// The multihash digest bytes (32 for sha2-256).
  [[nodiscard]] const std::string& digest() const { return digest_; }
  /// True if `block` hashes to this CID (sha2-256 only; false for any other hash function).
  [[nodiscard]] bool matches(std::string_view block) const;

  friend bool operator==(const Cid&, const Cid&) = default;

 private:
  Cid(int version, uint64_t codec, uint64_t hash_code, std::string digest)
      : version_(version), codec_(codec), hash_code_(hash_code), digest_(std::move(digest)) {}
  int version_;
  uint64_t codec_;
  uint64_t hash_code_;
  std::string digest_;
};

}  // namespace farmhand::ipfs
