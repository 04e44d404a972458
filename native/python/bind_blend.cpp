// Placeholder until the blend area lands; keeps the module building.
#include "bind.hpp"

namespace farmhand::python {
void bind_blend(pybind11::module_& /*m*/) {}
}  // namespace farmhand::python
