#include "farmhand/ipfs/dag_walker.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <vector>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/dagpb.hpp"
#include "farmhand/ipfs/unixfs.hpp"

namespace farmhand::ipfs {
namespace {

[[noreturn]] void inconsistent(const Cid& cid, const std::string& why) {
  throw Error(ErrorKind::kBlockVerificationFailed,
              "DAG node " + cid.to_string() + " is inconsistent: " + why);
}

}  // namespace

FileNode decode_file_node(const Cid& cid, std::string_view block) {
  FileNode f;
  f.node = decode_pbnode(block);
  if (!f.node.data) inconsistent(cid, "dag-pb node without UnixFS Data");
  f.unixfs = decode_unixfs(*f.node.data);
  if (f.unixfs.type == UnixfsType::kDirectory || f.unixfs.type == UnixfsType::kHamtShard) {
    throw Error(ErrorKind::kInvalidArgument,
                cid.to_string() + " is a directory, not a file: give the CID of the file");
  }
  if (f.unixfs.type != UnixfsType::kFile && f.unixfs.type != UnixfsType::kRaw) {
    inconsistent(cid, "UnixFS type " + std::to_string(static_cast<uint64_t>(f.unixfs.type)) +
                          " is not a file");
  }
  if (f.unixfs.blocksizes.size() != f.node.links.size()) {
    inconsistent(cid, std::to_string(f.node.links.size()) + " links but " +
                          std::to_string(f.unixfs.blocksizes.size()) + " blocksizes");
  }
  const uint64_t own = f.unixfs.data ? f.unixfs.data->size() : 0;
  uint64_t sum = own;
  for (uint64_t s : f.unixfs.blocksizes) {
    if (s > (uint64_t{1} << 50) || sum + s < sum) inconsistent(cid, "absurd blocksizes");
    sum += s;
  }
  if (f.unixfs.filesize && *f.unixfs.filesize != sum) {
    inconsistent(cid, "filesize " + std::to_string(*f.unixfs.filesize) + " but Data and " +
                          "blocksizes add up to " + std::to_string(sum));
  }
  f.content_size = sum;
  return f;
}

namespace {

class Walker {
 public:
  Walker(BlockProvider& fetcher, const DataSink& sink) : fetcher_(fetcher), sink_(sink) {}

  // Streams the subtree under `cid` whose block is `block`; returns the bytes it held.
  uint64_t emit(const Cid& cid, std::string_view block, int depth) {
    if (depth > 64) inconsistent(cid, "DAG deeper than 64 levels");
    if (cid.codec() == kCodecRaw) {
      sink_(block);
      return block.size();
    }
    if (cid.codec() != kCodecDagPb) {
      inconsistent(cid, "codec 0x" + std::to_string(cid.codec()) + " is neither dag-pb nor raw");
    }
    const FileNode f = decode_file_node(cid, block);
    return emit_node(cid, f, depth);
  }

  uint64_t emit_node(const Cid& cid, const FileNode& f, int depth) {
    uint64_t written = 0;
    if (f.unixfs.data && !f.unixfs.data->empty()) {
      sink_(*f.unixfs.data);
      written += f.unixfs.data->size();
    }
    // Children are fetched up to prefetch() ahead on other threads and written in order
    // (prefetch() 0: fetched here, one by one, in DFS order, e.g. from a CAR stream).
    std::vector<Cid> children;
    children.reserve(f.node.links.size());
    for (const auto& link : f.node.links) children.push_back(Cid::from_bytes(link.hash));
    fetcher_.expect(children, f.unixfs.blocksizes);
    std::deque<std::future<std::string>> ahead;
    std::size_t launched = 0;
    for (std::size_t i = 0; i < children.size(); ++i) {
      const std::size_t depth_ahead = fetcher_.prefetch();
      while (launched < children.size() && launched < i + depth_ahead) {
        const Cid& c = children[std::max(launched, i)];
        launched = std::max(launched, i) + 1;
        ahead.push_back(std::async(std::launch::async, [this, &c] { return fetcher_.get(c); }));
      }
      std::string child_block;
      if (!ahead.empty()) {
        child_block = ahead.front().get();
        ahead.pop_front();
      } else {
        child_block = fetcher_.get(children[i]);
        launched = i + 1;
      }
      const uint64_t got = emit(children[i], child_block, depth + 1);
      if (got != f.unixfs.blocksizes[i]) {
        inconsistent(cid, "child " + std::to_string(i) + " holds " + std::to_string(got) +
                              " bytes, blocksizes says " + std::to_string(f.unixfs.blocksizes[i]));
      }
      written += got;
    }
    return written;
  }

 private:
  BlockProvider& fetcher_;
  const DataSink& sink_;
};

}  // namespace

void read_file_subtree(BlockProvider& fetcher, const Cid& cid, uint64_t expected_bytes,
                       const DataSink& on_data) {
  const std::string block = fetcher.get(cid);
  Walker walker(fetcher, on_data);
  const uint64_t got = walker.emit(cid, block, 1);
  if (got != expected_bytes) {
    inconsistent(cid, "holds " + std::to_string(got) + " bytes, its parent's blocksizes says " +
                          std::to_string(expected_bytes));
  }
}

void read_file_dag(BlockProvider& fetcher, const Cid& root, uint64_t max_bytes,
                   const std::function<void(uint64_t total)>& on_size, const DataSink& on_data) {
  const std::string block = fetcher.get(root);
  auto check_size = [&](uint64_t total) {
    if (total > max_bytes) {
      throw Error(ErrorKind::kTooLarge, root.to_string() + " holds " + std::to_string(total) +
                                            " bytes, over the configured maximum of " +
                                            std::to_string(max_bytes) + " bytes");
    }
    if (on_size) on_size(total);
  };
  Walker walker(fetcher, on_data);
  if (root.codec() == kCodecRaw) {
    check_size(block.size());
    walker.emit(root, block, 0);
    return;
  }
  if (root.codec() != kCodecDagPb) {
    throw Error(ErrorKind::kInvalidArgument,
                root.to_string() + " is neither dag-pb nor raw: it cannot be a UnixFS file");
  }
  const FileNode f = decode_file_node(root, block);
  check_size(f.content_size);
  const uint64_t written = walker.emit_node(root, f, 0);
  if (written != f.content_size) {
    inconsistent(root, "wrote " + std::to_string(written) + " bytes, expected " +
                           std::to_string(f.content_size));
  }
}

}  // namespace farmhand::ipfs
