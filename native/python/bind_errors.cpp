// Maps farmhand::Error (one ErrorKind each) to a Python exception class per kind.
//
// Hierarchy (all importable from farmhand_core):
//   FarmhandError(Exception)          .kind: str (ErrorKind name), .http_status: int (0 if none)
//     InvalidArgument(+ValueError), IoError(+OSError), Cancelled, KeyFileError,
//     BackendError: NetworkError, Timeout, HttpStatusError, MalformedResponse,
//                   AuthRejected, LeaseLost, NotSupported
//     IpfsError:    CidInvalid(+ValueError), CidMismatch, BlockVerificationFailed,
//                   NotFound, TooLarge
//     BlendInvalid
#include <array>
#include <utility>

#include "bind.hpp"
#include "farmhand/error.hpp"

namespace py = pybind11;

namespace farmhand::python {
namespace {

// Created once at import; the module keeps them alive.
std::array<PyObject*, 17> g_classes{};

PyObject* make_class(py::module_& m, const char* name, PyObject* base, PyObject* extra_base,
                     const char* doc) {
  py::tuple bases = extra_base != nullptr ? py::make_tuple(py::handle(base), py::handle(extra_base))
                                          : py::make_tuple(py::handle(base));
  py::dict ns;
  ns["__doc__"] = doc;
  ns["__module__"] = "farmhand_core";
  py::object cls = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyType_Type))(
      name, bases, ns);
  m.attr(name) = cls;
  return cls.release().ptr();
}

}  // namespace

void bind_errors(py::module_& m) {
  PyObject* base = make_class(m, "FarmhandError", PyExc_Exception, nullptr,
                              "Base of every error raised by farmhand_core. Attributes: kind "
                              "(str, e.g. 'lease_lost') and http_status (int, 0 when none).");
  PyObject* backend = make_class(m, "BackendError", base, nullptr,
                                 "A call to the coordinator (backend API) failed.");
  PyObject* ipfs = make_class(m, "IpfsError", base, nullptr, "An IPFS transfer or CID failed.");

  auto set = [&](ErrorKind kind, const char* name, PyObject* parent, PyObject* extra,
                 const char* doc) {
    g_classes.at(static_cast<size_t>(kind)) = make_class(m, name, parent, extra, doc);
  };
  set(ErrorKind::kInvalidArgument, "InvalidArgument", base, PyExc_ValueError,
      "A caller-supplied value is unusable.");
  set(ErrorKind::kIo, "IoError", base, PyExc_OSError, "A local file operation failed.");
  set(ErrorKind::kCancelled, "Cancelled", base, nullptr, "The operation was cancelled.");
  set(ErrorKind::kKeyFile, "KeyFileError", base, nullptr,
      "The worker key file is unreadable, malformed or has unsafe permissions.");
  set(ErrorKind::kNetwork, "NetworkError", backend, nullptr,
      "Connection refused, DNS or TLS failure, or connection reset.");
  set(ErrorKind::kTimeout, "Timeout", backend, nullptr, "A connect or total timeout elapsed.");
  set(ErrorKind::kHttpStatus, "HttpStatusError", backend, nullptr,
      "The server answered with an unexpected HTTP status (see http_status).");
  set(ErrorKind::kMalformedResponse, "MalformedResponse", backend, nullptr,
      "The server's reply is not the JSON the protocol promises.");
  set(ErrorKind::kAuthRejected, "AuthRejected", backend, nullptr,
      "The backend refused the challenge, signature or token.");
  set(ErrorKind::kLeaseLost, "LeaseLost", backend, nullptr,
      "The job's lease is no longer ours (HTTP 409): abandon the job.");
  set(ErrorKind::kNotSupported, "NotSupported", backend, nullptr,
      "The backend does not offer this endpoint (HTTP 404 not_found or 405), e.g. a "
      "seed-literal backend without heartbeat/fail/release.");
  set(ErrorKind::kCidInvalid, "CidInvalid", ipfs, PyExc_ValueError, "A CID that does not parse.");
  set(ErrorKind::kCidMismatch, "CidMismatch", ipfs, nullptr,
      "Content hashes to a different CID than expected.");
  set(ErrorKind::kBlockVerificationFailed, "BlockVerificationFailed", ipfs, nullptr,
      "A fetched block does not match its CID or its DAG is inconsistent.");
  set(ErrorKind::kNotFound, "NotFound", ipfs, nullptr, "No configured source serves the CID.");
  set(ErrorKind::kTooLarge, "TooLarge", ipfs, nullptr,
      "Content is larger than the configured maximum.");
  set(ErrorKind::kBlendInvalid, "BlendInvalid", base, nullptr,
      "The job file is not a .blend this Blender can render.");

  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* cls = g_classes.at(static_cast<size_t>(e.kind()));
      py::object exc = py::reinterpret_borrow<py::object>(cls)(e.what());
      exc.attr("kind") = std::string(to_string(e.kind()));
      exc.attr("http_status") = e.http_status();
      PyErr_SetObject(cls, exc.ptr());
    }
  });
}

}  // namespace farmhand::python
