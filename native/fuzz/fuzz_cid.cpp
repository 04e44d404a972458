// libFuzzer target: the CID parser (text and binary forms; CIDs arrive from the backend
// and from dag-pb links). It must return a CID or throw farmhand::Error kCidInvalid, never
// crash; a parsed CID must print to text that parses back to the same CID.
// Seeds: native/fuzz/corpus/cid/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/cid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using farmhand::ipfs::Cid;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int binary = 0; binary < 2; ++binary) {
    try {
      const Cid c = binary != 0 ? Cid::from_bytes(input) : Cid::parse(input);
      if (Cid::parse(c.to_string()) != c) std::abort();
      if (Cid::from_bytes(c.bytes()) != c) std::abort();
    } catch (const farmhand::Error& e) {
      if (e.kind() != farmhand::ErrorKind::kCidInvalid) std::abort();
    }
  }
  return 0;
}
