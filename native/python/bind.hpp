// Thin pybind11 layer: one bind_* function per area of the core, each in its own file.
// The C++ core knows nothing of Python; these files only map it.
#pragma once

#include <pybind11/pybind11.h>

namespace farmhand::python {

void bind_errors(pybind11::module_& m);      // bind_errors.cpp: exception classes + translator
void bind_identity(pybind11::module_& m);    // bind_identity.cpp: Identity
void bind_backend(pybind11::module_& m);     // bind_backend.cpp: BackendClient and job records
void bind_ipfs(pybind11::module_& m);        // bind_ipfs.cpp: submodule "ipfs"
void bind_blend(pybind11::module_& m);       // bind_blend.cpp: .blend header validation
void bind_engine(pybind11::module_& m);      // bind_engine.cpp: Engine
void bind_sandbox(pybind11::module_& m);     // bind_sandbox.cpp: submodule "sandbox"
void bind_background(pybind11::module_& m);  // bind_background.cpp: BackgroundCall

}  // namespace farmhand::python
