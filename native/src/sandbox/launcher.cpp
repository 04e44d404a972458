// The node launcher (farmhand/sandbox/launcher.hpp). OS calls go through farmhand::platform.
#include "farmhand/sandbox/launcher.hpp"

#include <algorithm>
#include <system_error>

#include "farmhand/error.hpp"
#include "farmhand/identity/identity.hpp"
#include "farmhand/platform/file.hpp"

namespace farmhand::sandbox {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void bad(const std::string& why) {
  throw Error(ErrorKind::kInvalidArgument, why);
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      return e.substr(key.size() + 1);
    }
  }
  return {};
}

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::erase_if(env, [&](const std::string& e) {
    return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
  });
  env.push_back(key + "=" + value);
}

// The program as execvp would find it, through symlinks; empty if not found.
fs::path resolve_program(const std::string& program, const std::string& path_env) {
  std::error_code ec;
  if (program.find('/') != std::string::npos) return fs::weakly_canonical(program, ec);
  std::size_t start = 0;
  while (start <= path_env.size()) {
    const auto end = std::min(path_env.find(':', start), path_env.size());
    const fs::path candidate = fs::path(path_env.substr(start, end - start)) / program;
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec);
    start = end + 1;
  }
  return {};
}

// True if `inner` is `outer` or lies beneath it (both canonical).
bool within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // trailing slash
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

std::string human_bytes(std::uint64_t b) {
  const double gib = static_cast<double>(b) / (1024.0 * 1024.0 * 1024.0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", gib);
  return buf;
}

}  // namespace

std::uint64_t data_limit(std::uint64_t memory_max) {
  return memory_max == 0 ? 0 : memory_max - std::min(memory_max, kFileBackedAllowance);
}

std::vector<fs::path> default_read_only() {
  return {"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin",
          // Dynamic loader, fonts, TLS roots (HTTPS to the coordinator), name resolution,
          // time zone, Debian alternatives (libblas etc. resolve through them).
          "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/ssl",
          "/etc/ca-certificates", "/etc/pki", "/etc/resolv.conf", "/etc/hosts",
          "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/localtime",
          "/etc/alternatives", "/etc/locale.alias",
          // GPU runtimes' loader configuration (OpenCL, Vulkan, GLVND).
          "/etc/OpenCL", "/etc/vulkan", "/etc/glvnd",
          // What allocators and thread pools ask the kernel. /proc/self/* resolve to this
          // process, which execve keeps: Blender reads its own status and maps, nothing else
          // there (not mem, not environ).
          "/proc/self/status", "/proc/self/maps", "/proc/self/stat", "/proc/self/cgroup",
          "/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/proc/filesystems",
          "/proc/sys/vm/overcommit_memory", "/proc/sys/vm/nr_hugepages",
          "/sys/kernel/mm/transparent_hugepage", "/sys/devices/system/cpu",
          "/sys/devices/system/node", "/sys/fs/cgroup",
          // GPU drivers enumerate PCI devices and their sysfs attributes.
          "/sys/bus/pci", "/sys/devices/pci0000:00", "/sys/class/drm", "/sys/module/nvidia",
          "/sys/module/amdgpu"};
}

std::vector<fs::path> default_devices() {
  std::vector<fs::path> out = {"/dev/null",    "/dev/zero", "/dev/full", "/dev/random",
                               "/dev/urandom", "/dev/dri",  "/dev/kfd"};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev", ec)) {
    if (entry.path().filename().string().rfind("nvidia", 0) == 0) out.push_back(entry.path());
  }
  return out;
}

Plan plan_launch(const LaunchOptions& o) {
  if (o.command.empty()) bad("no program to launch: give it after --, e.g. -- blender -b ...");
  if (o.work_dir.empty() || !o.work_dir.is_absolute() || o.work_dir == o.work_dir.root_path()) {
    bad("work dir '" + o.work_dir.string() + "' must be an absolute path below /");
  }
  if (o.key_file.empty()) bad("no key file given (--key-file)");
  if (o.memory_max != 0 && o.memory_max < 2 * kFileBackedAllowance) {
    bad("memory ceiling " + std::to_string(o.memory_max >> 20) +
        " MiB is too small: Blender needs about 300 MiB before it opens a scene, and " +
        std::to_string(kFileBackedAllowance >> 20) +
        " MiB of the ceiling are kept for its code; give --memory-max 768M or more (0: none)");
  }
  Plan plan;
  plan.support = platform::sandbox_support();
  if (!plan.support.available && !o.allow_unsandboxed) {
    bad(plan.support.description +
        ". The node refuses to render strangers' scenes without a sandbox; pass "
        "--allow-unsandboxed to run anyway (the scene could read this account's files)");
  }
  std::error_code ec;
  fs::create_directories(o.work_dir / "tmp", ec);
  if (ec) {
    throw Error(ErrorKind::kIo,
                "cannot create work dir " + o.work_dir.string() + ": " + ec.message());
  }
  fs::permissions(o.work_dir, fs::perms::owner_all, ec);
  fs::permissions(o.work_dir / "tmp", fs::perms::owner_all, ec);

  auto& p = plan.policy;
  p.read_only = default_read_only();
  p.devices = default_devices();
  const fs::path program = resolve_program(o.command[0], env_value(o.environment, "PATH"));
  if (program.empty()) bad("program '" + o.command[0] + "' not found on PATH");
  p.read_only.push_back(program.parent_path());
  // A program installed under its own prefix (<prefix>/bin/python3.13 built from source, a
  // bpy venv's interpreter) loads its shared libraries and standard library from <prefix>/lib
  // through its RUNPATH: without it, it exits before main ("libpython3.13.so.1.0: cannot open
  // shared object file"). Read-only; /usr/bin's /usr/lib is a default already.
  if (program.parent_path().filename() == "bin") {
    for (const char* lib : {"lib", "lib64"}) {
      p.read_only.push_back(program.parent_path().parent_path() / lib);
    }
  }
  for (const char* key :
       {"BLENDER_USER_SCRIPTS", "BLENDER_SYSTEM_SCRIPTS", "BLENDER_SYSTEM_DATAFILES",
        "BLENDER_SYSTEM_PYTHON", "BLENDER_USER_CONFIG", "FARMHAND_CORE_PATH", "PYTHONPATH"}) {
    const std::string value = env_value(o.environment, key);
    std::size_t start = 0;
    while (start < value.size()) {
      const auto end = std::min(value.find(':', start), value.size());
      if (end > start) p.read_only.emplace_back(value.substr(start, end - start));
      start = end + 1;
    }
  }
  p.read_only.insert(p.read_only.end(), o.read_only.begin(), o.read_only.end());
  p.read_write.push_back(o.work_dir);
  p.read_write.insert(p.read_write.end(), o.read_write.begin(), o.read_write.end());

  // The key must not lie beneath anything the render may open.
  const fs::path key = fs::weakly_canonical(fs::absolute(o.key_file), ec);
  for (const auto* list : {&p.read_only, &p.read_write, &p.devices}) {
    for (const auto& allowed : *list) {
      const fs::path canon = fs::weakly_canonical(allowed, ec);
      if (!ec && within(key, canon)) {
        bad("the key file " + key.string() + " lies inside " + canon.string() +
            ", which the render may open; keep the key outside the work dir, Blender and the "
            "add-on (e.g. /var/lib/farmhand/worker.key next to /var/lib/farmhand/work)");
      }
    }
  }

  plan.environment = o.environment;
  const std::string tmp = (o.work_dir / "tmp").string();
  for (const char* key : {"TMPDIR", "TMP", "TEMP"}) set_env(plan.environment, key, tmp);
  set_env(plan.environment, "FARMHAND_WORK_DIR", o.work_dir.string());
  plan.status = plan.support.available
                    ? plan.support.description + ": read/write " + o.work_dir.string() +
                          " only; memory " +
                          (o.memory_max == 0
                               ? std::string("not capped")
                               : human_bytes(o.memory_max) + " (RLIMIT_DATA " +
                                     human_bytes(data_limit(o.memory_max)) + " + " +
                                     std::to_string(kFileBackedAllowance >> 20) + " MiB for code)")
                    : plan.support.description + " (--allow-unsandboxed)";
  set_env(plan.environment, "FARMHAND_SANDBOX", plan.status);
  return plan;
}

void launch(const LaunchOptions& options) {
  Plan plan = plan_launch(options);
  // Validates the key (0600, format) and creates it when missing, before anything is locked.
  (void)identity::Identity::load_or_create(options.key_file);
  auto opened = platform::open_regular(options.key_file, platform::OpenFor::kRead);
  if (!opened.ok()) {
    throw Error(ErrorKind::kKeyFile,
                "key file '" + options.key_file.string() + "': cannot open it to pass it on");
  }
  const int fd = opened.file.release();
  platform::inherit_fd(fd);
  set_env(plan.environment, "FARMHAND_KEY_FD", std::to_string(fd));
  for (const auto& path : options.read_write) {
    // A log file named here must exist before the sandbox (creating it later is refused).
    if (!std::filesystem::is_directory(path)) {
      (void)platform::open_regular(path, platform::OpenFor::kAppend);
    }
  }
  if (plan.support.available) (void)platform::apply_sandbox(plan.policy);
  platform::set_memory_limit(data_limit(options.memory_max));
  platform::exec(options.command, plan.environment);
}

}  // namespace farmhand::sandbox
