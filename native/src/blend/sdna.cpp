// SDNA parsing and consistency checks (format in farmhand/blend/sdna.hpp).
#include "farmhand/blend/sdna.hpp"

#include <cstring>
#include <unordered_map>

#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

[[noreturn]] void corrupt(const std::string& why) {
  throw Error(ErrorKind::kBlendInvalid,
              "the file's DNA (its struct catalogue) is corrupt: " + why +
                  "; Blender would misread or crash on it, so it is refused (re-save the file)");
}

// Bounds-checked reader over the block in the file's byte order.
class Cursor {
 public:
  Cursor(std::span<const std::uint8_t> bytes, bool big) : bytes_(bytes), big_(big) {}

  void expect(const char* marker) {
    need(4, marker);
    if (std::memcmp(bytes_.data() + at_, marker, 4) != 0) {
      corrupt(std::string("no \"") + marker + "\" section marker at byte " + std::to_string(at_));
    }
    at_ += 4;
  }
  std::uint32_t u32(const char* what) {
    need(4, what);
    const auto* p = bytes_.data() + at_;
    at_ += 4;
    return big_ ? (std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
                   std::uint32_t{p[2]} << 8 | p[3])
                : (std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 |
                   std::uint32_t{p[1]} << 8 | p[0]);
  }
  std::uint16_t u16(const char* what) {
    need(2, what);
    const auto* p = bytes_.data() + at_;
    at_ += 2;
    return static_cast<std::uint16_t>(big_ ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]));
  }
  std::string cstring(const char* what) {
    const auto* start = bytes_.data() + at_;
    const auto* end = static_cast<const std::uint8_t*>(std::memchr(start, 0, bytes_.size() - at_));
    if (end == nullptr) corrupt(std::string(what) + " runs past the end of the DNA block");
    std::string s(reinterpret_cast<const char*>(start), static_cast<std::size_t>(end - start));
    at_ += s.size() + 1;
    return s;
  }
  void align4() { at_ = std::min(bytes_.size(), (at_ + 3) & ~std::size_t{3}); }
  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - at_; }

 private:
  void need(std::size_t n, const char* what) {
    if (bytes_.size() - at_ < n) corrupt(std::string(what) + " runs past the end of the DNA block");
  }
  std::span<const std::uint8_t> bytes_;
  bool big_;
  std::size_t at_ = 0;
};

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The member's bare identifier ("next" for "*next", "mat" for "mat[4][4]", "func" for
// "(*func)()"), or empty if `name` is not a declarator.
std::string_view bare_name(std::string_view name) {
  std::size_t i = 0;
  if (name.rfind("(*", 0) == 0) i = 2;
  while (i < name.size() && name[i] == '*') ++i;
  const std::size_t start = i;
  while (i < name.size() && is_ident_char(name[i])) ++i;
  return name.substr(start, i - start);
}

}  // namespace

std::optional<std::uint64_t> member_size(std::string_view name, std::uint64_t type_size,
                                         int pointer_size) {
  if (name.rfind("(*", 0) == 0) {  // function pointer "(*func)()"
    const auto close = name.find(')');
    if (close == std::string_view::npos || bare_name(name).empty()) return std::nullopt;
    return static_cast<std::uint64_t>(pointer_size);
  }
  std::size_t i = 0;
  while (i < name.size() && name[i] == '*') ++i;
  const bool pointer = i > 0;
  const std::size_t start = i;
  while (i < name.size() && is_ident_char(name[i])) ++i;
  if (i == start) return std::nullopt;
  std::uint64_t count = 1;
  while (i < name.size()) {
    if (name[i] != '[') return std::nullopt;
    ++i;
    std::uint64_t dim = 0;
    const std::size_t digits = i;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') {
      dim = dim * 10 + static_cast<std::uint64_t>(name[i] - '0');
      if (dim > (1u << 30)) return std::nullopt;
      ++i;
    }
    if (i == digits || i >= name.size() || name[i] != ']' || dim == 0) return std::nullopt;
    ++i;
    count *= dim;
    if (count > (std::uint64_t{1} << 40)) return std::nullopt;
  }
  return count * (pointer ? static_cast<std::uint64_t>(pointer_size) : type_size);
}

std::size_t Sdna::struct_size(std::size_t struct_nr) const {
  return type_sizes.at(structs.at(struct_nr).type);
}

std::optional<std::size_t> Sdna::member_offset(std::string_view struct_type,
                                               std::string_view member, int pointer_size) const {
  for (const auto& s : structs) {
    if (types[s.type] != struct_type) continue;
    std::size_t offset = 0;
    for (const auto& [type, name] : s.members) {
      if (bare_name(names[name]) == member) return offset;
      offset += static_cast<std::size_t>(*member_size(names[name], type_sizes[type], pointer_size));
    }
    return std::nullopt;
  }
  return std::nullopt;
}

Sdna parse_sdna(std::span<const std::uint8_t> block, const Header& header) {
  if (block.size() > kMaxSdnaBytes) {
    corrupt("its DNA block is " + std::to_string(block.size()) + " bytes, above the " +
            std::to_string(kMaxSdnaBytes) + " bytes any Blender writes");
  }
  Cursor c(block, header.endianness == Endianness::kBig);
  Sdna d;
  c.expect("SDNA");
  c.expect("NAME");
  const std::uint32_t n_names = c.u32("the name count");
  if (n_names > c.remaining()) corrupt("name count " + std::to_string(n_names) + " is too large");
  d.names.reserve(n_names);
  for (std::uint32_t i = 0; i < n_names; ++i) d.names.push_back(c.cstring("a member name"));
  c.align4();
  c.expect("TYPE");
  const std::uint32_t n_types = c.u32("the type count");
  if (n_types > c.remaining() || n_types > 0xffff) {
    corrupt("type count " + std::to_string(n_types) + " is too large");
  }
  d.types.reserve(n_types);
  for (std::uint32_t i = 0; i < n_types; ++i) d.types.push_back(c.cstring("a type name"));
  c.align4();
  c.expect("TLEN");
  d.type_sizes.reserve(n_types);
  for (std::uint32_t i = 0; i < n_types; ++i) d.type_sizes.push_back(c.u16("the type sizes"));
  c.align4();
  c.expect("STRC");
  const std::uint32_t n_structs = c.u32("the struct count");
  if (n_structs > c.remaining() / 4 || n_structs > 0xffff) {
    corrupt("struct count " + std::to_string(n_structs) + " is too large");
  }
  std::unordered_map<std::uint16_t, std::size_t> struct_of_type;
  d.structs.resize(n_structs);
  for (std::uint32_t s = 0; s < n_structs; ++s) {
    auto& st = d.structs[s];
    st.type = c.u16("a struct header");
    const std::uint16_t n_members = c.u16("a struct header");
    if (st.type >= n_types) {
      corrupt("struct " + std::to_string(s) + " names type " + std::to_string(st.type) + " of " +
              std::to_string(n_types));
    }
    if (!struct_of_type.emplace(st.type, s).second) {
      corrupt("type " + d.types[st.type] + " is described by two structs");
    }
    st.members.reserve(n_members);
    std::uint64_t size = 0;
    for (std::uint16_t m = 0; m < n_members; ++m) {
      const std::uint16_t type = c.u16("a struct member");
      const std::uint16_t name = c.u16("a struct member");
      if (type >= n_types || name >= n_names) {
        corrupt("member " + std::to_string(m) + " of struct " + d.types[st.type] +
                " refers to type " + std::to_string(type) + " / name " + std::to_string(name) +
                " beyond the catalogue (" + std::to_string(n_types) + " types, " +
                std::to_string(n_names) + " names)");
      }
      const auto bytes = member_size(d.names[name], d.type_sizes[type], header.pointer_size);
      if (!bytes) {
        corrupt("member name \"" + d.names[name] + "\" of struct " + d.types[st.type] +
                " is not a C declarator");
      }
      size += *bytes;
      st.members.emplace_back(type, name);
    }
    if (size != d.type_sizes[st.type]) {
      corrupt("struct " + d.types[st.type] + " records " + std::to_string(d.type_sizes[st.type]) +
              " bytes but its members add up to " + std::to_string(size));
    }
  }
  // A struct that contains itself by value (directly or through others): Blender's DNA
  // reconstruction would recurse without end. Depth-first search, 0 new, 1 open, 2 done.
  std::vector<std::uint8_t> mark(n_structs, 0);
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // (struct, next member)
  for (std::size_t root = 0; root < n_structs; ++root) {
    if (mark[root] != 0) continue;
    stack.emplace_back(root, 0);
    mark[root] = 1;
    while (!stack.empty()) {
      auto& [s, next] = stack.back();
      const auto& members = d.structs[s].members;
      if (next == members.size()) {
        mark[s] = 2;
        stack.pop_back();
        continue;
      }
      const auto [type, name] = members[next++];
      const auto& member = d.names[name];
      if (member[0] == '*' || member[0] == '(') continue;  // pointers do not nest
      const auto it = struct_of_type.find(type);
      if (it == struct_of_type.end()) continue;
      if (mark[it->second] == 1) {
        corrupt("struct " + d.types[type] + " contains itself by value");
      }
      if (mark[it->second] == 0) {
        mark[it->second] = 1;
        stack.emplace_back(it->second, 0);
      }
    }
  }
  return d;
}

}  // namespace farmhand::blend
