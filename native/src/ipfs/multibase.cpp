#include "farmhand/ipfs/multibase.hpp"

#include <cstdint>
#include <vector>

namespace farmhand::ipfs {
namespace {

constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";

int digit_value(char c, std::string_view alphabet) {
  const auto pos = alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Big-number base conversion of `digits` (each < from_base) into bytes (base 256);
// `zero_digit_count` leading zero digits become leading zero bytes.
std::string digits_to_bytes(const std::vector<int>& digits, int from_base) {
  std::size_t zeros = 0;
  while (zeros < digits.size() && digits[zeros] == 0) ++zeros;
  std::vector<uint8_t> out;  // little-endian base-256 accumulator
  for (std::size_t i = zeros; i < digits.size(); ++i) {
    uint32_t carry = static_cast<uint32_t>(digits[i]);
    for (auto& b : out) {
      carry += static_cast<uint32_t>(b) * static_cast<uint32_t>(from_base);
      b = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      out.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::string result(zeros, '\0');
  result.append(out.rbegin(), out.rend());
  return result;
}

}  // namespace

std::string base58btc_encode(std::string_view bytes) {
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == '\0') ++zeros;
  std::vector<uint8_t> digits;  // little-endian base-58
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = static_cast<uint8_t>(bytes[i]);
    for (auto& d : digits) {
      carry += static_cast<uint32_t>(d) << 8;
      d = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kBase58[*it]);
  return out;
}

std::optional<std::string> base58btc_decode(std::string_view text) {
  std::vector<int> digits;
  digits.reserve(text.size());
  for (char c : text) {
    const int v = digit_value(c, kBase58);
    if (v < 0) return std::nullopt;
    digits.push_back(v);
  }
  return digits_to_bytes(digits, 58);
}

std::string base32_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
  // Valid unpadded lengths leave 0, 2, 4, 5 or 7 characters in the last group of 8.
  const std::size_t rem = text.size() % 8;
  if (rem == 1 || rem == 3 || rem == 6) return std::nullopt;
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const int v = digit_value(c, kBase32);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::optional<std::string> base36_decode(std::string_view text) {
  constexpr std::string_view kBase36 = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::vector<int> digits;
  digits.reserve(text.size());
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const int v = digit_value(c, kBase36);
    if (v < 0) return std::nullopt;
    digits.push_back(v);
  }
  return digits_to_bytes(digits, 36);
}

}  // namespace farmhand::ipfs
