#include "farmhand/ipfs/node_builder.hpp"

#include <algorithm>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/dagpb.hpp"
#include "farmhand/ipfs/protobuf.hpp"
#include "farmhand/ipfs/unixfs.hpp"
#include "farmhand/ipfs/varint.hpp"

namespace farmhand::ipfs {
namespace {

DagEntry finish_block(const std::string& block, int cid_version, uint64_t children_tsize,
                      uint64_t file_size, const BlockSink& sink) {
  Cid cid = Cid::from_digest(cid_version, kCodecDagPb, sha256(block));
  if (sink) sink(cid, block);
  return {std::move(cid), block.size() + children_tsize, file_size};
}

}  // namespace

std::pair<std::string, std::string> v0_leaf_frame(std::size_t n) {
  std::string inner_head;  // UnixFS fields before the chunk bytes
  pb::put_varint_field(inner_head, 1, static_cast<uint64_t>(UnixfsType::kFile));
  std::string tail;
  if (n > 0) {
    pb::put_uvarint_key(inner_head, 2, pb::kWireLen);
    put_uvarint(inner_head, n);
  }
  pb::put_varint_field(tail, 3, n);
  std::string head;
  pb::put_uvarint_key(head, 1, pb::kWireLen);
  put_uvarint(head, inner_head.size() + n + tail.size());
  head += inner_head;
  return {head, tail};
}

DagEntry make_leaf(std::string_view chunk, int cid_version, const BlockSink& sink) {
  if (cid_version == 1) {
    Cid cid = Cid::from_digest(1, kCodecRaw, sha256(chunk));
    if (sink) sink(cid, chunk);
    return {std::move(cid), chunk.size(), chunk.size()};
  }
  if (cid_version != 0) {
    throw Error(ErrorKind::kInvalidArgument,
                "cid_version must be 0 or 1, not " + std::to_string(cid_version));
  }
  const auto [head, tail] = v0_leaf_frame(chunk.size());
  if (sink) {
    std::string block = head;
    block.append(chunk).append(tail);
    return finish_block(block, 0, 0, chunk.size(), sink);
  }
  Sha256 h;
  h.update(head);
  h.update(chunk);
  h.update(tail);
  const uint64_t size = head.size() + chunk.size() + tail.size();
  return {Cid::from_digest(0, kCodecDagPb, h.finish()), size, chunk.size()};
}

DagEntry make_file_node(const std::vector<DagEntry>& children, int cid_version,
                        const BlockSink& sink) {
  PbNode node;
  UnixfsData data;
  data.type = UnixfsType::kFile;
  uint64_t file_size = 0;
  uint64_t children_tsize = 0;
  for (const auto& child : children) {
    node.links.push_back({child.cid.bytes(), std::string(), child.tsize});
    data.blocksizes.push_back(child.file_size);
    file_size += child.file_size;
    children_tsize += child.tsize;
  }
  data.filesize = file_size;
  node.data = encode_unixfs(data);
  return finish_block(encode_pbnode(node), cid_version, children_tsize, file_size, sink);
}

DagEntry make_directory_node(std::vector<std::pair<std::string, DagEntry>> entries, int cid_version,
                             const BlockSink& sink) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  PbNode node;
  uint64_t children_tsize = 0;
  for (auto& [name, child] : entries) {
    node.links.push_back({child.cid.bytes(), name, child.tsize});
    children_tsize += child.tsize;
  }
  UnixfsData data;
  data.type = UnixfsType::kDirectory;
  node.data = encode_unixfs(data);
  return finish_block(encode_pbnode(node), cid_version, children_tsize, 0, sink);
}

}  // namespace farmhand::ipfs
