// backend::Client: the coordinator calls of docs/protocol.md over http::Client.
#include "farmhand/backend/client.hpp"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "farmhand/backend/replies.hpp"
#include "farmhand/backend/token.hpp"
#include "farmhand/error.hpp"
#include "farmhand/http/client.hpp"

namespace farmhand::backend {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kSignedPrefix = "farmhand-auth-v1:";  // protocol.md "Conventions"
constexpr std::size_t kMaxReplyBytes = 1 << 20;                  // 1 MiB
constexpr std::size_t kMaxJobListBytes = 8 << 20;                // up to 10 jobs x 10000 frames

enum class Retry { kNo, kYes };

struct Sent {
  http::Response response;
  int attempts = 1;  // > 1: an earlier try had an unknown outcome
};

// Serialises a request body. Invalid UTF-8 (e.g. in a Blender log tail) is replaced with
// U+FFFD instead of throwing.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// "HTTP 409 lease_lost: job 7 is no longer leased ..." from a reply, for error messages.
std::string status_text(const http::Response& r) {
  const ErrorReply e = parse_error_reply(r.body);
  std::string out = "HTTP " + std::to_string(r.status);
  if (!e.code.empty()) out += " " + e.code;
  if (!e.message.empty()) {
    out += ": " + e.message.substr(0, 300);
  } else if (!r.body.empty()) {
    out += ": " + r.body_excerpt(200);
  }
  return out;
}

[[noreturn]] void throw_status(ErrorKind kind, const std::string& what, const http::Response& r,
                               const std::string& advice) {
  throw Error(kind, what + " failed: " + status_text(r) + "; " + advice, r.status);
}

}  // namespace

struct Client::Impl {
  std::string base_url;
  std::shared_ptr<const identity::Identity> id;
  ClientOptions options;

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<http::Client>> pool;  // idle clients, each with its connections

  std::mutex auth_mutex;  // serialises authentication; guards `token`
  AuthToken token;

  // --- plumbing -------------------------------------------------------------------------------

  std::unique_ptr<http::Client> borrow() {
    {
      std::lock_guard lock(pool_mutex);
      if (!pool.empty()) {
        auto c = std::move(pool.back());
        pool.pop_back();
        return c;
      }
    }
    return std::make_unique<http::Client>();
  }
  void give_back(std::unique_ptr<http::Client> c) {
    std::lock_guard lock(pool_mutex);
    pool.push_back(std::move(c));
  }

  // A retry's wait; `cancel` is the request's flag (options.cancel or a call's own).
  static void sleep_for(milliseconds d, const std::atomic<bool>* cancel) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
        throw Error(ErrorKind::kCancelled, "backend call cancelled while waiting");
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          milliseconds(50), until - std::chrono::steady_clock::now()));
    }
  }

  http::Request make_request(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& bearer) const {
    http::Request req;
    req.method = method;
    req.url = base_url + path;
    req.connect_timeout = options.connect_timeout;
    req.total_timeout = options.request_timeout;
    req.max_body_bytes = kMaxReplyBytes;
    req.cancel = options.cancel;
    req.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    if (!bearer.empty()) req.headers.emplace_back("Authorization", "Bearer " + bearer);
    req.body = body;
    return req;
  }

  // One call with retries (Retry::kYes) on network errors, timeouts and 429/502/503/504.
  Sent send(const http::Request& req, Retry retry) {
    const int max_attempts = retry == Retry::kYes ? std::max(1, options.backoff.max_attempts) : 1;
    for (int attempt = 1;; ++attempt) {
      const bool last = attempt >= max_attempts;
      auto http_client = borrow();
      try {
        http::Response r = http_client->perform(req);
        give_back(std::move(http_client));
        if (last || !http::is_retryable_status(r.status)) return {std::move(r), attempt};
        milliseconds delay = http::backoff_delay(options.backoff, attempt);
        if (r.status == 429 || r.status == 503) {
          if (const auto after =
                  http::parse_retry_after(r.header("retry-after"), std::chrono::system_clock::now(),
                                          options.max_retry_after)) {
            delay = *after;
          }
        }
        sleep_for(delay, req.cancel);
      } catch (const Error& e) {
        // The handle may be mid-transfer: drop it rather than reuse it.
        if (last || (e.kind() != ErrorKind::kNetwork && e.kind() != ErrorKind::kTimeout)) throw;
        sleep_for(http::backoff_delay(options.backoff, attempt), req.cancel);
      }
    }
  }

  // --- auth -----------------------------------------------------------------------------------

  // 401/403/422 on the auth endpoints mean the backend refused us (protocol.md "Auth");
  // anything else is an unexpected status.
  static ErrorKind auth_error_kind(int status) {
    return status == 401 || status == 403 || status == 422 ? ErrorKind::kAuthRejected
                                                           : ErrorKind::kHttpStatus;
  }

  // `cancel`, when given, replaces options.cancel for the sign-in's requests and waits.
  void authenticate_locked(const std::atomic<bool>* cancel) {
    const std::string address = id->address();
    auto request = [&](const char* path, const json& body) {
      http::Request req = make_request("POST", path, dump(body), "");
      if (cancel != nullptr) req.cancel = cancel;
      return req;
    };
    const Sent c = send(request("/api/v1/auth/challenge", json{{"address", address}}), Retry::kYes);
    if (c.response.status != 200) {
      throw_status(auth_error_kind(c.response.status),
                   "requesting an auth challenge for " + address, c.response,
                   "check the backend URL; retry in " + std::to_string(kAuthRetrySeconds) + " s");
    }
    const std::string challenge = parse_challenge(c.response.body);
    std::string message(kSignedPrefix);
    message += challenge;
    const std::string signature = id->sign_hex(message);
    // Never retried with the same challenge (protocol.md): a failure goes to the caller.
    const Sent a = send(
        request("/api/v1/auth/authenticate",
                json{{"address", address}, {"challenge", challenge}, {"signature", signature}}),
        Retry::kNo);
    if (a.response.status != 200) {
      throw_status(auth_error_kind(a.response.status), "authenticating " + address, a.response,
                   "the backend refused this worker's signature; retry in " +
                       std::to_string(kAuthRetrySeconds) + " s");
    }
    const TokenReply reply = parse_token_reply(a.response.body);
    const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    AuthToken t;
    t.value = reply.token;
    t.obtained = std::chrono::steady_clock::now();
    t.lifetime = effective_lifetime(reply.expires_in, jwt_exp_claim(reply.token), now_unix);
    token = std::move(t);
  }

  std::string current_token(const std::atomic<bool>* cancel = nullptr) {
    std::lock_guard lock(auth_mutex);
    if (token.needs_refresh(std::chrono::steady_clock::now())) authenticate_locked(cancel);
    return token.value;
  }

  // A call with the bearer token; on 401 re-authenticates once and repeats it.
  // `cancel`, when given, replaces options.cancel for this call's requests, its sign-in and
  // its retry waits.
  Sent authed(const std::string& method, const std::string& path, const std::string& body,
              Retry retry, milliseconds timeout, std::size_t max_reply_bytes,
              const std::atomic<bool>* cancel = nullptr) {
    std::string bearer = current_token(cancel);
    auto attempt = [&](const std::string& tok) {
      http::Request req = make_request(method, path, body, tok);
      req.total_timeout = timeout;
      req.max_body_bytes = max_reply_bytes;
      if (cancel != nullptr) req.cancel = cancel;
      return send(req, retry);
    };
    Sent s = attempt(bearer);
    if (s.response.status == 401) {
      {
        std::lock_guard lock(auth_mutex);
        if (token.value == bearer) token = AuthToken{};  // not yet replaced by another thread
      }
      bearer = current_token(cancel);
      const int earlier = s.attempts;
      s = attempt(bearer);
      s.attempts += earlier;
      if (s.response.status == 401) {
        throw_status(
            ErrorKind::kAuthRejected, method + " " + path, s.response,
            "a fresh token was refused too; retry in " + std::to_string(kAuthRetrySeconds) + " s");
      }
    }
    return s;
  }

  std::string job_path(const std::string& id, const char* action) const {
    if (id.empty()) throw Error(ErrorKind::kInvalidArgument, "job id is empty");
    return "/api/v1/jobs/" + http::percent_encode(id) + "/" + action;
  }

  Sent job_post(const std::string& job_id, const char* action, const json& body) {
    return authed("POST", job_path(job_id, action), dump(body), Retry::kYes,
                  options.request_timeout, kMaxReplyBytes);
  }

  // A 404 that is not about the job (job_not_found), or a 405: the backend has no such
  // endpoint (a seed-literal backend: docs/protocol.md "Seed-literal backends").
  static void throw_if_missing(const std::string& what, const http::Response& r) {
    if (r.status == 405 || (r.status == 404 && parse_error_reply(r.body).code != "job_not_found")) {
      throw_status(ErrorKind::kNotSupported, what, r,
                   "this backend does not offer the endpoint; the worker goes on without it");
    }
  }

  [[noreturn]] static void unexpected(const std::string& what, const http::Response& r) {
    throw_status(ErrorKind::kHttpStatus, what, r,
                 r.status >= 500 ? "the backend has a problem; try again later"
                                 : "the worker and backend disagree on the protocol");
  }
};

Client::Client(std::string base_url, std::shared_ptr<const identity::Identity> id,
               ClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  if (!base_url.starts_with("http://") && !base_url.starts_with("https://")) {
    throw Error(ErrorKind::kInvalidArgument,
                "backend URL '" + base_url + "' must start with http:// or https://");
  }
  if (!id) throw Error(ErrorKind::kInvalidArgument, "backend client needs an identity");
  impl_->base_url = std::move(base_url);
  impl_->id = std::move(id);
  impl_->options = std::move(options);
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const std::string& Client::base_url() const {
  return impl_->base_url;
}
const std::string& Client::address() const {
  return impl_->id->address();
}

void Client::ensure_authenticated() {
  (void)impl_->current_token();
}

void Client::invalidate_token() {
  std::lock_guard lock(impl_->auth_mutex);
  impl_->token = AuthToken{};
}

std::vector<std::pair<std::string, std::string>> Client::auth_headers() {
  return {{"Authorization", "Bearer " + impl_->current_token()}};
}

std::vector<JobOffer> Client::available(int wait_seconds) {
  if (wait_seconds < 0) throw Error(ErrorKind::kInvalidArgument, "wait_seconds must be >= 0");
  std::string path = "/api/v1/jobs/available?status=pending";
  if (wait_seconds > 0) path += "&wait=" + std::to_string(wait_seconds);
  if (!impl_->options.worker_blender.empty()) {
    path += "&blender=" + http::percent_encode(impl_->options.worker_blender);
  }
  if (!impl_->options.worker_device.empty()) {
    path += "&device=" + http::percent_encode(impl_->options.worker_device);
  }
  // protocol.md: clients use an HTTP timeout of wait + 10 s for the long poll.
  const milliseconds timeout = std::max<milliseconds>(impl_->options.request_timeout,
                                                      std::chrono::seconds(wait_seconds + 10));
  const Sent s = impl_->authed("GET", path, "", Retry::kYes, timeout, kMaxJobListBytes);
  if (s.response.status != 200) Impl::unexpected("GET " + path, s.response);
  return parse_offers(s.response.body);
}

std::optional<Lease> Client::assign(const std::string& id) {
  const Sent s = impl_->job_post(id, "assign", json{{"worker_address", impl_->id->address()}});
  if (s.response.status == 409) return std::nullopt;  // another worker won, or not pending
  if (s.response.status != 200) Impl::unexpected("assigning job " + id, s.response);
  return parse_lease(s.response.body);
}

Lease Client::heartbeat(const std::string& id, double progress, const std::string& message) {
  const Sent s = impl_->job_post(
      id, "heartbeat", json{{"progress", std::clamp(progress, 0.0, 1.0)}, {"message", message}});
  Impl::throw_if_missing("heartbeat for job " + id, s.response);
  if (s.response.status == 409) {
    throw_status(ErrorKind::kLeaseLost, "heartbeat for job " + std::string(id), s.response,
                 "stop working on this job and discard its result");
  }
  if (s.response.status != 200) Impl::unexpected("heartbeat for job " + id, s.response);
  return parse_lease(s.response.body);
}

void Client::complete(const std::string& id, const Completion& c) {
  json body{{"result_cid", c.result_cid},
            {"sha256", c.sha256},
            {"render_seconds", c.render_seconds},
            {"frames", c.frames}};
  // Optional (docs/protocol.md /complete): when absent the poll's values stand.
  if (!c.device.empty()) body["device"] = c.device;
  if (!c.blender.empty()) body["blender"] = c.blender;
  const Sent s = impl_->job_post(id, "complete", body);
  if (s.response.status == 409) {
    throw_status(ErrorKind::kLeaseLost, "completing job " + id, s.response,
                 "the job is no longer ours; discard the result");
  }
  if (s.response.status != 200) Impl::unexpected("completing job " + id, s.response);
  parse_success(s.response.body);
}

void Client::fail(const std::string& id, const std::string& error, bool retryable,
                  const std::string& log_tail, const std::string& code) {
  json body{{"error", error}, {"retryable", retryable}, {"log_tail", log_tail}};
  if (!code.empty()) body["code"] = code;
  const Sent s = impl_->job_post(id, "fail", body);
  Impl::throw_if_missing("reporting failure of job " + id, s.response);
  if (s.response.status == 409) {
    if (s.attempts > 1) return;  // an earlier try (unknown outcome) already ended the lease
    throw_status(ErrorKind::kLeaseLost, "reporting failure of job " + id, s.response,
                 "the job is no longer ours; nothing more to do");
  }
  if (s.response.status != 200) Impl::unexpected("reporting failure of job " + id, s.response);
  parse_success(s.response.body);
}

void Client::release(const std::string& id, const std::string& reason) {
  const Sent s = impl_->job_post(id, "release", json{{"reason", reason}});
  Impl::throw_if_missing("releasing job " + id, s.response);
  if (s.response.status == 409) {
    if (s.attempts > 1) return;  // an earlier try (unknown outcome) already released it
    throw_status(ErrorKind::kLeaseLost, "releasing job " + id, s.response,
                 "the job is no longer ours; nothing more to do");
  }
  if (s.response.status != 200) Impl::unexpected("releasing job " + id, s.response);
  parse_success(s.response.body);
}

std::string Client::worker_me(std::size_t max_reply_bytes, const std::atomic<bool>* cancel) {
  const std::string what = "GET /api/v1/workers/me";
  const Sent s = impl_->authed("GET", "/api/v1/workers/me", "", Retry::kNo,
                               impl_->options.request_timeout, max_reply_bytes, cancel);
  if (s.response.status != 200) {
    Impl::throw_if_missing(what, s.response);
    Impl::unexpected(what, s.response);
  }
  return s.response.body;
}

bool Client::probe_health() {
  http::Request req = impl_->make_request("GET", "/api/v1/health", "", "");
  req.connect_timeout = std::min<milliseconds>(impl_->options.connect_timeout, milliseconds(2000));
  req.total_timeout = milliseconds(2000);
  req.max_body_bytes = 65536;
  try {
    (void)impl_->send(req, Retry::kNo);
    return true;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kCancelled) throw;
    // Unreachable or silent: not back yet. Anything else (an oversized reply...) came over
    // HTTP from a listening backend.
    return e.kind() != ErrorKind::kNetwork && e.kind() != ErrorKind::kTimeout;
  }
}

}  // namespace farmhand::backend
