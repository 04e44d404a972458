// The seed's error table, as decisions the engine threads look up.
//
//   auth failed        -> log, wait auth_retry_s, retry
//   download failed    -> log, skip the job: /fail retryable=true, at once
//   validation failed  -> log, skip the job: /fail retryable=false
//   render failed      -> (Python calls fail())
//   upload failed      -> retry, then the next IPFS API
//   submission failed  -> log, retry once
//   network error      -> log, wait network_retry_s
#pragma once

#include <cstddef>

#include "farmhand/engine/config.hpp"
#include "farmhand/error.hpp"

namespace farmhand::engine {

/// Seconds to wait before authenticating / polling again after `kind` was thrown by
/// authenticate() or available(): auth_retry_s for kAuthRejected, network_retry_s otherwise.
double retry_wait_s(ErrorKind kind, const Config& config) noexcept;

/// How a download failure is reported: kCancelled -> not a failure (the engine is stopping:
/// release), everything else -> /fail retryable=true.
enum class DownloadOutcome { kRelease, kFailRetryable };
DownloadOutcome on_download_error(ErrorKind kind) noexcept;

/// Upload attempts per IPFS API before moving on to the next (first try + one retry).
inline constexpr int kUploadAttemptsPerApi = 2;
/// Submission attempts (first try + one retry); kLeaseLost is never retried.
inline constexpr int kSubmitAttempts = 2;

/// Where upload attempt number `attempt` (0-based, counting all APIs) goes: the API index,
/// or `api_count` when every API has had its tries (give up).
std::size_t upload_api_for_attempt(int attempt, std::size_t api_count) noexcept;

/// Whether submission attempt `attempt` (1 = the first) that failed with `kind` is tried again.
bool retry_submission(int attempt, ErrorKind kind) noexcept;

}  // namespace farmhand::engine
