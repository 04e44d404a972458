// Reading a UnixFS file out of its DAG, verifying as it goes (ipfs/specs "UnixFS",
// section "File"): a node's content is its Data followed by each child's content in
// link order. Works for any layout or chunker (balanced, trickle, size-N, raw or dag-pb
// leaves). Checks, before using a node's bytes:
//   - every block matches its CID (the BlockProvider: BlockFetcher or CarBlockProvider),
//   - a dag-pb node is File or Raw, links and blocksizes agree in number,
//     len(Data) + sum(blocksizes) == filesize, and each child's content is exactly its
//     blocksizes entry,
//   - the root's filesize is within max_bytes, before any leaf is fetched.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "farmhand/ipfs/block_provider.hpp"
#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/dagpb.hpp"
#include "farmhand/ipfs/unixfs.hpp"

namespace farmhand::ipfs {

/// Receives the file's bytes in order.
using DataSink = std::function<void(std::string_view bytes)>;

/// A decoded dag-pb file node whose own sizes were checked.
struct FileNode {
  PbNode node;
  UnixfsData unixfs;
  uint64_t content_size = 0;  // bytes this node's subtree holds: len(Data) + sum(blocksizes)
};

/// Decodes the verified dag-pb block of `cid` as a UnixFS file node and checks its own
/// sizes (File or Raw type, as many blocksizes as links, filesize == len(Data) +
/// sum(blocksizes)). Throws kBlockVerificationFailed (malformed or inconsistent),
/// kInvalidArgument (a directory).
[[nodiscard]] FileNode decode_file_node(const Cid& cid, std::string_view block);

/// Streams the subtree under `cid` (a child somewhere in a file's DAG whose parent says
/// it holds `expected_bytes`) to `on_data`, with the same checks as read_file_dag; the
/// block of `cid` itself comes from `fetcher` too. Throws kBlockVerificationFailed when
/// the subtree holds another number of bytes, and whatever read_file_dag throws.
void read_file_subtree(BlockProvider& fetcher, const Cid& cid, uint64_t expected_bytes,
                       const DataSink& on_data);

/// Streams the file `root` names to `on_data`. `on_size` is called once with the total
/// size (bytes) declared by the root, after the max_bytes check and before any data.
/// Throws kTooLarge, kBlockVerificationFailed (inconsistent DAG, not a file), kInvalidArgument
/// (the CID names a directory), and whatever BlockProvider::get throws.
void read_file_dag(BlockProvider& fetcher, const Cid& root, uint64_t max_bytes,
                   const std::function<void(uint64_t total)>& on_size, const DataSink& on_data);

}  // namespace farmhand::ipfs
