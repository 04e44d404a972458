// What the DAG walker reads blocks from: the per-block fetcher (BlockFetcher) or a CAR
// stream (CarBlockProvider). Whatever the implementation, get() returns only bytes that
// hash to the CID asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "farmhand/ipfs/cid.hpp"

namespace farmhand::ipfs {

class BlockProvider {
 public:
  BlockProvider() = default;
  BlockProvider(const BlockProvider&) = delete;
  BlockProvider& operator=(const BlockProvider&) = delete;
  virtual ~BlockProvider() = default;

  /// The verified bytes of `cid`. Throws farmhand::Error (kNotFound,
  /// kBlockVerificationFailed, kTimeout, kCancelled, ...).
  [[nodiscard]] virtual std::string get(const Cid& cid) = 0;

  /// How many children per DAG level the walker may request ahead, from other threads;
  /// 0 = get() only on the walker's thread, in DFS order. May change during a walk.
  [[nodiscard]] virtual std::size_t prefetch() const = 0;

  /// Told each node's children (link order) and the content bytes each holds (the
  /// node's blocksizes) before any of them is requested.
  virtual void expect(const std::vector<Cid>& /*children*/,
                      const std::vector<uint64_t>& /*sizes*/) {}
};

}  // namespace farmhand::ipfs
