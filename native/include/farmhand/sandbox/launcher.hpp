// The headless node's launcher: key to a descriptor, sandbox, memory ceiling, exec Blender.
//
//   python -m farmhand_core.sandbox --work-dir DIR --key-file KEY [--read PATH]...
//          [--write PATH]... [--memory-max SIZE] [--allow-unsandboxed] -- blender -b ...
//
// Order (docs/security.md, "Layer 1"): the key file is loaded (created 0600 if missing) and
// opened as an inheritable descriptor; the policy is checked (the key must not lie inside
// any path the render may open); Landlock restricts this process; RLIMIT_DATA caps its
// memory; then execve() turns it into Blender, which inherits all of it. The core reads the
// key from FARMHAND_KEY_FD at engine start and closes the descriptor: from then on no path the
// render can name reaches the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "farmhand/platform/sandbox.hpp"

namespace farmhand::sandbox {

struct LaunchOptions {
  std::filesystem::path work_dir;                 // required; read/write; created 0700
  std::filesystem::path key_file;                 // required; never readable by the render
  std::vector<std::filesystem::path> read_only;   // extra read-only paths (Blender, venv)
  std::vector<std::filesystem::path> read_write;  // extra read/write paths (a log file)
  std::uint64_t memory_max = 0;                   // RSS ceiling, bytes (data_limit); 0 = none
  bool allow_unsandboxed = false;                 // run without Landlock where the OS has none
  std::vector<std::string> command;               // the program and its arguments (blender -b ...)
  std::vector<std::string> environment;           // "KEY=value" of the launcher's environment
};

/// Of a memory ceiling, the share left for pages RLIMIT_DATA does not count: Blender's and
/// Python's code and other file-backed mappings (RssFile: 141-176 MiB after `import bpy` in
/// bpy 4.2-5.2 and Blender 3.4, more once Cycles' kernels are paged in), thread stacks' guard
/// pages, the stack. Measured: under RLIMIT_DATA = 1 GiB the bpy 4.2 module peaked at
/// 1041 MiB RSS (tests/security/test_poison_job.py).
inline constexpr std::uint64_t kFileBackedAllowance = std::uint64_t{384} << 20;

/// RLIMIT_DATA (heap and private writable mappings, where a scene's memory lives) for a
/// worker whose resident set must stay under `memory_max` bytes: memory_max minus
/// kFileBackedAllowance; 0 (no cap) for 0. plan_launch refuses a ceiling under twice the
/// allowance.
std::uint64_t data_limit(std::uint64_t memory_max);

/// What launch() will do, computed without side effects beyond creating the work dir and
/// its tmp/ (so that they can be allowed).
struct Plan {
  platform::SandboxPolicy policy;
  platform::SandboxSupport support;
  std::vector<std::string> environment;  // for the exec'd program (FARMHAND_KEY_FD added later)
  std::string status;                    // FARMHAND_SANDBOX: "Landlock ABI 7, ..." or
                                         // "not sandboxed: ..."
};

/// The read-only paths every Blender needs on Linux: /usr, /lib*, /bin, /sbin, the loader
/// cache, fonts, TLS roots, name resolution, time zone, alternatives, GPU ICDs, CPU and GPU
/// information under /proc and /sys. Documented in docs/security.md.
std::vector<std::filesystem::path> default_read_only();
/// Device nodes: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/dri,
/// /dev/nvidia*, /dev/kfd.
std::vector<std::filesystem::path> default_devices();

/// Builds the policy and environment. Read-only additions beyond the defaults: the
/// directory of the resolved program (with <prefix>/lib and <prefix>/lib64 when it lies in
/// <prefix>/bin: an interpreter's libpython and standard library), and the paths named by
/// BLENDER_USER_SCRIPTS,
/// BLENDER_SYSTEM_SCRIPTS, BLENDER_SYSTEM_DATAFILES, BLENDER_SYSTEM_PYTHON,
/// BLENDER_USER_CONFIG, FARMHAND_CORE_PATH and PYTHONPATH. Environment: TMPDIR, TMP and TEMP
/// set to <work_dir>/tmp (Blender's temp files and crash report land there),
/// FARMHAND_WORK_DIR, FARMHAND_SANDBOX. Throws Error kInvalidArgument when the command is
/// empty, the work dir is "/" or relative, the key file lies inside a path the render could
/// open (naming both), the memory ceiling is below 2 x kFileBackedAllowance (768 MiB), or the
/// OS has no sandbox and allow_unsandboxed is false (the message
/// says "not sandboxed" and why, and names --allow-unsandboxed).
Plan plan_launch(const LaunchOptions& options);

/// plan_launch, load or create the key (identity::Identity::load_or_create), open it as an
/// inherited descriptor (FARMHAND_KEY_FD), apply the sandbox and the memory ceiling, exec.
/// Returns only by throwing farmhand::Error.
[[noreturn]] void launch(const LaunchOptions& options);

}  // namespace farmhand::sandbox
