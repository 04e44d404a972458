// libFuzzer target: the dag-pb and UnixFS Data decoders (blocks from untrusted sources are
// decoded only after their hash matched, but a hostile uploader chooses those bytes).
// They must return a node or throw farmhand::Error, never crash or read out of bounds;
// a decoded node must re-encode to a form that decodes to the same node.
// Seeds: native/fuzz/corpus/dagpb/ (real kubo blocks: leaves, file nodes, directories).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/dagpb.hpp"
#include "farmhand/ipfs/unixfs.hpp"

namespace {

bool same(const farmhand::ipfs::PbNode& a, const farmhand::ipfs::PbNode& b) {
  if (a.data != b.data || a.links.size() != b.links.size()) return false;
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    const auto& x = a.links[i];
    const auto& y = b.links[i];
    if (x.hash != y.hash || x.name != y.name || x.tsize != y.tsize) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace farmhand::ipfs;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const PbNode node = decode_pbnode(input);
    if (!same(decode_pbnode(encode_pbnode(node)), node)) std::abort();
    for (const auto& link : node.links) {
      try {
        (void)Cid::from_bytes(link.hash);
      } catch (const farmhand::Error&) {
      }
    }
    if (node.data) {
      const UnixfsData d = decode_unixfs(*node.data);
      const UnixfsData again = decode_unixfs(encode_unixfs(d));
      if (again.type != d.type || again.data != d.data || again.filesize != d.filesize ||
          again.blocksizes != d.blocksizes) {
        std::abort();
      }
    }
  } catch (const farmhand::Error&) {
  }
  try {
    (void)decode_unixfs(input);
  } catch (const farmhand::Error&) {
  }
  return 0;
}
