// Multibase encodings used for CIDs (multiformats/multibase, "multibase.csv"):
// base58btc ('z', and the prefix-less CIDv0 form), base32 lower-case RFC 4648 without
// padding ('b'), base36 lower-case ('k', parse only).
//
// These functions handle the body only, never the one-character multibase prefix.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace farmhand::ipfs {

/// Bitcoin base58 alphabet; leading zero bytes become leading '1's.
[[nodiscard]] std::string base58btc_encode(std::string_view bytes);
/// nullopt if `text` holds a character outside the alphabet.
[[nodiscard]] std::optional<std::string> base58btc_decode(std::string_view text);

/// RFC 4648 section 6 alphabet in lower case, no padding.
[[nodiscard]] std::string base32_encode(std::string_view bytes);
/// Accepts lower or upper case, no padding; nullopt on a bad character or bad length.
[[nodiscard]] std::optional<std::string> base32_decode(std::string_view text);

/// Base36 "0-9a-z" (case-insensitive); leading '0's become leading zero bytes.
[[nodiscard]] std::optional<std::string> base36_decode(std::string_view text);

}  // namespace farmhand::ipfs
