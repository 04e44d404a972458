// UnixFS v1 Data message (ipfs/specs "UnixFS", src/unixfs.md, section "Data Format"):
//   message Data { required DataType Type = 1; optional bytes Data = 2;
//                  optional uint64 filesize = 3; repeated uint64 blocksizes = 4;
//                  optional uint64 hashType = 5; optional uint64 fanout = 6;
//                  optional uint32 mode = 7; optional UnixTime mtime = 8; }
// carried in PBNode.Data of dag-pb blocks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace farmhand::ipfs {

enum class UnixfsType : uint64_t {
  kRaw = 0,
  kDirectory = 1,
  kFile = 2,
  kMetadata = 3,
  kSymlink = 4,
  kHamtShard = 5,
};

struct UnixfsData {
  UnixfsType type = UnixfsType::kFile;
  std::optional<std::string> data;
  std::optional<uint64_t> filesize;  // bytes of file content below this node
  std::vector<uint64_t> blocksizes;  // file bytes below each link, in link order
};

/// Encodes fields 1-4 in field order (what kubo writes; mode/mtime never set).
[[nodiscard]] std::string encode_unixfs(const UnixfsData& d);

/// Decodes a Data message; fields 5-8 are read and ignored. blocksizes may be packed or not.
/// Throws Error kBlockVerificationFailed if malformed or Type is missing/unknown.
[[nodiscard]] UnixfsData decode_unixfs(std::string_view message);

}  // namespace farmhand::ipfs
