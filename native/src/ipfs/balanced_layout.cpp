#include "farmhand/ipfs/balanced_layout.hpp"

#include <utility>

#include "farmhand/error.hpp"

namespace farmhand::ipfs {

BalancedLayout::BalancedLayout(int cid_version, BlockSink sink, std::size_t max_links)
    : cid_version_(cid_version), sink_(std::move(sink)), max_links_(max_links) {}

void BalancedLayout::push(std::size_t level, DagEntry entry) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  auto& open = levels_[level];
  if (open.size() == max_links_) {  // full: close it, hand it up, start a new node
    DagEntry closed = make_file_node(open, cid_version_, sink_);
    open.clear();
    push(level + 1, std::move(closed));
  }
  levels_[level].push_back(std::move(entry));
}

void BalancedLayout::add_leaf(DagEntry leaf) {
  push(0, std::move(leaf));
}

DagEntry BalancedLayout::finish() {
  if (levels_.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "BalancedLayout::finish() before any leaf");
  }
  if (levels_.size() == 1 && levels_[0].size() == 1) return levels_[0][0];  // a single leaf
  for (std::size_t level = 0; level + 1 < levels_.size(); ++level) {
    DagEntry closed = make_file_node(levels_[level], cid_version_, sink_);
    levels_[level].clear();
    levels_[level + 1].push_back(std::move(closed));
  }
  DagEntry root = make_file_node(levels_.back(), cid_version_, sink_);
  levels_.clear();
  return root;
}

}  // namespace farmhand::ipfs
