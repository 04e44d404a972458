#pragma once
// The operating system's sandbox, behind one small interface (docs/security.md, "Layer 1").
//
//   native/src/platform/sandbox.cpp   Linux: Landlock (kernel >= 5.13; ABI 1..7 handled),
//                                     setrlimit, execve. Elsewhere: sandbox_support() says
//                                     "not sandboxed" and why; apply_sandbox() refuses.
//
// A policy applies to the calling process and everything it later execs or forks, and can
// never be loosened again: the launcher (sandbox/launcher.hpp) applies it, then execs Blender.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace farmhand::platform {

/// What a sandboxed process may touch. Paths that do not exist are skipped (nothing can be
/// opened there anyway); symlinks are followed when the rule is made.
struct SandboxPolicy {
  std::vector<std::filesystem::path> read_only;   // read + execute (files or directories)
  std::vector<std::filesystem::path> read_write;  // everything beneath (directories)
  std::vector<std::filesystem::path> devices;     // read + write + device ioctls (nodes or dirs)
};

/// Whether this machine can sandbox, and how.
struct SandboxSupport {
  bool available = false;
  int abi = 0;              // Landlock ABI version (0 when none)
  std::string description;  // "Landlock ABI 7" or why not ("kernel without Landlock: ...")
};

/// Asks the kernel (no side effects).
SandboxSupport sandbox_support();

/// Restricts this process for good: sets no_new_privs, then a Landlock domain that handles
/// every filesystem right the ABI knows, allowing only `policy`, and (ABI >= 6) scopes signals
/// and abstract UNIX sockets to the domain. Returns the number of rules added. Throws Error
/// kInvalidArgument when the OS has no sandbox (sandbox_support().description says why), kIo
/// when a syscall fails (message names it and the path).
int apply_sandbox(const SandboxPolicy& policy);

/// Caps the process's data segment (RLIMIT_DATA: heap and private writable mappings, which is
/// where Blender's scene memory lives) at `bytes`, and disables core dumps (RLIMIT_CORE 0: the
/// kernel would write them outside any sandbox). bytes 0 = no data cap. Throws Error kIo.
void set_memory_limit(std::uint64_t bytes);

/// Physical memory of this machine, bytes (0 if unknown).
std::uint64_t physical_memory_bytes();

/// Clears close-on-exec on `fd` so an exec'd program inherits it. Throws Error kIo.
void inherit_fd(int fd);

/// Replaces this process with `argv[0]` (searched on PATH when it has no '/') with
/// `environment` ("KEY=value" strings). Only returns by throwing Error kIo (not found, not
/// executable).
[[noreturn]] void exec(const std::vector<std::string>& argv,
                       const std::vector<std::string>& environment);

}  // namespace farmhand::platform
