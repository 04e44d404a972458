// Every HTTP call of the core goes through http::Client (libcurl easy interface).
//
// One Client per thread: it keeps one curl handle so connections are reused
// (HTTP/1.1 keep-alive). TLS peer and host verification are always on, against the
// system CA store; there is no switch to turn them off. Redirects are not followed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace farmhand::http {

/// "farmhand/<version>", e.g. "farmhand/0.1.0" (version from the VERSION file).
std::string default_user_agent();

/// Percent-encodes every byte except RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~), for a
/// URL path segment, query value or multipart filename.
std::string percent_encode(std::string_view s);

/// One part of a multipart/form-data body (RFC 7578), as kubo's /api/v0/add expects.
struct MultipartPart {
  std::string name = "file";   // form field name
  std::string filename;        // e.g. "frames/frame_0001.png"; percent-encoded by the client
                               // (every byte but A-Z a-z 0-9 - . _ ~), kubo unescapes it
  std::string content_type;    // "application/octet-stream" or "application/x-directory"
  std::filesystem::path file;  // streamed from disk while sending; empty for a directory entry
  /// If set (and `file` empty), the part's `size` bytes are read from here while sending
  /// instead of from a file: fill up to `max` bytes at `buf`, return how many (0 only at
  /// the end). Called again from the start after `rewind` when libcurl must resend the
  /// body. An exception thrown here aborts the transfer; perform() rethrows it unchanged.
  std::function<std::size_t(char* buf, std::size_t max)> read = nullptr;
  std::function<void()> rewind = nullptr;  // with `read`: the next read starts at byte 0
  uint64_t size = 0;                       // bytes `read` yields in all
};

struct Response;

struct Request {
  std::string method = "GET";                                // GET, POST, HEAD, PUT, DELETE, ...
  std::string url;                                           // http:// or https:// only
  std::vector<std::pair<std::string, std::string>> headers;  // sent in this order
  std::string body;                                          // sent as-is when non-empty
  std::vector<MultipartPart> multipart;  // if non-empty: multipart body instead of `body`
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};  // whole exchange, 0 = no limit
  /// Largest reply body kept in Response::body, in bytes; a larger reply aborts the transfer
  /// with Error kMalformedResponse. Not applied when `on_body` is set (the consumer decides).
  std::size_t max_body_bytes = 1 << 20;
  /// If set, the body is streamed here chunk by chunk and not kept. Return false to abort:
  /// perform() then throws kCancelled. An exception thrown here aborts the transfer and is
  /// rethrown by perform() unchanged.
  std::function<bool(std::string_view)> on_body;
  /// With on_body: called once before the first body chunk with the final status and
  /// headers (Response::body empty). Return false to abort: perform() throws kCancelled.
  std::function<bool(const Response& head)> on_head;
  /// If non-zero: a transfer that moves no byte for this long fails with kTimeout (for
  /// streams with total_timeout 0).
  std::chrono::milliseconds stall_timeout{0};
  /// Polled during the transfer (at least once a second); true -> Error kCancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct Response {
  int status = 0;  // HTTP status code of the final response
  std::string body;
  /// Lower-case header names; HTTP trailers (chunked encoding, RFC 9112 §7.1.2) included.
  /// A name received twice keeps both values joined by ", " (RFC 9110 §5.3).
  std::map<std::string, std::string> headers;

  /// The header's value, or "" when absent. `name` must be lower-case.
  [[nodiscard]] std::string header(const std::string& name) const;
  /// The first `max_chars` characters of the body, for error messages (control chars -> ' ').
  [[nodiscard]] std::string body_excerpt(std::size_t max_chars = 200) const;
};

class Client {
 public:
  explicit Client(std::string user_agent = default_user_agent());
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Performs one exchange. Never throws for an HTTP status: the caller reads
  /// Response::status. Throws farmhand::Error with kind
  ///   kInvalidArgument  malformed URL or unsupported scheme,
  ///   kIo               a multipart file cannot be read,
  ///   kNetwork          connection refused/reset, DNS or TLS failure,
  ///   kTimeout          connect_timeout or total_timeout elapsed,
  ///   kCancelled        `cancel` was set or `on_body` returned false,
  ///   kMalformedResponse the kept body exceeded max_body_bytes.
  Response perform(const Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace farmhand::http
