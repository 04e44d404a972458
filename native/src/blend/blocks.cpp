// The BHead walk (format in farmhand/blend/blocks.hpp).
#include "farmhand/blend/blocks.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "farmhand/blend/sdna.hpp"
#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

constexpr std::size_t kLibraryBytesKept = 64 << 10;
constexpr std::size_t kMaxLibraries = 1000;
constexpr std::int64_t kMaxStructNr = 0xffff;

[[noreturn]] void broken(const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid,
              "the file's block structure does not parse: " + why +
                  "; Blender would misread or crash on it, so it is refused (re-save the file)");
}

struct BHead {
  std::array<char, 4> code{};
  std::int64_t len = 0;
  std::int64_t sdna_nr = 0;
  std::int64_t nr = 0;
};

std::uint64_t load(const std::uint8_t* p, int bytes, bool big) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= std::uint64_t{p[big ? bytes - 1 - i : i]} << (8 * i);
  }
  return v;
}

std::int64_t load_signed(const std::uint8_t* p, int bytes, bool big) {
  const std::uint64_t v = load(p, bytes, big);
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

BHead decode(const std::uint8_t* p, const Header& h) {
  const bool big = h.endianness == Endianness::kBig;
  BHead b;
  std::memcpy(b.code.data(), p, 4);
  if (h.header_size == static_cast<int>(kMaxHeaderBytes)) {  // code, SDNAnr, old, len, nr
    b.sdna_nr = load_signed(p + 4, 4, big);
    b.len = load_signed(p + 16, 8, big);
    b.nr = load_signed(p + 24, 8, big);
  } else {  // code, len, old (4 or 8), SDNAnr, nr
    const int old = h.pointer_size;
    b.len = load_signed(p + 4, 4, big);
    b.sdna_nr = load_signed(p + 8 + old, 4, big);
    b.nr = load_signed(p + 12 + old, 4, big);
  }
  return b;
}

std::string code_text(const std::array<char, 4>& code) {
  std::string out;
  for (const char c : code) {
    if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      out += "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xf]) +
             std::string(1, "0123456789abcdef"[c & 0xf]);
    }
  }
  return out;
}

bool is(const std::array<char, 4>& code, const char (&want)[5]) {
  return std::memcmp(code.data(), want, 4) == 0;
}

// Exactly n bytes into `out` or the file is truncated.
void read_exact(DecompressedStream& s, std::span<std::uint8_t> out, const std::string& what) {
  std::size_t got = 0;
  while (got < out.size()) {
    const std::size_t n = s.read(out.subspan(got));
    if (n == 0) broken("the file ends inside " + what + " (truncated?)");
    got += n;
  }
}

// The NUL-terminated path at `offset` of an LI block, printable and at most 300 characters.
std::string library_path(const std::vector<std::uint8_t>& data, std::optional<std::size_t> at) {
  if (!at || *at >= data.size()) return {};
  std::string out;
  for (std::size_t i = *at; i < data.size() && data[i] != 0 && out.size() < 300; ++i) {
    const auto c = data[i];
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace

int block_header_size(const Header& header) noexcept {
  if (header.header_size == static_cast<int>(kMaxHeaderBytes)) return 32;
  return header.pointer_size == 4 ? 20 : 24;
}

BlockSummary scan_blocks(DecompressedStream& stream, const Header& header) {
  std::array<std::uint8_t, kMaxHeaderBytes> file_header{};
  read_exact(stream, std::span(file_header.data(), static_cast<std::size_t>(header.header_size)),
             "its file header");
  const auto bhead_size = static_cast<std::size_t>(block_header_size(header));
  BlockSummary out;
  std::vector<std::uint8_t> dna;
  bool have_dna = false;
  std::vector<std::vector<std::uint8_t>> libraries;
  // Per struct number: the fewest bytes any block gave one of its structs (len / nr).
  std::unordered_map<std::int64_t, std::int64_t> min_bytes_per_struct;
  std::int64_t max_sdna_nr = 0;
  std::array<std::uint8_t, 32> raw{};
  for (;;) {
    const std::uint64_t at = stream.produced();
    read_exact(stream, std::span(raw.data(), bhead_size),
               "the header of block " + std::to_string(out.blocks + 1));
    const BHead b = decode(raw.data(), header);
    ++out.blocks;
    const std::string where = "block " + std::to_string(out.blocks) + " (\"" + code_text(b.code) +
                              "\" at byte " + std::to_string(at) + ")";
    if (b.len < 0 || b.nr < 0) {
      broken(where + " has a negative length (" + std::to_string(b.len) + ") or count (" +
             std::to_string(b.nr) + ")");
    }
    if (b.sdna_nr < 0 || b.sdna_nr > kMaxStructNr) {
      broken(where + " names struct " + std::to_string(b.sdna_nr) + ", outside any SDNA");
    }
    if (is(b.code, "ENDB")) break;
    max_sdna_nr = std::max(max_sdna_nr, b.sdna_nr);
    const auto len = static_cast<std::uint64_t>(b.len);
    if (is(b.code, "DNA1")) {
      if (have_dna) broken(where + " is a second DNA block");
      if (len > kMaxSdnaBytes) {
        broken(where + " is a DNA block of " + std::to_string(len) + " bytes, above the " +
               std::to_string(kMaxSdnaBytes) + " any Blender writes");
      }
      dna.resize(static_cast<std::size_t>(len));
      read_exact(stream, dna, where);
      have_dna = true;
      continue;
    }
    if (is(b.code, "LI\0\0")) {
      if (libraries.size() >= kMaxLibraries) broken("more than 1000 linked-library blocks");
      auto& kept = libraries.emplace_back(std::min<std::uint64_t>(len, kLibraryBytesKept));
      read_exact(stream, kept, where);
      if (stream.skip(len - kept.size()) != len - kept.size()) {
        broken("the file ends inside " + where + " (truncated?)");
      }
      continue;
    }
    if (b.sdna_nr > 0 && b.nr > 0) {
      auto [it, fresh] = min_bytes_per_struct.emplace(b.sdna_nr, b.len / b.nr);
      if (!fresh) it->second = std::min(it->second, b.len / b.nr);
    }
    if (stream.skip(len) != len) broken("the file ends inside " + where + " (truncated?)");
  }
  std::array<std::uint8_t, 1> extra{};
  if (stream.read(extra) != 0) {
    broken("there is data after the end block ENDB at byte " +
           std::to_string(stream.produced() - 1));
  }
  if (!have_dna) broken("it has no DNA block (DNA1), so its structs cannot be read");
  const Sdna sdna = parse_sdna(dna, header);
  if (sdna.structs.empty() || static_cast<std::size_t>(max_sdna_nr) >= sdna.structs.size()) {
    broken("a block names struct " + std::to_string(max_sdna_nr) + " but the SDNA has " +
           std::to_string(sdna.structs.size()));
  }
  for (const auto& [nr, bytes] : min_bytes_per_struct) {
    const auto size = static_cast<std::int64_t>(sdna.struct_size(static_cast<std::size_t>(nr)));
    if (bytes < size) {
      broken("a block of " + sdna.types[sdna.structs[static_cast<std::size_t>(nr)].type] +
             " structs gives each only " + std::to_string(bytes) + " of its " +
             std::to_string(size) + " bytes");
    }
  }
  auto path_at = sdna.member_offset("Library", "filepath", header.pointer_size);
  if (!path_at) path_at = sdna.member_offset("Library", "name", header.pointer_size);
  for (const auto& lib : libraries) out.libraries.push_back(library_path(lib, path_at));
  out.sdna_structs = sdna.structs.size();
  out.decompressed_bytes = stream.produced();
  return out;
}

}  // namespace farmhand::blend
