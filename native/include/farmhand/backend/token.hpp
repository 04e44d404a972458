// Bearer-token lifetime decisions (docs/protocol.md, POST /api/v1/auth/authenticate).
//
// The coordinator's token is a JWT (RFC 7519) with an `exp` claim; its reply also carries
// `expires_in` (seconds). The worker trusts the earlier of the two and refreshes the token
// a margin before it runs out. The JWT is not verified here (the worker has no key for it);
// its payload is only read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace farmhand::backend {

/// The longest a token is used before authenticating again (30 days), whatever the backend
/// says: refreshing early is harmless, an overflowing expiry time is not.
inline constexpr std::chrono::seconds kMaxTokenLifetime{30LL * 24 * 3600};

/// The `exp` claim (seconds since the Unix epoch) of a JWT in compact form
/// "header.payload.signature" (RFC 7519 §7.2: the payload is base64url JSON). nullopt when the
/// payload has no `exp`. Throws kMalformedResponse when the token is not three base64url parts,
/// the payload is not a JSON object, or `exp` is not an integer.
std::optional<std::int64_t> jwt_exp_claim(std::string_view jwt);

/// How long the token may be used, from `expires_in` (seconds, > 0; nullopt when the backend
/// sent none, as a seed-literal one does) and the JWT's `exp` (if any), both measured from
/// `now_unix`: the smaller of the two. An `exp` already in the past by our clock is taken as
/// clock skew and ignored (expires_in alone then decides). With neither, the token is used
/// for kMaxTokenLifetime or until a call answers 401 (the client then authenticates again).
/// Capped at kMaxTokenLifetime: a backend's huge expires_in (up to 2^63-1 s) would otherwise
/// overflow the millisecond count and the steady_clock arithmetic of refresh_at().
std::chrono::milliseconds effective_lifetime(std::optional<std::int64_t> expires_in,
                                             std::optional<std::int64_t> exp_unix,
                                             std::int64_t now_unix);

/// How long before expiry to re-authenticate: 60 s (protocol.md), but at most a quarter of the
/// lifetime so short-lived tokens (tests use 2 s) are still used a while.
std::chrono::milliseconds refresh_margin(std::chrono::milliseconds lifetime);

struct AuthToken {
  std::string value;  // the JWT, sent as "Authorization: Bearer <value>"
  std::chrono::steady_clock::time_point obtained;
  std::chrono::milliseconds lifetime{0};

  /// When to stop using this token and authenticate again.
  [[nodiscard]] std::chrono::steady_clock::time_point refresh_at() const {
    return obtained + lifetime - refresh_margin(lifetime);
  }
  [[nodiscard]] bool needs_refresh(std::chrono::steady_clock::time_point now) const {
    return value.empty() || now >= refresh_at();
  }
};

}  // namespace farmhand::backend
