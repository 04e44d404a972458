// farmhand_core.sandbox: the node launcher (farmhand/sandbox/launcher.hpp) and the OS
// sandbox's availability (farmhand/platform/sandbox.hpp).
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bind.hpp"
#include "farmhand/platform/sandbox.hpp"
#include "farmhand/sandbox/launcher.hpp"

namespace py = pybind11;

namespace farmhand::python {
namespace {

using Paths = std::vector<std::filesystem::path>;
using Strings = std::vector<std::string>;

// Binds `fn(LaunchOptions)` as `name(work_dir, key_file, command, environment, read_only=[],
// read_write=[], memory_max=0, allow_unsandboxed=False)`: plan() and launch() take the same
// keyword arguments (farmhand/sandbox/launcher.hpp LaunchOptions).
template <typename Fn>
void def_with_options(py::module_& m, const char* name, Fn fn, const char* doc) {
  m.def(
      name,
      [fn](const std::filesystem::path& work_dir, const std::filesystem::path& key_file,
           const Strings& command, const Strings& environment, const Paths& read_only,
           const Paths& read_write, std::uint64_t memory_max, bool allow_unsandboxed) {
        return fn(sandbox::LaunchOptions{work_dir, key_file, read_only, read_write, memory_max,
                                         allow_unsandboxed, command, environment});
      },
      py::arg("work_dir"), py::arg("key_file"), py::arg("command"), py::arg("environment"),
      py::arg("read_only") = Paths{}, py::arg("read_write") = Paths{}, py::arg("memory_max") = 0,
      py::arg("allow_unsandboxed") = false, doc);
}

}  // namespace

void bind_sandbox(py::module_& m) {
  auto sub = m.def_submodule("sandbox", "The headless node's OS sandbox and launcher.");
  sub.def(
      "support",
      [] {
        const auto s = platform::sandbox_support();
        py::dict d;
        d["available"] = s.available;
        d["abi"] = s.abi;
        d["description"] = s.description;
        return d;
      },
      "{available: bool, abi: int (Landlock ABI, 0 if none), description: str ('Landlock ABI "
      "7' or 'not sandboxed: <why>')}. No side effects.");
  def_with_options(
      sub, "plan",
      [](const sandbox::LaunchOptions& o) {
        const auto plan = sandbox::plan_launch(o);
        py::dict d;
        d["read_only"] = plan.policy.read_only;
        d["read_write"] = plan.policy.read_write;
        d["devices"] = plan.policy.devices;
        d["environment"] = plan.environment;
        d["status"] = plan.status;
        return d;
      },
      "What launch() would do: {read_only, read_write, devices: [path], environment: "
      "['KEY=value'], status: str}. Creates work_dir/tmp. Raises InvalidArgument (no command, "
      "bad work dir, key file inside an allowed path, no sandbox without allow_unsandboxed).");
  def_with_options(
      sub, "launch", [](const sandbox::LaunchOptions& o) { sandbox::launch(o); },
      "plan(), then load or create the key, pass it as FARMHAND_KEY_FD, apply Landlock and "
      "RLIMIT_DATA = memory_max (0: no cap), and exec command. Never returns; raises "
      "InvalidArgument, KeyFileError or IoError.");
}

}  // namespace farmhand::python
