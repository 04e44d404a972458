// The closed set of failures the core can report.
//
// Every error that leaves the core is a farmhand::Error carrying one ErrorKind.
// The Python bindings map each kind to its own exception class
// (farmhand_core.NetworkError, farmhand_core.ipfs.CidMismatch, ...), so a caller
// can react to the kind without parsing messages. Messages are written for a
// person: what went wrong, with which input, and what to do about it.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace farmhand {

enum class ErrorKind {
  // Generic
  kInvalidArgument,  // a caller passed something unusable (bad URL, bad config value)
  kIo,               // local filesystem failure (open, write, rename)
  kCancelled,        // the operation was cancelled by the caller
  // Identity
  kKeyFile,  // key file unreadable, malformed, or readable by group/others
  // HTTP / backend
  kNetwork,            // connection refused, DNS failure, TLS failure, reset
  kTimeout,            // connect or total timeout elapsed
  kHttpStatus,         // unexpected HTTP status (see Error::http_status())
  kMalformedResponse,  // body is not the JSON shape the protocol promises
  kAuthRejected,       // the backend refused our challenge/signature/token
  kLeaseLost,          // heartbeat/complete answered 409: the job is no longer ours
  kNotSupported,       // the backend does not offer this endpoint (404 not_found / 405)
  // IPFS
  kCidInvalid,               // a CID string that does not parse
  kCidMismatch,              // bytes hash to a different CID than expected
  kBlockVerificationFailed,  // a fetched block does not match its CID, or its DAG is inconsistent
  kNotFound,                 // no configured source serves the CID
  kTooLarge,                 // content larger than the configured maximum
  // Job files
  kBlendInvalid,  // not a .blend we can render (bad header, too new, corrupt compression)
};

/// Stable, snake_case name of a kind ("lease_lost"); used in logs and job failure reasons.
std::string_view to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, int http_status = 0)
      : std::runtime_error(message), kind_(kind), http_status_(http_status) {}

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  /// The HTTP status for kHttpStatus/kAuthRejected/kLeaseLost errors, else 0.
  [[nodiscard]] int http_status() const noexcept { return http_status_; }

 private:
  ErrorKind kind_;
  int http_status_;
};

}  // namespace farmhand
