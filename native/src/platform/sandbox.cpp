// farmhand/platform/sandbox.hpp: Landlock on Linux (landlock(7); rule and ABI tables from
// include/uapi/linux/landlock.h, Linux 6.15), a refusing stub elsewhere.
#include "farmhand/platform/sandbox.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "farmhand/error.hpp"
#include "farmhand/platform/file.hpp"

#if defined(__linux__)
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

extern char** environ;

namespace farmhand::platform {
namespace {

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

[[noreturn]] void io_error(const std::string& what, int e) {
  throw Error(ErrorKind::kIo, what + ": " + errno_text(e));
}

}  // namespace

#if defined(__linux__)
namespace {

// Rights and fields newer than the build machine's <linux/landlock.h> (values are ABI).
constexpr std::uint64_t kFsExecute = 1ULL << 0;
constexpr std::uint64_t kFsWriteFile = 1ULL << 1;
constexpr std::uint64_t kFsReadFile = 1ULL << 2;
constexpr std::uint64_t kFsReadDir = 1ULL << 3;
constexpr std::uint64_t kFsRefer = 1ULL << 13;                 // ABI 2
constexpr std::uint64_t kFsTruncate = 1ULL << 14;              // ABI 3
constexpr std::uint64_t kFsIoctlDev = 1ULL << 15;              // ABI 5
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;              // ABI 6
// Rights that make sense on a regular file (landlock(7): others are for directories only).
constexpr std::uint64_t kFileRights =
    kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;

struct RulesetAttr {  // struct landlock_ruleset_attr, ABI 6 size
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;
  std::uint64_t scoped;
};

struct PathBeneathAttr {  // struct landlock_path_beneath_attr (packed in the UAPI)
  std::uint64_t allowed_access;
  std::int32_t parent_fd;
} __attribute__((packed));

// Every filesystem right ABI `abi` knows.
std::uint64_t fs_rights(int abi) {
  std::uint64_t all = (1ULL << 13) - 1;  // ABI 1: EXECUTE .. MAKE_SYM
  if (abi >= 2) all |= kFsRefer;
  if (abi >= 3) all |= kFsTruncate;
  if (abi >= 5) all |= kFsIoctlDev;
  return all;
}

int landlock_abi() {
  const long abi =
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? -errno : static_cast<int>(abi);
}

// Adds `path` with `rights` (narrowed to file rights for a non-directory); false if the
// path does not exist.
bool add_rule(int ruleset, const std::filesystem::path& path, std::uint64_t rights,
              std::uint64_t handled) {
  File fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    io_error("sandbox: cannot open " + path.string() + " to allow it", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) io_error("sandbox: cannot stat " + path.string(), errno);
  if (!S_ISDIR(st.st_mode)) rights &= kFileRights;
  PathBeneathAttr attr{rights & handled, fd.get()};
  if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0) {
    io_error("sandbox: landlock_add_rule for " + path.string(), errno);
  }
  return true;
}

}  // namespace

SandboxSupport sandbox_support() {
  SandboxSupport s;
  const int abi = landlock_abi();
  if (abi > 0) {
    s.available = true;
    s.abi = abi;
    s.description = "Landlock ABI " + std::to_string(abi);
  } else if (abi == -ENOSYS) {
    s.description =
        "not sandboxed: this kernel has no Landlock (Linux >= 5.13 built with "
        "CONFIG_SECURITY_LANDLOCK)";
  } else if (abi == -EOPNOTSUPP) {
    s.description =
        "not sandboxed: Landlock is built in but disabled at boot (add landlock to "
        "the kernel's lsm= parameter)";
  } else {
    s.description = "not sandboxed: landlock_create_ruleset failed: " + errno_text(-abi);
  }
  return s;
}

int apply_sandbox(const SandboxPolicy& policy) {
  const SandboxSupport support = sandbox_support();
  if (!support.available) throw Error(ErrorKind::kInvalidArgument, support.description);
  const std::uint64_t handled = fs_rights(support.abi);
  RulesetAttr attr{handled, 0, 0};
  std::size_t attr_size = sizeof(std::uint64_t);  // ABI 1-3: handled_access_fs only
  if (support.abi >= 6) {
    attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
    attr_size = sizeof(RulesetAttr);
  }
  File ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0)));
  if (ruleset.get() < 0) io_error("sandbox: landlock_create_ruleset", errno);
  int rules = 0;
  for (const auto& p : policy.read_only) {
    rules += add_rule(ruleset.get(), p, kFsExecute | kFsReadFile | kFsReadDir, handled) ? 1 : 0;
  }
  for (const auto& p : policy.devices) {
    rules +=
        add_rule(ruleset.get(), p, kFsReadFile | kFsWriteFile | kFsReadDir | kFsIoctlDev, handled)
            ? 1
            : 0;
  }
  for (const auto& p : policy.read_write) {
    rules += add_rule(ruleset.get(), p, handled, handled) ? 1 : 0;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    io_error("sandbox: PR_SET_NO_NEW_PRIVS", errno);
  if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) {
    io_error("sandbox: landlock_restrict_self", errno);
  }
  return rules;
}

std::uint64_t physical_memory_bytes() {
  struct sysinfo si {};
  if (::sysinfo(&si) != 0) return 0;
  return static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
}

#else  // no sandbox on this OS yet (macOS: sandbox_init is deprecated; Windows: AppContainer)

SandboxSupport sandbox_support() {
  SandboxSupport s;
  s.description = "not sandboxed: Farmhand has an OS sandbox only on Linux (Landlock)";
  return s;
}

int apply_sandbox(const SandboxPolicy&) {
  throw Error(ErrorKind::kInvalidArgument, sandbox_support().description);
}

std::uint64_t physical_memory_bytes() {
#if defined(__APPLE__)
  std::uint64_t bytes = 0;
  std::size_t len = sizeof bytes;
  if (::sysctlbyname("hw.memsize", &bytes, &len, nullptr, 0) == 0) return bytes;
#endif
  return 0;
}

#endif

void set_memory_limit(std::uint64_t bytes) {
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) io_error("setrlimit(RLIMIT_CORE, 0)", errno);
  if (bytes == 0) return;
  const rlimit data{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
  if (::setrlimit(RLIMIT_DATA, &data) != 0) {
    io_error("setrlimit(RLIMIT_DATA, " + std::to_string(bytes) + ")", errno);
  }
}

void inherit_fd(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) {
    io_error("cannot pass descriptor " + std::to_string(fd) + " on", errno);
  }
}

void exec(const std::vector<std::string>& argv, const std::vector<std::string>& environment) {
  if (argv.empty()) throw Error(ErrorKind::kInvalidArgument, "exec: no program given");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const auto& e : environment) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
#if defined(__linux__)
  ::execvpe(args[0], args.data(), env.data());
#else
  environ = env.data();
  ::execvp(args[0], args.data());
#endif
  io_error("cannot run " + argv[0], errno);
}

}  // namespace farmhand::platform
