#include "farmhand/engine/error_policy.hpp"

#include <algorithm>
#include <cmath>

namespace farmhand::engine {

double retry_wait_s(ErrorKind kind, const Config& config) noexcept {
  return kind == ErrorKind::kAuthRejected ? config.auth_retry_s : config.network_retry_s;
}

DownloadOutcome on_download_error(ErrorKind kind) noexcept {
  return kind == ErrorKind::kCancelled ? DownloadOutcome::kRelease
                                       : DownloadOutcome::kFailRetryable;
}

std::size_t upload_api_for_attempt(int attempt, std::size_t api_count) noexcept {
  if (attempt < 0) return api_count;
  const auto api = static_cast<std::size_t>(attempt / kUploadAttemptsPerApi);
  return api < api_count ? api : api_count;
}

double jittered_s(double seconds, double unit) noexcept {
  return seconds * (0.8 + 0.4 * std::clamp(unit, 0.0, 1.0));
}

bool probe_while_waiting(ErrorKind kind, int http_status) noexcept {
  return kind == ErrorKind::kNetwork || kind == ErrorKind::kTimeout ||
         (kind == ErrorKind::kHttpStatus && http_status >= 500);
}

double heartbeat_interval_s(double configured_s, double lease_s) noexcept {
  if (!(lease_s > 0)) return configured_s;
  return std::max(1.0, std::min(configured_s, lease_s / 3.0));
}

double submit_retry_s(int attempt, double unit) noexcept {
  const double base = std::min(10.0, 0.5 * std::pow(2.0, std::clamp(attempt, 1, 16) - 1));
  return base / 2.0 + base / 2.0 * std::clamp(unit, 0.0, 1.0);
}

SubmitOutcome on_submit_error(ErrorKind kind, int http_status) noexcept {
  switch (kind) {
    case ErrorKind::kNetwork:
    case ErrorKind::kTimeout:
    case ErrorKind::kAuthRejected:
      return SubmitOutcome::kRetry;
    case ErrorKind::kLeaseLost:
      return SubmitOutcome::kDrop;
    case ErrorKind::kHttpStatus:
      if (http_status == 404) return SubmitOutcome::kDrop;
      return http_status >= 500 || http_status == 429 ? SubmitOutcome::kRetry
                                                      : SubmitOutcome::kFail;
    default:
      return SubmitOutcome::kFail;
  }
}

}  // namespace farmhand::engine
