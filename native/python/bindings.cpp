// Module farmhand_core._native: the compiled half of the farmhand_core package.
#include "bind.hpp"
#include "farmhand/version.hpp"

PYBIND11_MODULE(_native, m) {
  m.doc() = "Farmhand native core: identity, backend client, IPFS transfer, job engine.";
  m.attr("__version__") = farmhand::kVersion;
  farmhand::python::bind_errors(m);
  farmhand::python::bind_background(m);
  farmhand::python::bind_identity(m);
  farmhand::python::bind_backend(m);
  farmhand::python::bind_ipfs(m);
  farmhand::python::bind_blend(m);
  farmhand::python::bind_engine(m);
  farmhand::python::bind_sandbox(m);
}
