// Verified download of a whole DAG in one streamed request: a CARv1 from the kubo RPC API
// (`POST /api/v0/dag/export?arg=ROOT`, kubo docs "RPC API v0") or a trustless gateway
// (`GET /ipfs/ROOT?format=car&order=dfs` with `Accept: application/vnd.ipld.car;
// version=1; order=dfs`, ipfs/specs "Trustless Gateway", section "CAR Responses").
// Every block is hashed against its CID by CarReader as it arrives; the walker still
// applies every UnixFS rule (dag_walker), so this only changes where bytes come from.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "farmhand/ipfs/block_provider.hpp"
#include "farmhand/ipfs/block_source.hpp"

namespace farmhand::ipfs {

/// Blocks that arrive before the one the walker needs (but belong to the DAG) are kept
/// up to this many bytes / blocks; beyond that the stream is abandoned.
inline constexpr std::size_t kCarReorderBytes = std::size_t{8} << 20;
inline constexpr std::size_t kCarReorderBlocks = 32;
/// Verified blocks queued between one stream's HTTP thread and the walker, bytes.
inline constexpr std::size_t kCarQueueBytes = std::size_t{8} << 20;

class CarStream;

/// One planned CAR request: the DAG under `cid`, or (range) only the blocks for content
/// bytes first..last (inclusive) of the file `cid`.
struct CarPart {
  Cid cid;
  std::optional<std::pair<uint64_t, uint64_t>> range;
};

/// kubo builds each CAR on one thread, reading blocks one after another, so a large file
/// is streamed as several CARs, kCarParallelStreams at once, read in order:
///   - from a gateway, byte ranges of kCarRangeBytes (`dag-scope=entity&entity-bytes=A:B`,
///     Trustless Gateway spec; each CAR holds the path from the root to its leaves);
///   - from an RPC API (no ranges), one CAR per child of the root when every child but
///     the last holds at least kCarSplitBytes.
/// Smaller files: one CAR of the root.
inline constexpr uint64_t kCarRangeBytes = uint64_t{4} << 20;
inline constexpr uint64_t kCarSplitBytes = uint64_t{4} << 20;
inline constexpr std::size_t kCarParallelStreams = 4;

/// BlockProvider for read_file_dag that
///   1. fetches the root block alone, block by block (so the walker checks max_bytes
///      before any leaf byte is requested), from `sources` in order (BlockFetcher);
///      a single-block file needs nothing more;
///   2. streams CARs from the first source that served the root (see kCarRangeBytes),
///      reading them one after another. Blocks are taken in the order the walker asks for
///      them (depth first); a block that belongs to the DAG but comes early is held within
///      kCarReorderBytes/Blocks, a duplicate of a block already delivered is dropped, a
///      block no decoded node links to is a lie;
///   3. when a stream fails or lies (bad block, truncated or malformed CAR, a foreign
///      block, out of order beyond the bound, no block within `per_source_timeout`):
///      if no block came from a CAR yet, the next source's CARs are tried; otherwise, or
///      when no source is left, the rest of the DAG is fetched block by block from the
///      sources whose stream did not fail, then (last resort) those whose stream failed —
///      each block is verified there too. Blocks already written stay: each was verified.
/// A block the walker asks for again (identical chunks: a CAR holds each block once)
/// comes from a small cache (the last few blocks that links read so far name more than
/// once) or, failing that, by one block request.
class CarBlockProvider : public BlockProvider {
 public:
  CarBlockProvider(std::vector<BlockSource> sources, std::chrono::milliseconds per_source_timeout,
                   const std::atomic<bool>* cancel);
  ~CarBlockProvider() override;

  /// Throws what BlockFetcher::get throws (for the root; after falling back, with the
  /// CAR failures appended to the message), or kCancelled. Stream failures are not
  /// thrown: they switch sources as described above.
  [[nodiscard]] std::string get(const Cid& cid) override;
  /// 0 while streaming a CAR; kFetcherPrefetch once fallen back to block by block.
  [[nodiscard]] std::size_t prefetch() const override;
  void expect(const std::vector<Cid>& children, const std::vector<uint64_t>& sizes) override;

  /// The root block, already fetched alone and verified over the same sources (e.g. by the
  /// caller's BlockFetcher, to choose a path): the first get(root) returns it without a
  /// request. Call before any get().
  void set_root(const Cid& root, std::string block);

  /// True once the per-block path took over.
  [[nodiscard]] bool fell_back() const { return fell_back_.load(); }

 private:
  std::string deliver(const std::string& key, std::string data);
  std::string fail_over(const std::string& why, const Cid& cid);
  std::string fallback_get(const Cid& cid);
  void make_plan();     // plan_ for car_source_ from the root's children
  void open_streams();  // opens plan_[active_ .. active_ + kCarParallelStreams)
  bool next_car_source();
  void retire(std::size_t index);

  std::vector<BlockSource> sources_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* cancel_;
  std::unique_ptr<BlockFetcher> blocks_;    // root and re-requested blocks
  std::unique_ptr<BlockFetcher> fallback_;  // after the CAR path gave up
  std::atomic<bool> fell_back_{false};
  std::vector<BlockSource> car_candidates_;  // sources whose CARs are still to be tried
  std::optional<BlockSource> car_source_;    // the source streaming now
  std::vector<BlockSource> car_failed_;
  std::optional<Cid> root_;
  std::optional<std::string> root_block_;  // set_root(), until the walker asks for it
  std::vector<Cid> root_children_;
  std::vector<uint64_t> root_sizes_;
  std::vector<CarPart> plan_;  // the CARs streamed, in walk order
  std::size_t active_ = 0;     // index in plan_ of the stream the walker reads now
  std::unordered_map<std::size_t, std::unique_ptr<CarStream>> streams_;  // by plan index
  std::vector<std::unique_ptr<CarStream>> retired_;    // done or aborted; joined at the end
  std::unordered_map<std::string, int> expected_;      // binary CID -> times still needed
  std::unordered_set<std::string> seen_;               // binary CIDs delivered
  std::unordered_map<std::string, std::string> held_;  // came early, binary CID -> block
  std::size_t held_bytes_ = 0;
  std::deque<std::pair<std::string, std::string>> recent_;  // blocks named again, newest last
  std::size_t total_from_car_ = 0;
  std::string log_;
};

}  // namespace farmhand::ipfs
