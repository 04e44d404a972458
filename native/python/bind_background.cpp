// farmhand_core.BackgroundCall (background_call.hpp): a core call on a C++ thread of its own.
#include <chrono>
#include <utility>

#include "background_call.hpp"
#include "bind.hpp"

namespace py = pybind11;

namespace farmhand::python {

BackgroundCall::BackgroundCall(Work work, OnDrop on_drop)
    : on_drop_(on_drop), thread_([state = state_, work = std::move(work)] {
        std::string value;
        std::exception_ptr error;
        try {
          value = work(state->cancel);
        } catch (...) {
          error = std::current_exception();
        }
        const std::lock_guard lock(state->mutex);
        state->value = std::move(value);
        state->error = std::move(error);
        state->done = true;
        state->ended.notify_all();
      }) {}

BackgroundCall::~BackgroundCall() {
  if (!thread_.joinable()) return;
  if (on_drop_ == OnDrop::kCancel && !done()) {
    state_->cancel = true;
    thread_.detach();  // it holds the state and what its work uses
    return;
  }
  if (PyGILState_Check() != 0) {
    const py::gil_scoped_release release;
    thread_.join();
  } else {
    thread_.join();
  }
}

bool BackgroundCall::done() const {
  const std::lock_guard lock(state_->mutex);
  return state_->done;
}

bool BackgroundCall::wait(double timeout_s) const {
  std::unique_lock lock(state_->mutex);
  const auto ended = [this] { return state_->done; };
  // No limit for < 0, inf, nan or more than a year (a longer duration overflows wait_for).
  if (!(timeout_s >= 0 && timeout_s <= 365.0 * 24 * 3600)) {
    state_->ended.wait(lock, ended);
    return true;
  }
  return state_->ended.wait_for(lock, std::chrono::duration<double>(timeout_s), ended);
}

std::string BackgroundCall::result() const {
  (void)wait(-1);
  const std::lock_guard lock(state_->mutex);
  if (state_->error) std::rethrow_exception(state_->error);
  return state_->value;
}

void bind_background(py::module_& m) {
  using Release = py::call_guard<py::gil_scoped_release>;
  py::class_<BackgroundCall>(
      m, "BackgroundCall",
      "A core call running on a C++ thread of its own, which never runs Python (made by "
      "Engine.stop_in_background and BackendClient.worker_me_in_background). Poll `done` "
      "from Blender's main thread; `result()` gives the value or raises what the call "
      "raised. Dropping the object waits for the call to end.")
      .def_property_readonly("done", &BackgroundCall::done, "True once the call has ended.")
      .def("wait", &BackgroundCall::wait, py::arg("timeout_s") = -1.0, Release(),
           "Waits up to timeout_s seconds (< 0, inf or nan: no limit; GIL released); True "
           "when ended.")
      .def(
          "result",
          [](const BackgroundCall& c) {
            std::string value;
            {
              const py::gil_scoped_release release;
              value = c.result();
            }
            return py::bytes(value);
          },
          "Waits for the end (GIL released), then returns the call's value (bytes; b'' for a "
          "call without one) or raises its FarmhandError.");
}

}  // namespace farmhand::python
