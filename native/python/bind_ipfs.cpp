// Placeholder until the ipfs area lands; keeps the module building.
#include "bind.hpp"

namespace farmhand::python {
void bind_ipfs(pybind11::module_& /*m*/) {}
}  // namespace farmhand::python
