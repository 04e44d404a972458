// Retry timing: exponential backoff with jitter, and the Retry-After header.
//
// Callers retry only idempotent requests (docs/protocol.md says which calls are safe).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace farmhand::http {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};  // base delay before the first retry
  double multiplier = 2.0;                 // growth per attempt
  std::chrono::milliseconds max{30'000};   // cap on the base delay
  int max_attempts = 4;                    // total tries, the first included
};

/// Delay before retry number `retry` (1 = the first retry). The base delay is
/// initial * multiplier^(retry-1), capped at max; the result is drawn uniformly from
/// [base/2, base] ("equal jitter") so that many workers do not retry in lockstep.
/// `unit` is a number in [0, 1) (from a random source; fixed in tests).
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int retry, double unit);

/// Same, drawing `unit` from libsodium's CSPRNG (randombytes_uniform).
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int retry);

/// Parses a Retry-After value (RFC 9110 §10.2.3): delta-seconds ("120") or an HTTP-date
/// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`). Returns nullopt when the value is
/// empty or unparseable; a date in the past gives 0 s. Values are capped at `cap`.
std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now,
    std::chrono::seconds cap = std::chrono::seconds(300));

/// 429, 502, 503 and 504: statuses after which the same request may succeed later.
bool is_retryable_status(int status) noexcept;

}  // namespace farmhand::http
