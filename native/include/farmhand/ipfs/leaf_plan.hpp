// The leaves of a UnixFS file DAG, in file order, found by fetching only its internal
// nodes (ipfs/specs "UnixFS", section "File": a node's content is its Data followed by
// each child's content in link order). With the plan, the file's bytes can come from any
// unverified stream (a gateway's plain `/ipfs/CID`, the RPC API's `cat`) and still be
// checked leaf by leaf: LeafCheck hashes each leaf's bytes as they pass.
//
// A child is taken for a leaf without fetching it when its CID is raw (codec 0x55), or
// dag-pb with a link Tsize equal to the size of kubo's leaf block for its blocksizes entry
// (UnixFS{Type=File, Data, filesize}, node_builder's v0_leaf_frame). That guess is never
// trusted: a leaf's bytes count only once they hash to its CID; when they do not, the
// block itself is fetched (and verified) instead. Every other child is fetched as a block,
// verified against its CID, and checked like dag_walker does (decode_file_node, its
// content equal to its parent's blocksizes entry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "farmhand/ipfs/block_source.hpp"
#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/dag_walker.hpp"
#include "farmhand/ipfs/sha256.hpp"

namespace farmhand::ipfs {

/// A plan holds at most this many leaves (memory about 100 bytes each); a DAG with more
/// (e.g. tiny chunks) is read by the DAG walker instead.
inline constexpr std::size_t kMaxPlanLeaves = std::size_t{1} << 16;

struct PlannedLeaf {
  Cid cid;
  uint64_t offset = 0;  // of its first byte in the file
  uint64_t size = 0;    // its content bytes (the parent's blocksizes entry)
};

struct LeafPlan {
  uint64_t total = 0;               // the file's bytes (the root's content size)
  std::vector<PlannedLeaf> leaves;  // in file order, contiguous from 0 to total
};

/// The plan of the file whose verified root block is `root_block` (a dag-pb node that
/// decode_file_node accepted as `root_node`). Internal nodes come from `blocks` (16 at a
/// time). Returns nullopt when the DAG does not suit a plan: an internal node with Data
/// bytes of its own, more than kMaxPlanLeaves leaves, a child with a non-sha2-256 CID.
/// Throws what `blocks` throws and kBlockVerificationFailed for an inconsistent DAG
/// (sizes that disagree, deeper than 64 levels, a codec other than dag-pb or raw).
[[nodiscard]] std::optional<LeafPlan> plan_leaves(BlockFetcher& blocks, const Cid& root,
                                                  const FileNode& root_node);

/// Checks one planned leaf's bytes as they arrive, without keeping them: update() with
/// exactly `leaf.size` bytes in pieces, then matches().
class LeafCheck {
 public:
  explicit LeafCheck(const PlannedLeaf& leaf);
  void update(std::string_view bytes) { hash_.update(bytes); }
  /// True when the bytes hash to the leaf's CID (raw: the bytes themselves; dag-pb: kubo's
  /// leaf block around them). False means: not that leaf, or another leaf encoding.
  [[nodiscard]] bool matches();

 private:
  const PlannedLeaf& leaf_;
  Sha256 hash_;
  std::string tail_;  // dag-pb: the frame after the chunk
};

}  // namespace farmhand::ipfs
