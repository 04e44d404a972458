#include "farmhand/ipfs/leaf_plan.hpp"

#include <deque>
#include <future>
#include <string>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/node_builder.hpp"

namespace farmhand::ipfs {
namespace {

constexpr int kMaxDepth = 64;

[[noreturn]] void inconsistent(const Cid& cid, const std::string& why) {
  throw Error(ErrorKind::kBlockVerificationFailed,
              "DAG node " + cid.to_string() + " is inconsistent: " + why);
}

uint64_t v0_leaf_block_bytes(uint64_t content) {
  const auto [head, tail] = v0_leaf_frame(content);
  return head.size() + content + tail.size();
}

class Planner {
 public:
  Planner(BlockFetcher& blocks, LeafPlan& plan) : blocks_(blocks), plan_(plan) {}

  // Appends the leaves under the verified node `f` (named `cid`) to the plan; false when
  // the DAG does not suit a plan.
  bool add_node(const Cid& cid, const FileNode& f, int depth) {
    if (depth > kMaxDepth) inconsistent(cid, "DAG deeper than 64 levels");
    if (f.unixfs.data && !f.unixfs.data->empty()) return false;  // bytes of its own
    const auto& links = f.node.links;
    const auto& sizes = f.unixfs.blocksizes;
    std::vector<Cid> children;
    std::vector<bool> leaf;
    children.reserve(links.size());
    leaf.reserve(links.size());
    for (std::size_t i = 0; i < links.size(); ++i) {
      children.push_back(Cid::from_bytes(links[i].hash));
      const Cid& c = children.back();
      if (c.hash_code() != kMultihashSha256) return false;
      if (c.codec() != kCodecRaw && c.codec() != kCodecDagPb) {
        inconsistent(c, "codec 0x" + std::to_string(c.codec()) + " is neither dag-pb nor raw");
      }
      leaf.push_back(c.codec() == kCodecRaw ||
                     (links[i].tsize && *links[i].tsize == v0_leaf_block_bytes(sizes[i])));
    }
    // Internal children are fetched up to kFetcherPrefetch ahead, used in link order.
    std::deque<std::future<std::string>> ahead;
    std::size_t next_fetch = 0;  // index of the next internal child to launch
    auto launch = [&] {
      while (ahead.size() < kFetcherPrefetch && next_fetch < children.size()) {
        if (!leaf[next_fetch]) {
          const Cid* c = &children[next_fetch];
          ahead.push_back(std::async(std::launch::async, [this, c] { return blocks_.get(*c); }));
        }
        ++next_fetch;
      }
    };
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (leaf[i]) {
        // No block holds more (BlockFetcher refuses it): such a "leaf" is the walker's to refuse.
        if (plan_.leaves.size() >= kMaxPlanLeaves || sizes[i] > kMaxBlockBytes) return false;
        plan_.leaves.push_back({children[i], plan_.total, sizes[i]});
        plan_.total += sizes[i];
        continue;
      }
      launch();
      const std::string block = ahead.front().get();
      ahead.pop_front();
      const FileNode child = decode_file_node(children[i], block);
      if (child.content_size != sizes[i]) {
        inconsistent(cid, "child " + std::to_string(i) + " holds " +
                              std::to_string(child.content_size) + " bytes, blocksizes says " +
                              std::to_string(sizes[i]));
      }
      if (!add_node(children[i], child, depth + 1)) return false;
    }
    return true;
  }

 private:
  BlockFetcher& blocks_;
  LeafPlan& plan_;
};

}  // namespace

std::optional<LeafPlan> plan_leaves(BlockFetcher& blocks, const Cid& root,
                                    const FileNode& root_node) {
  LeafPlan plan;
  Planner planner(blocks, plan);
  if (!planner.add_node(root, root_node, 0)) return std::nullopt;
  if (plan.total != root_node.content_size) {  // each node's sizes were checked; belt and braces
    inconsistent(root, "its leaves hold " + std::to_string(plan.total) + " bytes, not " +
                           std::to_string(root_node.content_size));
  }
  return plan;
}

LeafCheck::LeafCheck(const PlannedLeaf& leaf) : leaf_(leaf) {
  if (leaf.cid.codec() == kCodecDagPb) {
    auto [head, tail] = v0_leaf_frame(leaf.size);
    hash_.update(head);
    tail_ = std::move(tail);
  }
}

bool LeafCheck::matches() {
  if (!tail_.empty()) hash_.update(tail_);
  const Digest d = hash_.finish();
  const std::string& want = leaf_.cid.digest();
  return want.size() == d.size() &&
         std::equal(d.begin(), d.end(), want.begin(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

}  // namespace farmhand::ipfs
