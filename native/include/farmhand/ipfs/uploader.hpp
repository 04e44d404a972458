// Adding a file or directory to kubo through `POST /api/v0/add` (kubo "RPC API v0",
// /api/v0/add): multipart/form-data streamed from disk, directories as
// `application/x-directory` parts followed by their entries ("dir/sub/file" names), the
// reply NDJSON (one object per entry, the root last) and stream errors in the
// `X-Stream-Error` trailer.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "farmhand/http/client.hpp"
#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/hasher_thread.hpp"

namespace farmhand::ipfs {

/// The multipart parts for `path`, in the order `ipfs add -r` walks it (hidden entries
/// skipped, names sorted). Throws kInvalidArgument for symlinks and special files.
[[nodiscard]] std::vector<http::MultipartPart> multipart_parts(const std::filesystem::path& path);

/// A regular file sent as one multipart part while its CID is computed from the same
/// reads: the file is read once, no time goes to hashing it first, and the bytes each read
/// hands to curl are hashed on a thread of their own (HasherThread) while curl sends them.
class HashingFilePart {
 public:
  /// Opens `file` and takes its size now. Throws kIo (unreadable, not a regular file),
  /// kInvalidArgument (cid_version not 0/1).
  HashingFilePart(const std::filesystem::path& file, int cid_version);
  ~HashingFilePart();
  HashingFilePart(const HashingFilePart&) = delete;
  HashingFilePart& operator=(const HashingFilePart&) = delete;

  /// The part (name "file", `filename`, application/octet-stream) reading through this
  /// object; valid while it lives. Reading throws kIo when the file ends early (it shrank).
  [[nodiscard]] http::MultipartPart part(const std::string& filename);
  /// The file's CID, once every byte was read (sent). Throws kIo before that.
  [[nodiscard]] Cid cid();
  [[nodiscard]] uint64_t size() const { return size_; }

 private:
  std::size_t read(char* buf, std::size_t max);
  void rewind();

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  int cid_version_;
  uint64_t offset_ = 0;
  std::optional<HasherThread> hasher_;
};

/// The CID of the last NDJSON object that has a "Hash" in kubo's add reply body.
/// Throws kMalformedResponse if there is none or a line is not JSON.
[[nodiscard]] Cid parse_add_reply(const std::string& ndjson);

/// One `POST <rpc_url>/api/v0/add?cid-version=V&pin=true` of `parts`; returns the root CID
/// kubo reports. Throws kHttpStatus (non-200), kMalformedResponse (bad reply or an
/// X-Stream-Error trailer), kNetwork, kTimeout, kIo.
[[nodiscard]] Cid add_once(http::Client& http, const std::string& rpc_url,
                           const std::vector<http::MultipartPart>& parts, int cid_version,
                           std::chrono::milliseconds timeout);

}  // namespace farmhand::ipfs
