// Hashing files and directories to the CID `ipfs add` would print, without a daemon.
//
// Matches kubo's defaults: 256 KiB fixed chunks, balanced layout, 174 links per node.
// cid_version 0: dag-pb leaves, CIDv0 (`ipfs add`); 1: raw leaves, CIDv1 base32
// (`ipfs add --cid-version=1`). Directories as `ipfs add -r`: entries sorted by name,
// hidden entries (name starting with '.') skipped like kubo's default `--hidden=false`.
// Memory: a few chunks per hashing thread whatever the file size.
#pragma once

#include <filesystem>

#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/node_builder.hpp"

namespace farmhand::ipfs {

struct ImportOptions {
  int cid_version = 0;  // 0: kubo defaults, 1: raw leaves + CIDv1
  /// Threads hashing leaves in parallel; 0 = std::thread::hardware_concurrency().
  unsigned threads = 0;
};

/// The root CID of a file or a directory tree.
/// Throws Error kIo (unreadable), kInvalidArgument (bad cid_version, a symlink or special
/// file in the tree, a directory too large for a basic directory node).
[[nodiscard]] Cid cid_of(const std::filesystem::path& file_or_dir, const ImportOptions& options);

/// Like cid_of, also handing every block built to `sink` (children first) and returning
/// the root's sizes.
[[nodiscard]] DagEntry import_path(const std::filesystem::path& file_or_dir,
                                   const ImportOptions& options, const BlockSink& sink);

}  // namespace farmhand::ipfs
