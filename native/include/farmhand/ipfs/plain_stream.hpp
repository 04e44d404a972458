// Verified download of a planned file (leaf_plan) from plain, unverifiable byte streams:
// a gateway's `GET /ipfs/ROOT` with `Range: bytes=A-B` (RFC 9110 "Range Requests"; a
// gateway that ignores the range and answers 200 still works, the bytes before A are
// skipped) or the kubo RPC API's `POST /api/v0/cat?arg=ROOT&offset=A&length=N` (kubo docs
// "RPC API v0"). kubo serves a plain file several times faster than the same DAG as a CAR
// or block by block, and the bytes are checked all the same: each leaf is hashed as it
// passes (LeafCheck), no copy kept.
//
// The file is cut into `streams` ranges on leaf boundaries, one connection (and thread:
// receive, hash, write) each.
// A leaf's bytes are kept (at most kMaxBlockBytes) until they hash to its CID and only
// then written at their offset into the temporary file (renamed into place by the
// caller only after kComplete). A leaf whose bytes do not hash to its CID is fetched as a
// block (verified, dag_walker rules) and written instead: when the stream's bytes equal the block's
// content the leaf only had another encoding than kubo's and the stream goes on;
// otherwise the source lied. A source that lies or fails (HTTP error, a `X-Stream-Error`
// trailer, a stream cut short, no byte for `timeout`, a connection error) is dropped: the
// rest of that range is streamed from the next source. With no source left, the rest comes
// block by block (BlockFetcher, `streams` leaves at a time).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <vector>

#include "farmhand/ipfs/block_source.hpp"
#include "farmhand/ipfs/client.hpp"
#include "farmhand/ipfs/leaf_plan.hpp"
#include "farmhand/ipfs/partial_file.hpp"

namespace farmhand::ipfs {

/// A range is not cut smaller than this (bytes).
inline constexpr uint64_t kPlainMinRangeBytes = uint64_t{16} << 20;
/// Verified leaves are written in batches of about this many bytes (one pwrite each).
inline constexpr std::size_t kWriteBatchBytes = std::size_t{1} << 20;
/// Written bytes are handed to the disk (PartialFile::start_writeback) every this many bytes.
inline constexpr uint64_t kWritebackBytes = uint64_t{8} << 20;

enum class PlainStreamOutcome {
  kComplete,  // every leaf verified and written into `out`
  kUnserved,  // no source streamed the file and nothing was written: use the DAG walker
};

/// Downloads the leaves of `plan` (the file `root`) into `out` (already resized to
/// plan.total), streaming from `sources` in order over `streams` connections (ranges of
/// at least kPlainMinRangeBytes) and fetching single blocks through
/// `blocks`. progress(done_bytes, total) is called on the calling thread, done_bytes
/// counting verified bytes. Throws kCancelled (`cancel` set, or thrown by progress),
/// kBlockVerificationFailed / kNotFound (a leaf that no stream nor block source served
/// right), kIo (writing), and whatever progress throws; worker threads are stopped first.
[[nodiscard]] PlainStreamOutcome stream_plain(const Cid& root, const LeafPlan& plan,
                                              const std::vector<BlockSource>& sources,
                                              BlockFetcher& blocks, PartialFile& out,
                                              std::chrono::milliseconds timeout,
                                              std::size_t streams, const Progress& progress,
                                              const std::atomic<bool>* cancel);

}  // namespace farmhand::ipfs
