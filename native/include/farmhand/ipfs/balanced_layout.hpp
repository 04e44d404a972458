// The balanced DAG layout of kubo's importer (boxo ipld/unixfs/importer/balanced/builder.go),
// built streaming: leaves are added one at a time, and each internal node is built as soon
// as it is full, so memory holds at most `max_links` entries per level.
//
// Shape: one leaf alone is the root. Otherwise every internal node has up to `max_links`
// children, all of the same depth, filled left to right; the root is the smallest such tree.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "farmhand/ipfs/node_builder.hpp"

namespace farmhand::ipfs {

inline constexpr std::size_t kDefaultMaxLinks = 174;  // kubo's default links per node

class BalancedLayout {
 public:
  BalancedLayout(int cid_version, BlockSink sink, std::size_t max_links = kDefaultMaxLinks);
  /// Adds the next leaf in file order.
  void add_leaf(DagEntry leaf);
  /// The root. Requires at least one leaf (callers add the empty leaf for an empty file).
  [[nodiscard]] DagEntry finish();

 private:
  void push(std::size_t level, DagEntry entry);
  int cid_version_;
  BlockSink sink_;
  std::size_t max_links_;
  std::vector<std::vector<DagEntry>> levels_;  // levels_[i]: children of the open level-(i+1) node
};

}  // namespace farmhand::ipfs
