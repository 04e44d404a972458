#include "farmhand/engine/error_policy.hpp"

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

bool retry_submission(int attempt, ErrorKind kind) noexcept {
  return kind != ErrorKind::kLeaseLost && attempt < kSubmitAttempts;
}

}  // namespace farmhand::engine
