// Backoff schedule and Retry-After parsing. See farmhand/http/backoff.hpp.
#include "farmhand/http/backoff.hpp"

#include <curl/curl.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace farmhand::http {

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int retry, double unit) {
  const int exponent = std::max(0, retry - 1);
  const double base_ms =
      std::min(static_cast<double>(policy.max.count()),
               static_cast<double>(policy.initial.count()) * std::pow(policy.multiplier, exponent));
  const double u = std::clamp(unit, 0.0, 1.0);
  const double ms = base_ms / 2.0 + u * (base_ms / 2.0);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int retry) {
  // libsodium's generator (thread-safe, seeded by the OS) rather than std::random_device:
  // a statically linked libstdc++ would make the module need glibc 2.36 for arc4random.
  static const bool sodium_ready = sodium_init() >= 0;  // idempotent; -1 only if no entropy
  if (!sodium_ready) return backoff_delay(policy, retry, 1.0);
  constexpr uint32_t kSteps = 1U << 20;
  const double unit = static_cast<double>(randombytes_uniform(kSteps)) / kSteps;
  return backoff_delay(policy, retry, unit);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now,
                                                      std::chrono::seconds cap) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long secs = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec == std::errc::result_out_of_range) return cap;
    if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    return std::min(std::chrono::seconds(secs), cap);
  }
  const std::string date(value);
  const time_t when = curl_getdate(date.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto delta = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::from_time_t(when) - now);
  return std::clamp(delta, std::chrono::seconds(0), cap);
}

bool is_retryable_status(int status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace farmhand::http
