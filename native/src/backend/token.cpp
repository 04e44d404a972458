#include "farmhand/backend/token.hpp"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "farmhand/error.hpp"

namespace farmhand::backend {
namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorKind::kMalformedResponse,
              "the access token from the backend is not a JWT (" + what +
                  "); check the backend URL points at a Farmhand coordinator");
}

}  // namespace

std::optional<std::int64_t> jwt_exp_claim(std::string_view jwt) {
  const auto dot1 = jwt.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || jwt.find('.', dot2 + 1) != std::string_view::npos) {
    malformed("expected three dot-separated parts");
  }
  const std::string_view payload = jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  if (payload.empty() || sodium_init() < 0) malformed("empty payload");
  std::vector<unsigned char> bytes(payload.size());
  size_t len = 0;
  const char* end = nullptr;
  // RFC 7515 §2: base64url without padding ("=" tolerated through the ignore set).
  if (sodium_base642bin(bytes.data(), bytes.size(), payload.data(), payload.size(), "=", &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != payload.data() + payload.size()) {
    malformed("payload is not base64url");
  }
  const auto claims =
      nlohmann::json::parse(bytes.begin(), bytes.begin() + static_cast<long>(len), nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) malformed("payload is not a JSON object");
  const auto it = claims.find("exp");
  if (it == claims.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {  // NumericDate may be fractional (RFC 7519 §2)
    const double v = it->get<double>();
    if (v > -9.0e15 && v < 9.0e15) return static_cast<std::int64_t>(v);
  }
  malformed("claim exp is not a number");
}

std::chrono::milliseconds effective_lifetime(std::optional<std::int64_t> expires_in,
                                             std::optional<std::int64_t> exp_unix,
                                             std::int64_t now_unix) {
  std::int64_t seconds = expires_in.value_or(kMaxTokenLifetime.count());
  if (exp_unix.has_value() && *exp_unix > now_unix) {
    seconds = std::min(seconds, *exp_unix - now_unix);
  }
  seconds = std::clamp<std::int64_t>(seconds, 0, kMaxTokenLifetime.count());
  return std::chrono::seconds(seconds);
}

std::chrono::milliseconds refresh_margin(std::chrono::milliseconds lifetime) {
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(60), lifetime / 4);
}

}  // namespace farmhand::backend
