// Builds the UnixFS blocks of the importer, one function per kind of node, exactly as
// kubo's `ipfs add` writes them (boxo ipld/unixfs/importer/helpers/dagbuilder.go):
// - v0 leaf: dag-pb { Data: UnixFS{Type=File, Data=chunk, filesize=len} }, CIDv0
// - v1 leaf: the chunk itself as a raw block (codec 0x55), CIDv1
// - file node: dag-pb { Links[Hash, Name="", Tsize], Data: UnixFS{File, filesize, blocksizes} }
// - directory: dag-pb { Links sorted by name (bytewise), Data: UnixFS{Type=Directory} }
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "farmhand/ipfs/cid.hpp"

namespace farmhand::ipfs {

/// A finished node as its parent links to it.
struct DagEntry {
  Cid cid;
  uint64_t tsize = 0;      // PBLink.Tsize: block bytes of this node's whole DAG
  uint64_t file_size = 0;  // UnixFS content bytes below it (a parent's blocksizes entry)
};

/// Receives every block built, children before parents. May be empty (hash only).
using BlockSink = std::function<void(const Cid&, std::string_view block)>;

/// The dag-pb bytes before and after an `n`-byte chunk in kubo's v0 leaf block, so a leaf
/// can be hashed (or checked) without copying its chunk:
///   0x0a len(UnixFS) [0x08 0x02 (0x12 len(chunk))] chunk [0x18 filesize]
/// (PBNode.Data = UnixFS{Type=File, Data=chunk (absent when n == 0), filesize=n}).
[[nodiscard]] std::pair<std::string, std::string> v0_leaf_frame(std::size_t n);

/// A leaf for `chunk`: v0 wraps it in dag-pb/UnixFS, v1 stores it raw. Hashes without
/// copying the chunk when `sink` is empty.
[[nodiscard]] DagEntry make_leaf(std::string_view chunk, int cid_version, const BlockSink& sink);

/// An internal file node over `children` (1..174 of them, in file order).
[[nodiscard]] DagEntry make_file_node(const std::vector<DagEntry>& children, int cid_version,
                                      const BlockSink& sink);

/// A basic (non-sharded) directory over named entries; sorts them by name.
[[nodiscard]] DagEntry make_directory_node(std::vector<std::pair<std::string, DagEntry>> entries,
                                           int cid_version, const BlockSink& sink);

}  // namespace farmhand::ipfs
