// Adding a file or directory to kubo through `POST /api/v0/add` (kubo "RPC API v0",
// /api/v0/add): multipart/form-data streamed from disk, directories as
// `application/x-directory` parts followed by their entries ("dir/sub/file" names), the
// reply NDJSON (one object per entry, the root last) and stream errors in the
// `X-Stream-Error` trailer.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "farmhand/http/client.hpp"
#include "farmhand/ipfs/cid.hpp"

namespace farmhand::ipfs {

/// The multipart parts for `path`, in the order `ipfs add -r` walks it (hidden entries
/// skipped, names sorted). Throws kInvalidArgument for symlinks and special files.
[[nodiscard]] std::vector<http::MultipartPart> multipart_parts(const std::filesystem::path& path);

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
