// Placeholder until the identity area lands; keeps the module building.
#include "bind.hpp"

namespace farmhand::python {
void bind_identity(pybind11::module_& /*m*/) {}
}  // namespace farmhand::python
