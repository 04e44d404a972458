// Synthetic .blend files for tests: a header, blocks, a DNA1 block and ENDB, laid out as
// farmhand/blend/blocks.hpp describes, in either byte order and pointer size. Real files
// saved by Blender 3.4 and bpy 5.0 live in tests/native/data/blend/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace farmhand::blend::testing {

/// Appends `v` as `bytes` bytes in little (or big) endian order.
inline void put(std::string& out, std::uint64_t v, int bytes, bool big = false) {
  for (int i = 0; i < bytes; ++i) {
    const int shift = 8 * (big ? bytes - 1 - i : i);
    out += static_cast<char>((v >> shift) & 0xff);
  }
}

/// A DNA1 payload from its parts; `structs` holds per struct {type, member count, then
/// (type, name) pairs}, as the STRC section stores them.
inline std::string sdna_bytes(const std::vector<std::string>& names,
                              const std::vector<std::string>& types, const std::vector<int>& sizes,
                              const std::vector<std::vector<int>>& structs, bool big = false) {
  std::string s = "SDNANAME";
  put(s, names.size(), 4, big);
  for (const auto& n : names) s += n + '\0';
  while (s.size() % 4 != 0) s += '\0';
  s += "TYPE";
  put(s, types.size(), 4, big);
  for (const auto& t : types) s += t + '\0';
  while (s.size() % 4 != 0) s += '\0';
  s += "TLEN";
  for (const int len : sizes) put(s, static_cast<std::uint64_t>(len), 2, big);
  while (s.size() % 4 != 0) s += '\0';
  s += "STRC";
  put(s, structs.size(), 4, big);
  for (const auto& st : structs) {
    for (const int v : st) put(s, static_cast<std::uint64_t>(v), 2, big);
  }
  return s;
}

/// A small valid SDNA: types char(1) int(4) Link(2 pointers) Thing Library;
/// structs 0 Link {*next, *prev}, 1 Thing {int x; char name[8]} (12 bytes),
/// 2 Library {char name[8]; char filepath[16]} (24 bytes).
inline std::string minimal_sdna(int pointer_size = 8, bool big = false) {
  return sdna_bytes({"*next", "*prev", "x", "name[8]", "filepath[16]"},
                    {"char", "int", "Link", "Thing", "Library"}, {1, 4, 2 * pointer_size, 12, 24},
                    {{2, 2, 2, 0, 2, 1}, {3, 2, 1, 2, 0, 3}, {4, 2, 0, 3, 0, 4}}, big);
}

/// Builds a .blend body block by block.
class BlendBuilder {
 public:
  /// `header`: "BLENDER-v304", "BLENDER_V279", "BLENDER17-01v0500", ...
  explicit BlendBuilder(const std::string& header = "BLENDER-v304")
      : out_(header),
        large_(header.size() == 17),
        big_(header.at(header.size() == 17 ? 12 : 8) == 'V'),
        pointer_(header.at(7) == '_' ? 4 : 8) {}

  /// Appends a block with `code` (4 bytes; "LI" is padded with NULs), SDNA struct number
  /// `sdna_nr`, count `nr` and payload `data`; `len` overrides the recorded length, `old`
  /// is the block's old pointer (the address its data had when saved).
  BlendBuilder& block(std::string code, const std::string& data, std::int64_t sdna_nr = 0,
                      std::int64_t nr = 1, std::optional<std::int64_t> len = std::nullopt,
                      std::uint64_t old = 0x1000) {
    code.resize(4, '\0');
    if (!len) len = static_cast<std::int64_t>(data.size());
    out_ += code;
    if (large_) {
      put(out_, static_cast<std::uint64_t>(sdna_nr), 4, big_);
      put(out_, old, 8, big_);
      put(out_, static_cast<std::uint64_t>(*len), 8, big_);
      put(out_, static_cast<std::uint64_t>(nr), 8, big_);
    } else {
      put(out_, static_cast<std::uint64_t>(*len), 4, big_);
      put(out_, old, pointer_, big_);
      put(out_, static_cast<std::uint64_t>(sdna_nr), 4, big_);
      put(out_, static_cast<std::uint64_t>(nr), 4, big_);
    }
    out_ += data;
    return *this;
  }
  /// Appends the DNA1 block (default: minimal_sdna for this file's layout).
  BlendBuilder& dna(const std::string& sdna = {}) {
    return block("DNA1", sdna.empty() ? minimal_sdna(pointer_, big_) : sdna);
  }
  /// Appends ENDB and returns the file.
  std::string end() {
    block("ENDB", "");
    return out_;
  }
  /// The file so far, without ENDB.
  [[nodiscard]] const std::string& bytes() const { return out_; }
  [[nodiscard]] int pointer_size() const { return pointer_; }
  [[nodiscard]] bool big_endian() const { return big_; }

 private:
  std::string out_;
  bool large_ = false;
  bool big_ = false;
  int pointer_ = 8;
};

/// The smallest complete .blend for `header`: one raw DATA block of `payload`, the SDNA,
/// ENDB.
inline std::string minimal_blend(const std::string& header = "BLENDER-v304",
                                 const std::string& payload = std::string(64, 'x')) {
  return BlendBuilder(header).block("DATA", payload).dna().end();
}

}  // namespace farmhand::blend::testing
