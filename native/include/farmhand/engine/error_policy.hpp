// The seed's error table, as decisions the engine threads look up.
//
//   auth failed        -> log, wait auth_retry_s, retry
//   download failed    -> log, skip the job: /fail retryable=true, at once
//   validation failed  -> log, skip the job: /fail retryable=false
//   render failed      -> (Python calls fail())
//   upload failed      -> retry, then the next IPFS API
//   submission failed  -> log, retry until the backend answers (the result stays on disk)
//   network error      -> log, wait network_retry_s (probing the backend's health meanwhile)
//
// Timings and their sources: docs/protocol.md "Worker timing".
#pragma once

#include <cstddef>

#include "farmhand/engine/config.hpp"
#include "farmhand/error.hpp"

namespace farmhand::engine {

/// Seconds to wait before authenticating / polling again after `kind` was thrown by
/// authenticate() or available(): auth_retry_s for kAuthRejected, network_retry_s otherwise.
double retry_wait_s(ErrorKind kind, const Config& config) noexcept;

/// `seconds` spread by +-20 % ("jitter", so that many workers do not retry in lockstep);
/// `unit` is a number in [0, 1) from a random source (fixed in tests).
double jittered_s(double seconds, double unit) noexcept;

/// Whether, while waiting out an error of this kind, the backend's health is probed so work
/// resumes as soon as it answers: for kNetwork, kTimeout and HTTP 5xx (it was unreachable),
/// not for kAuthRejected or a malformed reply (it answered; waiting is the point).
bool probe_while_waiting(ErrorKind kind, int http_status) noexcept;

/// The first probe comes this long after the wait begins; each next one twice as late, up to
/// kProbeMaxS.
inline constexpr double kProbeFirstS = 0.25;
inline constexpr double kProbeMaxS = 1.0;

/// Seconds between heartbeats of a job whose lease lasts `lease_s` (0 = the backend did not
/// say): lease_s / 3, never more often than every 1 s, never less often than `configured_s`
/// (docs/protocol.md "Leases").
double heartbeat_interval_s(double configured_s, double lease_s) noexcept;

/// Seconds before submission attempt `attempt` + 1 (1 = after the first failure): 0.5 s
/// doubling up to 10 s, spread by `unit` in [0, 1) over [d/2, d].
double submit_retry_s(int attempt, double unit) noexcept;

/// Upload rounds (every IPFS API tried once each) before a result is given up as unstorable
/// and the job reported failed (retryable): IPFS down for minutes is a worker problem.
inline constexpr int kUploadRounds = 3;

/// How a failed /complete is handled: kRetry (network, timeout, 5xx, 429, auth: the backend
/// may answer later), kDrop (409 lease lost, 404 job gone: the job is not ours), kFail
/// (anything else, e.g. 422: retrying cannot help; reported /fail).
enum class SubmitOutcome { kRetry, kDrop, kFail };
SubmitOutcome on_submit_error(ErrorKind kind, int http_status) noexcept;

/// How a download failure is reported: kCancelled -> not a failure (the engine is stopping:
/// release), everything else -> /fail retryable=true.
enum class DownloadOutcome { kRelease, kFailRetryable };
DownloadOutcome on_download_error(ErrorKind kind) noexcept;

/// Upload attempts per IPFS API before moving on to the next (first try + one retry).
inline constexpr int kUploadAttemptsPerApi = 2;

/// Where upload attempt number `attempt` (0-based, counting all APIs) goes: the API index,
/// or `api_count` when every API has had its tries (give up).
std::size_t upload_api_for_attempt(int attempt, std::size_t api_count) noexcept;

}  // namespace farmhand::engine
