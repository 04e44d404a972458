// Where blocks come from: a kubo RPC API (`POST /api/v0/block/get?arg=CID`, kubo docs
// "RPC API v0") or a trustless HTTP gateway (`GET /ipfs/CID?format=raw` with
// `Accept: application/vnd.ipld.raw`, ipfs/specs "Trustless Gateway", section "Block
// Responses"). Neither is trusted: BlockFetcher checks every block against its CID.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "farmhand/http/client.hpp"
#include "farmhand/ipfs/block_provider.hpp"
#include "farmhand/ipfs/cid.hpp"

namespace farmhand::ipfs {

/// Largest block accepted from a source, bytes (kubo's bitswap limit is 2 MiB).
inline constexpr std::size_t kMaxBlockBytes = std::size_t{2} * 1024 * 1024;

struct BlockSource {
  enum class Kind { kRpc, kGateway };
  Kind kind = Kind::kRpc;
  std::string base_url;  // e.g. "http://127.0.0.1:5001" (no trailing slash needed)

  /// "rpc http://..." / "gateway http://...", for messages.
  [[nodiscard]] std::string label() const;
};

/// The sources in the order they are tried: every RPC API, then every gateway.
[[nodiscard]] std::vector<BlockSource> sources_in_order(const std::vector<std::string>& rpc_urls,
                                                        const std::vector<std::string>& gateways);

/// Fetches one block from one source and checks its multihash.
/// Throws Error kNotFound (the source answered a non-200 status), kBlockVerificationFailed
/// (the bytes do not hash to `cid`, or the CID's hash is not sha2-256), kNetwork, kTimeout
/// (`timeout` is the whole request's limit), kCancelled, kMalformedResponse (over
/// kMaxBlockBytes).
[[nodiscard]] std::string fetch_block(http::Client& http, const BlockSource& source, const Cid& cid,
                                      std::chrono::milliseconds timeout,
                                      const std::atomic<bool>* cancel);

/// Blocks requested ahead of the one being written, per DAG level, by the per-block path
/// (memory: this many blocks of at most 2 MiB in flight per level).
inline constexpr std::size_t kFetcherPrefetch = 16;

/// Fetches blocks trying sources in order; a source that fails once (missing block, bad
/// block, network error, timeout) is dropped for the rest of this fetcher's life and the
/// same block is asked of the next one, so a lying source never stops a download that an
/// honest source can serve. Thread-safe: get() may run on several threads at once (each
/// borrows its own http::Client from a pool, so connections are reused).
class BlockFetcher : public BlockProvider {
 public:
  BlockFetcher(std::vector<BlockSource> sources, std::chrono::milliseconds per_source_timeout,
               const std::atomic<bool>* cancel);
  /// The verified bytes of `cid`. When every source has failed, throws
  /// kBlockVerificationFailed if some source served a wrong block, else kNotFound, with
  /// each source's reason in the message. kCancelled passes straight through.
  [[nodiscard]] std::string get(const Cid& cid) override;
  /// kFetcherPrefetch: blocks per DAG level requested ahead on other threads.
  [[nodiscard]] std::size_t prefetch() const override { return kFetcherPrefetch; }
  /// Sources not yet dropped, in order.
  [[nodiscard]] std::vector<BlockSource> remaining_sources();
  /// The source that served the last block ("" before the first).
  [[nodiscard]] std::string current_source();

 private:
  std::unique_ptr<http::Client> borrow_client();
  void return_client(std::unique_ptr<http::Client> client);

  std::mutex mutex_;  // guards everything below except the constants
  std::vector<std::unique_ptr<http::Client>> idle_clients_;
  std::vector<BlockSource> sources_;
  std::size_t next_ = 0;  // index of the source in use; sources before it were dropped
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* cancel_;
  std::string failures_;  // "; "-joined reasons of dropped sources
  bool saw_bad_block_ = false;
};

}  // namespace farmhand::ipfs
