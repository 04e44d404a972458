// The coordinator API client (docs/protocol.md): signed-challenge auth, long-poll, leases.
//
// Thread-safe: calls may come from several threads at once (e.g. heartbeats during a long
// poll); each call borrows one pooled http::Client, so connections are reused. Every method
// blocks on the network: the Python bindings release the GIL around them.
//
// Retries: calls the protocol marks safe to retry (challenge, available, assign, heartbeat,
// complete, fail, release) are retried on network errors/timeouts and on 429/502/503/504 with
// exponential backoff and jitter, honouring Retry-After on 429/503. authenticate is never
// retried with the same challenge. On a 401 the client authenticates again and repeats the
// call once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "farmhand/backend/replies.hpp"
#include "farmhand/backend/types.hpp"
#include "farmhand/http/backoff.hpp"
#include "farmhand/identity/identity.hpp"

namespace farmhand::backend {

/// After an authentication failure (kAuthRejected, or the backend unreachable while
/// authenticating), the caller waits this long before trying again (seed error table).
/// The client itself never sleeps for it.
inline constexpr int kAuthRetrySeconds = 5;

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  // long polls get wait + 10 s instead
  http::BackoffPolicy backoff{};                      // max_attempts = tries per call
  std::chrono::seconds max_retry_after{60};           // cap on a server's Retry-After
  /// When set and true, waits and transfers stop soon with kCancelled.
  const std::atomic<bool>* cancel = nullptr;
  /// The worker's Blender, e.g. "3.4", and device class, e.g. "CPU": sent as `blender=` and
  /// `device=` on every /jobs/available poll (docs/protocol.md "Matching"); empty = not sent.
  std::string worker_blender;
  std::string worker_device;
};

class Client {
 public:
  /// `base_url`: e.g. "http://127.0.0.1:8000" (a trailing "/" is dropped); http or https.
  /// Throws kInvalidArgument for another scheme or a null identity.
  Client(std::string base_url, std::shared_ptr<const identity::Identity> id,
         ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Obtains a token if there is none or it is near expiry (token.hpp). Throws kAuthRejected
  /// (challenge/signature refused), kNetwork, kTimeout, kHttpStatus, kMalformedResponse.
  void ensure_authenticated();
  /// Forgets the token, so the next call authenticates again.
  void invalidate_token();
  /// {"Authorization", "Bearer <token>"} after ensure_authenticated().
  std::vector<std::pair<std::string, std::string>> auth_headers();

  /// GET /api/v1/jobs/available?status=pending&wait=S. Long-poll: returns as soon as a job is
  /// pending or after `wait_seconds` (0 = answer at once) with possibly no offers.
  std::vector<JobOffer> available(int wait_seconds);
  /// POST /api/v1/jobs/{id}/assign -> the lease (its fields empty/0 when a seed-literal
  /// backend answers {"success": true} only); nullopt when another worker holds the job or it
  /// is no longer pending (409) — an ordinary outcome.
  std::optional<Lease> assign(const std::string& id);
  /// POST /api/v1/jobs/{id}/heartbeat (progress 0..1) -> the extended lease.
  /// Throws kLeaseLost on 409: abandon the job; kNotSupported when the backend has no
  /// heartbeat endpoint (404 other than job_not_found, or 405).
  Lease heartbeat(const std::string& id, double progress, const std::string& message);
  /// POST /api/v1/jobs/{id}/complete. Throws kLeaseLost on 409 (lease gone, or completed by
  /// someone else).
  void complete(const std::string& id, const Completion& completion);
  /// POST /api/v1/jobs/{id}/fail. retryable=false: the job itself is broken (protocol.md
  /// "Job states"). Throws kLeaseLost on 409, except when the 409 answers a retry after an
  /// unknown outcome (the first try then ended the lease: nothing left to do);
  /// kNotSupported as for heartbeat() (a seed-literal backend: the job is just skipped).
  /// `code`: the failure kind's stable code (protocol.md "Failure codes"), sent when not
  /// empty; a coordinator that predates codes ignores it.
  void fail(const std::string& id, const std::string& error, bool retryable,
            const std::string& log_tail, const std::string& code = {});
  /// POST /api/v1/jobs/{id}/release: hand the job back untouched. 409 and kNotSupported as
  /// for fail().
  void release(const std::string& id, const std::string& reason);
  /// GET /api/v1/health once, without retries, with a 2 s timeout: true when the backend
  /// answered anything over HTTP (a seed backend may have no health endpoint: a 404 still
  /// means it is back), false on a network error or timeout. Never throws but kCancelled.
  bool probe_health();

  /// GET /api/v1/workers/me once, without retries (the add-on asks again a minute later):
  /// the reply's body as sent, for the caller to check (the add-on's earnings.parse), at
  /// most `max_reply_bytes` (a longer reply throws kMalformedResponse). Throws kNotSupported
  /// when the backend has no such endpoint (a seed-literal backend), kHttpStatus for another
  /// status, kAuthRejected, kNetwork, kTimeout; kCancelled soon after `*cancel` (when given,
  /// in place of ClientOptions::cancel) turns true, during the sign-in or the GET.
  std::string worker_me(std::size_t max_reply_bytes, const std::atomic<bool>* cancel = nullptr);

  [[nodiscard]] const std::string& base_url() const;
  [[nodiscard]] const std::string& address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace farmhand::backend
