// SDNA: the struct catalogue a .blend carries in its DNA1 block.
//
// Format rule source: Blender's `source/blender/makesdna/intern/dna_genfile.cc`
// (`init_structDNA`) and `makesdna.cc` (the writer). The block is, in the file's byte order:
//
//   "SDNA" "NAME" int32 n  n NUL-terminated member names ("*next", "mat[4][4]", "(*func)()")
//          pad to 4   "TYPE" int32 t  t NUL-terminated type names ("char", "Object")
//          pad to 4   "TLEN" int16[t] type sizes in bytes
//          pad to 4   "STRC" int32 s  s structs: int16 type, int16 member count,
//                                     then per member int16 type, int16 name
//
// makesdna refuses structs with implicit padding, so a struct's size is exactly the sum of
// its members (pointer members take the file's pointer size, arrays multiply). parse_sdna
// checks that for every struct, which catches corruption anywhere in the catalogue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "farmhand/blend/header.hpp"

namespace farmhand::blend {

/// One struct of the catalogue: its type and members (indices into Sdna::types/names).
struct SdnaStruct {
  std::uint16_t type = 0;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> members;  // (type, name)
};

/// The parsed catalogue. Sizes are in bytes.
struct Sdna {
  std::vector<std::string> names;
  std::vector<std::string> types;
  std::vector<std::uint16_t> type_sizes;  // parallel to types
  std::vector<SdnaStruct> structs;

  /// Size of struct number `struct_nr` (a block header's SDNAnr), bytes.
  [[nodiscard]] std::size_t struct_size(std::size_t struct_nr) const;
  /// Byte offset of the first member of struct type `struct_type` whose name, without
  /// pointer stars and array brackets, is `member`; nullopt if the type or member is absent.
  [[nodiscard]] std::optional<std::size_t> member_offset(std::string_view struct_type,
                                                         std::string_view member,
                                                         int pointer_size) const;
};

/// Largest DNA1 block accepted, bytes. Blender 5.0's own is 132 KB; 32 MiB bounds the memory
/// a hostile file can make us hold.
inline constexpr std::size_t kMaxSdnaBytes = 32u << 20;

/// Parses and checks a DNA1 block's payload for a file with `header`'s pointer size and byte
/// order. Throws Error kBlendInvalid saying what is wrong: a missing section marker, a count
/// or string running past the block, a type or name index out of range, a member name that is
/// not a C declarator, a struct whose members do not add up to its recorded size, or a
/// struct that contains itself by value (Blender would recurse forever reading it).
Sdna parse_sdna(std::span<const std::uint8_t> block, const Header& header);

/// Size in bytes of one member named `name` ("*next", "mat[4][4]") of a type `type_size`
/// bytes long; nullopt if `name` is not a well-formed declarator.
std::optional<std::uint64_t> member_size(std::string_view name, std::uint64_t type_size,
                                         int pointer_size);

}  // namespace farmhand::blend
