// farmhand_core.Identity: the worker's Ed25519 key (farmhand/identity/identity.hpp).
// The secret key never crosses into Python: no attribute, method or repr exposes it, and
// there is no Python-callable signing method (only the backend client signs, and only the
// prefixed auth message).
#include <pybind11/stl/filesystem.h>

#include <memory>

#include "bind.hpp"
#include "farmhand/identity/identity.hpp"

namespace py = pybind11;

namespace farmhand::python {

void bind_identity(py::module_& m) {
  using identity::Identity;
  py::class_<Identity, std::shared_ptr<Identity>>(
      m, "Identity",
      "The worker's Ed25519 key pair. Create with Identity.load_or_create(path); the address "
      "(\"0x\" + 64 lower-case hex of the public key) is the worker's name at the backend.")
      .def_static(
          "load_or_create",
          [](const std::filesystem::path& path) {
            return std::make_shared<Identity>(Identity::load_or_create(path));
          },
          py::arg("path"), py::call_guard<py::gil_scoped_release>(),
          "Loads the key file at path (str or os.PathLike), or creates it (mode 0600, atomic "
          "write; parent directories made 0700) when it does not exist. Raises KeyFileError "
          "when the file is unreadable, malformed, or readable by group/others (the message "
          "names `chmod 600 <path>`).")
      .def_property_readonly("address", &Identity::address,
                             "\"0x\" + 64 lower-case hex characters of the public key.")
      .def("__repr__", [](const Identity& id) {
        return "<farmhand_core.Identity address=" + id.address() + ">";
      });
}

}  // namespace farmhand::python
