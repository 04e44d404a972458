// Placeholder until the backend area lands; keeps the module building.
#include "bind.hpp"

namespace farmhand::python {
void bind_backend(pybind11::module_& /*m*/) {}
}  // namespace farmhand::python
