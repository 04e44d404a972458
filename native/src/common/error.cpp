#include "farmhand/error.hpp"

namespace farmhand {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kIo:
      return "io";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kKeyFile:
      return "key_file";
    case ErrorKind::kNetwork:
      return "network";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kHttpStatus:
      return "http_status";
    case ErrorKind::kMalformedResponse:
      return "malformed_response";
    case ErrorKind::kAuthRejected:
      return "auth_rejected";
    case ErrorKind::kLeaseLost:
      return "lease_lost";
    case ErrorKind::kNotSupported:
      return "not_supported";
    case ErrorKind::kCidInvalid:
      return "cid_invalid";
    case ErrorKind::kCidMismatch:
      return "cid_mismatch";
    case ErrorKind::kBlockVerificationFailed:
      return "block_verification_failed";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kTooLarge:
      return "too_large";
    case ErrorKind::kBlendInvalid:
      return "blend_invalid";
  }
  return "unknown";
}

}  // namespace farmhand
