// Test helper: an unsigned-looking JWT ("header.payload.sig") with a chosen payload.
#pragma once

#include <sodium.h>

#include <string>

namespace farmhand::testing {

inline std::string base64url(const std::string& bytes) {
  if (sodium_init() < 0) return "";
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

inline std::string make_jwt(const std::string& payload_json) {
  return base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(payload_json) + "." +
         base64url("not-a-real-signature");
}

}  // namespace farmhand::testing
