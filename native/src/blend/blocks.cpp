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
constexpr std::size_t kGlobBytesKept = 64 << 10;
constexpr std::size_t kSceneBytesKept = 1 << 10;  // ID.name ends at byte 106 (3.4), 298 (5.x)
constexpr std::size_t kMaxScenes = 10000;
constexpr std::size_t kFontBytesKept = 4 << 10;  // VFont.packedfile ends at byte 1128 (3.4)
constexpr std::size_t kMaxFonts = 10000;
constexpr std::size_t kPathChars = 300;

[[noreturn]] void broken(const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid,
              "the file's block structure does not parse: " + why +
                  "; Blender would misread or crash on it, so it is refused (re-save the file)");
}

struct BHead {
  std::array<char, 4> code{};
  std::uint64_t old = 0;  // the address the block's data had when saved
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
    b.old = load(p + 8, 8, big);
    b.len = load_signed(p + 16, 8, big);
    b.nr = load_signed(p + 24, 8, big);
  } else {  // code, len, old (4 or 8), SDNAnr, nr
    const int old = h.pointer_size;
    b.len = load_signed(p + 4, 4, big);
    b.old = load(p + 8, old, big);
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

// The NUL-terminated string at `at` of a block's kept bytes (an LI block's path, a VF
// block's path or name), printable and at most kPathChars characters.
std::string library_path(const std::vector<std::uint8_t>& data, std::optional<std::size_t> at) {
  if (!at || *at >= data.size()) return {};
  std::string out;
  for (std::size_t i = *at; i < data.size() && data[i] != 0 && out.size() < kPathChars; ++i) {
    const auto c = data[i];
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates).
bool is_utf8(const std::string& text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;  // the sequence runs past the end
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

// The name of the scene whose block's old pointer FileGlobal.curscene holds, or "" (see
// BlockSummary::current_scene). `glob`: the GLOB block's first bytes; `scenes`: (old pointer,
// first bytes) of each SC block.
std::string current_scene_name(
    const Sdna& sdna, const Header& header, const std::vector<std::uint8_t>& glob,
    const std::vector<std::pair<std::uint64_t, std::vector<std::uint8_t>>>& scenes) {
  const int ptr = header.pointer_size;
  const auto cur_at = sdna.member_offset("FileGlobal", "curscene", ptr);
  const auto id_at = sdna.member_offset("Scene", "id", ptr);
  const auto name_at = sdna.member_offset("ID", "name", ptr);
  if (!cur_at || !id_at || !name_at || *cur_at + static_cast<std::size_t>(ptr) > glob.size()) {
    return {};
  }
  const std::uint64_t current =
      load(glob.data() + *cur_at, ptr, header.endianness == Endianness::kBig);
  if (current == 0) return {};
  const std::size_t at = *id_at + *name_at + 2;  // past the ID code "SC"
  for (const auto& [old, data] : scenes) {
    if (old != current || at >= data.size()) continue;
    std::string name;
    for (std::size_t i = at; i < data.size() && data[i] != 0 && name.size() < 256; ++i) {
      name += static_cast<char>(data[i]);
    }
    return is_utf8(name) ? name : std::string{};
  }
  return {};
}

constexpr std::size_t kFontDataBlocksKept = 4096;

// A font block as read: its first bytes and the old addresses of the DATA blocks that
// follow it (its direct data: Blender writes an ID's ID properties and then its PackedFile
// right after the ID's block, vfont.cc `vfont_blend_write`).
struct FontBlock {
  std::vector<std::uint8_t> data;
  std::vector<std::uint64_t> data_blocks;  // at most kFontDataBlocksKept
};

// The fonts of `fonts` that Blender would read from a file (readfile.cc's VFont loading:
// `BKE_vfont_load` reads `filepath` unless `packedfile` resolves to a block): neither packed
// nor the built-in font ("<builtin>", Blender's `FO_BUILTIN_NAME`). A packedfile pointer
// that names no block of the file counts as unpacked (Blender's pointer remapping makes it
// NULL, and the font is read from its path); so does one that names a block other than the
// font's own direct data (not written by Blender). Without the members in the SDNA every
// font is reported, so an unknown layout fails closed.
std::vector<UnpackedFont> unpacked_fonts(const Sdna& sdna, const Header& header,
                                         const std::vector<FontBlock>& fonts) {
  const int ptr = header.pointer_size;
  auto path_at = sdna.member_offset("VFont", "filepath", ptr);
  if (!path_at) path_at = sdna.member_offset("VFont", "name", ptr);
  const auto packed_at = sdna.member_offset("VFont", "packedfile", ptr);
  const auto id_at = sdna.member_offset("VFont", "id", ptr);
  const auto name_at = sdna.member_offset("ID", "name", ptr);
  std::vector<UnpackedFont> out;
  for (const auto& font : fonts) {
    const std::string path = library_path(font.data, path_at);
    if (path == "<builtin>") continue;
    if (packed_at && *packed_at + static_cast<std::size_t>(ptr) <= font.data.size()) {
      const std::uint64_t packed =
          load(font.data.data() + *packed_at, ptr, header.endianness == Endianness::kBig);
      if (packed != 0 && std::find(font.data_blocks.begin(), font.data_blocks.end(), packed) !=
                             font.data_blocks.end()) {
        continue;
      }
    }
    std::string name;
    if (id_at && name_at) name = library_path(font.data, *id_at + *name_at + 2);
    out.push_back({name, path});
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
  std::vector<std::uint8_t> glob;
  bool have_glob = false;
  std::vector<std::pair<std::uint64_t, std::vector<std::uint8_t>>> scenes;
  bool too_many_scenes = false;
  std::vector<FontBlock> fonts;
  std::vector<std::vector<std::uint8_t>> cache_files;
  bool after_font = false;  // the blocks since the last VF block are all DATA
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
    after_font = after_font && is(b.code, "DATA");
    if (after_font && fonts.back().data_blocks.size() < kFontDataBlocksKept) {
      fonts.back().data_blocks.push_back(b.old);
    }
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
    // The block's first `limit` bytes into `kept`, the rest skipped, its structs' size noted.
    const auto keep_head = [&](std::vector<std::uint8_t>& kept, std::size_t limit) {
      kept.resize(static_cast<std::size_t>(std::min<std::uint64_t>(len, limit)));
      read_exact(stream, kept, where);
      if (stream.skip(len - kept.size()) != len - kept.size()) {
        broken("the file ends inside " + where + " (truncated?)");
      }
      if (b.sdna_nr > 0 && b.nr > 0) {
        auto [it, fresh] = min_bytes_per_struct.emplace(b.sdna_nr, b.len / b.nr);
        if (!fresh) it->second = std::min(it->second, b.len / b.nr);
      }
    };
    if (is(b.code, "CF\0\0")) {  // a CacheFile: its first bytes (ID and filepath)
      if (cache_files.size() >= kMaxFonts) broken("more than 10000 cache file (CF) blocks");
      keep_head(cache_files.emplace_back(), kFontBytesKept);
      continue;
    }
    if (is(b.code, "VF\0\0")) {
      if (fonts.size() >= kMaxFonts) broken("more than 10000 font (VF) blocks");
      keep_head(fonts.emplace_back().data, kFontBytesKept);
      after_font = true;
      continue;
    }
    const bool first_glob = is(b.code, "GLOB") && !have_glob;
    const bool scene = is(b.code, "SC\0\0");
    if (scene && scenes.size() >= kMaxScenes) too_many_scenes = true;
    if (first_glob || (scene && !too_many_scenes)) {
      std::vector<std::uint8_t> kept(
          std::min<std::uint64_t>(len, first_glob ? kGlobBytesKept : kSceneBytesKept));
      read_exact(stream, kept, where);
      if (first_glob) {
        glob = std::move(kept);
        have_glob = true;
      } else {
        scenes.emplace_back(b.old, std::move(kept));
      }
      if (b.sdna_nr > 0 && b.nr > 0) {
        auto [it, fresh] = min_bytes_per_struct.emplace(b.sdna_nr, b.len / b.nr);
        if (!fresh) it->second = std::min(it->second, b.len / b.nr);
      }
      const std::uint64_t rest = len - (first_glob ? glob.size() : scenes.back().second.size());
      if (stream.skip(rest) != rest) broken("the file ends inside " + where + " (truncated?)");
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
  out.unpacked_fonts = unpacked_fonts(sdna, header, fonts);
  auto cache_path_at = sdna.member_offset("CacheFile", "filepath", header.pointer_size);
  for (const auto& cf : cache_files) out.cache_files.push_back(library_path(cf, cache_path_at));
  if (!too_many_scenes) out.current_scene = current_scene_name(sdna, header, glob, scenes);
  out.sdna_structs = sdna.structs.size();
  out.decompressed_bytes = stream.produced();
  return out;
}

}  // namespace farmhand::blend
