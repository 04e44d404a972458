// farmhand_core.BackgroundCall: one core call run on a C++ thread of its own.
//
// Why: Blender 3.x/4.x (Python <= 3.11) looks an operator's overridden context up in Python
// without taking the GIL whenever *any* thread holds it (docs/addon.md, "No operator under a
// context override while another thread runs Python"). A Python thread that only waits in
// C++ still runs bytecode when it starts and when the call returns. The add-on's GUI worker
// therefore runs its background calls (the engine's stop, the reward fetch) here: the thread
// never touches Python, Blender's main thread polls `done` from its timer.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace farmhand::python {

class BackgroundCall {
 public:
  /// Runs at once on a new thread; must not touch Python objects. Returns the call's value
  /// as bytes ("" for a call without one); what it throws is kept for result(). `cancel`
  /// turns true when the call object is dropped before the work ended (OnDrop::kCancel).
  using Work = std::function<std::string(const std::atomic<bool>& cancel)>;

  /// What dropping the object does while the work still runs:
  /// kWait: wait for it (the work uses objects that live only as long as this call, e.g.
  /// the Engine held by py::keep_alive); kCancel: set `cancel` and let the thread end on
  /// its own (the work owns everything it uses), so a drop never blocks Blender.
  enum class OnDrop { kWait, kCancel };

  BackgroundCall(Work work, OnDrop on_drop);
  ~BackgroundCall();
  BackgroundCall(const BackgroundCall&) = delete;
  BackgroundCall& operator=(const BackgroundCall&) = delete;
  BackgroundCall(BackgroundCall&&) = delete;
  BackgroundCall& operator=(BackgroundCall&&) = delete;

  /// True once the work has returned or thrown.
  [[nodiscard]] bool done() const;
  /// Waits up to `timeout_s` seconds (< 0, inf or nan: no limit) for the work to end; true
  /// when it has.
  [[nodiscard]] bool wait(double timeout_s) const;
  /// Waits for the end, then returns the value or rethrows what the work threw (a
  /// farmhand::Error becomes its FarmhandError subclass in Python).
  [[nodiscard]] std::string result() const;

 private:
  struct State {  // shared with the thread, which may outlive this object (kCancel)
    std::mutex mutex;
    std::condition_variable ended;
    bool done = false;
    std::string value;
    std::exception_ptr error;
    std::atomic<bool> cancel{false};
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  OnDrop on_drop_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace farmhand::python
