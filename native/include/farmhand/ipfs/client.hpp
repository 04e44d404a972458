// Verified IPFS transfer: what the engine calls to fetch a job's .blend and to publish
// the render result.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/importer.hpp"

namespace farmhand::ipfs {

struct ClientOptions {
  std::vector<std::string> rpc_urls;       // kubo RPC APIs, e.g. "http://127.0.0.1:5001"
  std::vector<std::string> gateway_urls;   // trustless gateways, e.g. "http://127.0.0.1:8080"
  uint64_t max_bytes = uint64_t{4} << 30;  // largest file download() accepts, bytes
  /// Per-request limit for one block from one source; an upload gets this plus 1 s per
  /// 8 MiB of content.
  std::chrono::seconds source_timeout{60};
  int cid_version = 0;  // for upload(): 0 = kubo defaults, 1 = raw leaves + CIDv1
  /// download(): stream the DAG as one CAR (CarBlockProvider); false = block by block only
  /// (BlockFetcher), e.g. for gateways known not to serve CARs.
  bool stream_car = true;
  /// download() with stream_car: a file of at least this many bytes is streamed as plain
  /// bytes (RPC `cat`, gateway `/ipfs/CID` with byte ranges, plain_streams at once) and
  /// checked leaf by leaf against the DAG's internal nodes (leaf_plan, plain_stream);
  /// smaller files come as CARs. UINT64_MAX: never.
  uint64_t plain_stream_min_bytes = uint64_t{128} << 20;
  /// Connections (threads) streaming one file at once on that path, 1 or more.
  std::size_t plain_streams = 4;
  /// download(): fsync the file before renaming it into place, so it survives a crash
  /// under its name. Off by default: the engine never reuses a download after a crash
  /// (the crash journal fails those jobs), and waiting for the disk made a 1 GiB download
  /// take several seconds longer on a busy disk. Readers never see a partial file either way.
  bool durable = false;
};

/// (bytes written so far, total bytes of the file)
using Progress = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

class Client {
 public:
  /// Throws kInvalidArgument if no source is configured, a source URL does not start with
  /// http:// or https://, or cid_version is not 0/1.
  explicit Client(ClientOptions options);

  /// Verified download of the file `cid` into dest_dir/filename (filename "" = the CID
  /// string). Sources: every RPC URL, then every gateway: the root block alone, then (a
  /// file of plain_stream_min_bytes or more) its internal nodes as blocks and its bytes as
  /// plain streams, each leaf hashed as it passes (stream_plain), or else the whole DAG as
  /// CAR streams, falling back to block by block (CarBlockProvider). Bytes go to a
  /// temp file in dest_dir, renamed into place only after the whole DAG verified; on any
  /// failure nothing is left behind. Throws kTooLarge (root filesize > max_bytes, before
  /// any leaf is fetched), kNotFound (no source serves a block; bounded by sources x
  /// source_timeout per block), kBlockVerificationFailed (every source that had the block
  /// served bad bytes, or the DAG is inconsistent), kCancelled (`cancel` set),
  /// kInvalidArgument (bad filename, a directory CID), kIo.
  std::filesystem::path download(const Cid& cid, const std::filesystem::path& dest_dir,
                                 const std::string& filename, const Progress& progress,
                                 const std::atomic<bool>* cancel);

  /// Adds a file or a directory (e.g. rendered frames) to the first RPC URL that takes it
  /// and returns its CID, after checking it equals the locally computed one. Each URL is
  /// tried twice (1 s apart) before the next. Throws kCidMismatch (kubo reported another
  /// CID: its import settings differ), or the last error (kHttpStatus, kNetwork, ...).
  Cid upload(const std::filesystem::path& file_or_dir);

  [[nodiscard]] const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
};

}  // namespace farmhand::ipfs
