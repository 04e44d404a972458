// Placeholder until the engine area lands; keeps the module building.
#include "bind.hpp"

namespace farmhand::python {
void bind_engine(pybind11::module_& /*m*/) {}
}  // namespace farmhand::python
