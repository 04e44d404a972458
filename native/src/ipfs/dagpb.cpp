#include "farmhand/ipfs/dagpb.hpp"

#include "farmhand/error.hpp"
#include "farmhand/ipfs/protobuf.hpp"

namespace farmhand::ipfs {
namespace {

constexpr int kKind = static_cast<int>(ErrorKind::kBlockVerificationFailed);

[[noreturn]] void bad(const std::string& why) {
  throw Error(ErrorKind::kBlockVerificationFailed, "malformed dag-pb block: " + why);
}

PbLink decode_link(std::string_view bytes) {
  PbLink link;
  bool has_hash = false;
  int last = 0;
  pb::Reader r(bytes, kKind, "dag-pb link");
  while (auto f = r.next()) {
    if (f->number <= last) bad("link fields out of order or repeated");
    last = f->number;
    if (f->number == 1 && f->wire_type == pb::kWireLen) {
      link.hash = std::string(f->bytes);
      has_hash = true;
    } else if (f->number == 2 && f->wire_type == pb::kWireLen) {
      link.name = std::string(f->bytes);
    } else if (f->number == 3 && f->wire_type == pb::kWireVarint) {
      link.tsize = f->varint;
    } else {
      bad("unexpected link field " + std::to_string(f->number));
    }
  }
  if (!has_hash) bad("link without Hash");
  return link;
}

}  // namespace

std::string encode_pbnode(const PbNode& node) {
  std::string out;
  for (const auto& link : node.links) {
    std::string l;
    pb::put_bytes_field(l, 1, link.hash);
    if (link.name) pb::put_bytes_field(l, 2, *link.name);
    if (link.tsize) pb::put_varint_field(l, 3, *link.tsize);
    pb::put_bytes_field(out, 2, l);
  }
  if (node.data) pb::put_bytes_field(out, 1, *node.data);
  return out;
}

PbNode decode_pbnode(std::string_view block) {
  PbNode node;
  pb::Reader r(block, kKind, "dag-pb node");
  while (auto f = r.next()) {
    if (f->wire_type != pb::kWireLen) bad("field " + std::to_string(f->number) + " is not bytes");
    if (f->number == 2) {
      if (node.data) bad("Links after Data");
      node.links.push_back(decode_link(f->bytes));
    } else if (f->number == 1) {
      if (node.data) bad("Data twice");
      node.data = std::string(f->bytes);
    } else {
      bad("unexpected node field " + std::to_string(f->number));
    }
  }
  return node;
}

}  // namespace farmhand::ipfs
