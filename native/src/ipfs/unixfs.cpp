#include "farmhand/ipfs/unixfs.hpp"

#include "farmhand/error.hpp"
#include "farmhand/ipfs/protobuf.hpp"
#include "farmhand/ipfs/varint.hpp"

namespace farmhand::ipfs {
namespace {

[[noreturn]] void bad(const std::string& why) {
  throw Error(ErrorKind::kBlockVerificationFailed, "malformed UnixFS Data: " + why);
}

}  // namespace

std::string encode_unixfs(const UnixfsData& d) {
  std::string out;
  pb::put_varint_field(out, 1, static_cast<uint64_t>(d.type));
  if (d.data) pb::put_bytes_field(out, 2, *d.data);
  if (d.filesize) pb::put_varint_field(out, 3, *d.filesize);
  for (uint64_t s : d.blocksizes) pb::put_varint_field(out, 4, s);
  return out;
}

UnixfsData decode_unixfs(std::string_view message) {
  UnixfsData d;
  bool has_type = false;
  pb::Reader r(message, static_cast<int>(ErrorKind::kBlockVerificationFailed), "UnixFS Data");
  while (auto f = r.next()) {
    const bool is_varint = f->wire_type == pb::kWireVarint;
    switch (f->number) {
      case 1:
        if (!is_varint || f->varint > static_cast<uint64_t>(UnixfsType::kHamtShard)) {
          bad("unknown Type");
        }
        d.type = static_cast<UnixfsType>(f->varint);
        has_type = true;
        break;
      case 2:
        if (is_varint) bad("Data is not bytes");
        d.data = std::string(f->bytes);
        break;
      case 3:
        if (!is_varint) bad("filesize is not a varint");
        d.filesize = f->varint;
        break;
      case 4:
        if (is_varint) {
          d.blocksizes.push_back(f->varint);
        } else {  // packed repeated
          std::string_view in = f->bytes;
          while (!in.empty()) {
            const auto v = read_uvarint(in);
            if (!v) bad("truncated packed blocksizes");
            d.blocksizes.push_back(*v);
          }
        }
        break;
      default:
        break;  // hashType, fanout, mode, mtime: not needed to read file bytes
    }
  }
  if (!has_type) bad("Type missing");
  return d;
}

}  // namespace farmhand::ipfs
