// libFuzzer target: the CARv1 stream reader (CAR bytes come from gateways and RPC APIs we
// do not trust). Fed in chunks whose size the first input byte picks, it must return
// blocks that hash to their CIDs or throw farmhand::Error kMalformedResponse /
// kBlockVerificationFailed, never crash, and never read a header or block past its limit.
// Seeds: native/fuzz/corpus/car/ (kubo 0.42 `ipfs dag export` of small files).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/car_reader.hpp"

namespace {

bool allowed(farmhand::ErrorKind kind) {
  return kind == farmhand::ErrorKind::kMalformedResponse ||
         kind == farmhand::ErrorKind::kBlockVerificationFailed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + (data[0] % 64) * 37;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  farmhand::ipfs::CarReader reader("fuzz", std::size_t{64} * 1024);
  try {
    for (std::size_t i = 0; i < input.size(); i += step) {
      reader.feed(input.substr(i, std::min(step, input.size() - i)));
      while (auto block = reader.next()) {
        if (!block->cid.matches(block->data)) std::abort();
      }
    }
    reader.finish();
  } catch (const farmhand::Error& e) {
    if (!allowed(e.kind())) std::abort();
  }
  try {
    (void)farmhand::ipfs::decode_car_header(input);
  } catch (const farmhand::Error& e) {
    if (e.kind() != farmhand::ErrorKind::kMalformedResponse) std::abort();
  }
  return 0;
}
