// The CID `ipfs add` gives a file, computed from its bytes as they pass by (e.g. while they
// are being uploaded), in any pieces, without keeping them: kubo's 256 KiB chunks are
// hashed as they fill (v0: inside kubo's dag-pb leaf frame, node_builder's v0_leaf_frame;
// v1: raw), and the balanced layout is built as leaves complete (balanced_layout). Same
// CIDs as cid_of() (importer), which tests compare against kubo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "farmhand/ipfs/balanced_layout.hpp"
#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/sha256.hpp"

namespace farmhand::ipfs {

class StreamHasher {
 public:
  /// For a file of exactly `size` bytes (the last chunk's frame depends on it) and
  /// cid_version 0 or 1. Throws kInvalidArgument for another cid_version.
  StreamHasher(uint64_t size, int cid_version);
  /// The next bytes of the file. Throws kInvalidArgument past `size` bytes.
  void update(std::string_view bytes);
  /// Bytes given so far.
  [[nodiscard]] uint64_t done() const { return done_; }
  /// The root CID, once all `size` bytes were given. Throws kInvalidArgument before that.
  [[nodiscard]] Cid finish();

 private:
  void start_leaf();
  void finish_leaf();

  uint64_t size_;
  int cid_version_;
  BalancedLayout layout_;
  uint64_t done_ = 0;
  uint64_t leaf_size_ = 0;  // bytes of the leaf being hashed
  uint64_t leaf_done_ = 0;  // of which given so far
  std::optional<Sha256> leaf_;
  std::string leaf_tail_;    // v0: the frame after the chunk
  uint64_t leaf_frame_ = 0;  // v0: head + tail bytes
};

}  // namespace farmhand::ipfs
