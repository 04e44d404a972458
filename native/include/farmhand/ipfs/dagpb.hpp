// dag-pb codec (ipld/specs "DAG-PB", specs/codecs/dag-pb/spec.md):
//   message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3;
//   } message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
// Canonical form: Links are serialized before Data, fields of a link in order 1, 2, 3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace farmhand::ipfs {

struct PbLink {
  std::string hash;                 // binary CID of the child
  std::optional<std::string> name;  // kubo writes "" for file chunks, the entry name in dirs
  std::optional<uint64_t> tsize;    // cumulative size in bytes of the child's DAG
};

struct PbNode {
  std::vector<PbLink> links;
  std::optional<std::string> data;  // the UnixFS Data message
};

/// Canonical encoding (what kubo writes).
[[nodiscard]] std::string encode_pbnode(const PbNode& node);

/// Strict decoding per the spec's "Decoding" rules: only fields 1 and 2 in a node (Links
/// before Data, Data at most once), only fields 1-3 in a link, in order, each at most once,
/// Hash present. Throws Error kBlockVerificationFailed naming what is wrong.
[[nodiscard]] PbNode decode_pbnode(std::string_view block);

}  // namespace farmhand::ipfs
