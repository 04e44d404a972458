// Streaming reader of CARv1 (ipld "CARv1 Specification"): a varint-length-prefixed
// dag-cbor header {roots: [CID...], version: 1}, then sections varint(len) CID block.
// Bytes are pushed in as they arrive (feed) and verified blocks pulled out (next): every
// block's sha2-256 multihash is checked against the CID in front of it before it is
// returned. The header's roots are parsed strictly but never trusted: callers decide
// which blocks they expect.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "farmhand/ipfs/cid.hpp"

namespace farmhand::ipfs {

/// Largest CARv1 header accepted, bytes (kubo's is about 60).
inline constexpr std::size_t kMaxCarHeaderBytes = std::size_t{64} * 1024;

/// One verified section of a CAR: `data` hashes to `cid`.
struct CarBlock {
  Cid cid;
  std::string data;
};

class CarReader {
 public:
  /// `label` names the stream in error messages (e.g. "gateway http://127.0.0.1:8080").
  /// `max_block_bytes`: largest block accepted (default kMaxBlockBytes, 2 MiB).
  explicit CarReader(std::string label = "CAR stream",
                     std::size_t max_block_bytes = std::size_t{2} << 20);

  /// Appends the next bytes of the stream (any split).
  void feed(std::string_view bytes);

  /// The next complete, verified block, or nullopt when more bytes are needed. Throws
  /// Error kMalformedResponse (bad header: not dag-cbor {roots, version: 1}, over
  /// kMaxCarHeaderBytes; a section length of 0, over max_block_bytes or a malformed
  /// varint; an unparsable CID) or kBlockVerificationFailed (the block does not hash to
  /// its CID, or its CID's hash function is not sha2-256). After a throw the reader is
  /// unusable.
  [[nodiscard]] std::optional<CarBlock> next();

  /// Call when the stream has ended: throws kMalformedResponse if it ended before the
  /// header or in the middle of a section (a truncated CAR).
  void finish() const;

  [[nodiscard]] bool header_read() const { return header_read_; }
  /// The header's roots (only after header_read()); informative, not trusted.
  [[nodiscard]] const std::vector<Cid>& roots() const { return roots_; }
  /// Blocks returned so far.
  [[nodiscard]] std::size_t blocks_read() const { return blocks_; }

 private:
  [[nodiscard]] std::string_view pending() const { return std::string_view(buf_).substr(pos_); }
  bool read_header();

  std::string label_;
  std::size_t max_block_bytes_;
  std::string buf_;
  std::size_t pos_ = 0;  // bytes of buf_ already consumed
  bool header_read_ = false;
  std::vector<Cid> roots_;
  std::size_t blocks_ = 0;
};

/// Decodes a CARv1 header body (the dag-cbor map after the length varint), strictly:
/// definite-length map of exactly the keys "roots" (array of tag-42 byte strings holding
/// 0x00 + binary CID) and "version" (unsigned 1), nothing after it (RFC 8949 "CBOR";
/// ipld "DAG-CBOR" tag 42). Returns the roots. Throws Error kMalformedResponse.
[[nodiscard]] std::vector<Cid> decode_car_header(std::string_view cbor);

}  // namespace farmhand::ipfs
