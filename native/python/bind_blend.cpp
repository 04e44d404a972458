// farmhand_core.blend: .blend header inspection and validation (farmhand/blend/validate.hpp).
#include <pybind11/stl/filesystem.h>

#include "bind.hpp"
#include "farmhand/blend/validate.hpp"

namespace py = pybind11;

namespace farmhand::python {
namespace {

py::dict to_dict(const blend::Header& h) {
  py::dict d;
  d["version"] = h.version;
  d["version_name"] = blend::version_name(h.version);
  d["pointer_size"] = h.pointer_size;
  d["endianness"] = blend::to_string(h.endianness);
  d["compression"] = blend::to_string(h.compression);
  d["header_size"] = h.header_size;
  return d;
}

}  // namespace

void bind_blend(py::module_& m) {
  auto sub = m.def_submodule("blend", ".blend header inspection and validation.");
  sub.def(
      "inspect",
      [](const std::filesystem::path& path, std::uint64_t max_bytes) {
        blend::Header h;
        {
          py::gil_scoped_release release;
          h = blend::inspect_file(path, max_bytes);
        }
        return to_dict(h);
      },
      py::arg("path"), py::arg("max_bytes") = std::uint64_t{2} << 30,
      "Reads the header of a .blend (plain, gzip or zstd; only the header bytes are "
      "decompressed). Returns {version: int (304 = 3.4), version_name: str, pointer_size: int "
      "(bytes), endianness: 'little'|'big', compression: 'none'|'gzip'|'zstd', header_size: int "
      "(bytes)}. Raises BlendInvalid (too large, truncated, not a .blend, corrupt compression) "
      "or IoError.");
  sub.def(
      "validate",
      [](const std::filesystem::path& path, std::uint64_t max_bytes, int running_version) {
        blend::Validated v;
        {
          py::gil_scoped_release release;
          v = blend::validate_structure(path, max_bytes, running_version);
        }
        py::dict d = to_dict(v.header);
        d["blocks"] = v.blocks.blocks;
        d["decompressed_bytes"] = v.blocks.decompressed_bytes;
        d["sdna_structs"] = v.blocks.sdna_structs;
        d["current_scene"] = v.blocks.current_scene;
        return d;
      },
      py::arg("path"), py::arg("max_bytes"), py::arg("running_version"),
      "inspect(), then raises BlendInvalid naming both versions if the file was saved by a "
      "Blender newer than running_version (e.g. 304 for 3.4), then decompresses the whole file "
      "as a stream (at most max_bytes) and walks its block structure: raises BlendInvalid if "
      "it decompresses to more than max_bytes, if its blocks or SDNA do not parse, or if it "
      "links libraries (LI blocks) or uses a font not packed into it (VF blocks: Blender reads "
      "the font file while opening the .blend). Returns inspect()'s dict plus blocks (int), "
      "decompressed_bytes (int), sdna_structs (int) and current_scene (str: the scene the "
      "file was saved with, FileGlobal.curscene; '' if the file does not say).");
}

}  // namespace farmhand::python
