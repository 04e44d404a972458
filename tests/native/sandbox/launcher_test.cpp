// The node launcher's plan, the Landlock policy applied for real (in forked children, since a
// sandbox cannot be undone), the memory ceiling, and the key handed over as a descriptor.
#include "farmhand/sandbox/launcher.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "farmhand/error.hpp"
#include "farmhand/identity/identity.hpp"
#include "farmhand/identity/key_file.hpp"
#include "farmhand/platform/sandbox.hpp"

namespace farmhand::sandbox {
namespace {

namespace fs = std::filesystem;

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("farmhand-sandbox-" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(home_);
    fs::create_directories(home_);
    options_.work_dir = home_ / "work";
    options_.key_file = home_ / "worker.key";
    options_.command = {"sh", "-c", "true"};
    options_.environment = {"PATH=/usr/bin:/bin", "HOME=/root", "TMPDIR=/tmp"};
  }
  void TearDown() override { fs::remove_all(home_); }

  std::string refusal() {
    try {
      (void)plan_launch(options_);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      return e.what();
    }
    ADD_FAILURE() << "no refusal";
    return {};
  }

  // Runs `body` in a forked child; returns its exit status (body's return value).
  static int in_child(const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body());
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
  }

  fs::path home_;
  LaunchOptions options_;
};

bool has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST_F(LauncherTest, PlanAllowsOnlyTheWorkDirForWritingAndPointsTempFilesIntoIt) {
  if (!platform::sandbox_support().available) GTEST_SKIP() << "no Landlock on this kernel";
  options_.memory_max = std::uint64_t{8} << 30;
  const Plan plan = plan_launch(options_);
  ASSERT_EQ(plan.policy.read_write.size(), 1U);
  EXPECT_EQ(plan.policy.read_write[0], options_.work_dir);
  EXPECT_TRUE(fs::is_directory(options_.work_dir / "tmp"));
  const std::string tmp = (options_.work_dir / "tmp").string();
  EXPECT_TRUE(has(plan.environment, "TMPDIR=" + tmp));
  EXPECT_TRUE(has(plan.environment, "TEMP=" + tmp));
  EXPECT_TRUE(has(plan.environment, "TMP=" + tmp));
  EXPECT_FALSE(has(plan.environment, "TMPDIR=/tmp"));
  EXPECT_TRUE(has(plan.environment, "FARMHAND_WORK_DIR=" + options_.work_dir.string()));
  EXPECT_EQ(plan.status, platform::sandbox_support().description + ": read/write " +
                             options_.work_dir.string() +
                             " only; memory 8.0 GiB (RLIMIT_DATA 7.6 GiB + 384 MiB for code)");
  // /usr is readable; nothing of /etc but the listed files; no home directory.
  const auto& ro = plan.policy.read_only;
  EXPECT_NE(std::find(ro.begin(), ro.end(), fs::path("/usr")), ro.end());
  EXPECT_NE(std::find(ro.begin(), ro.end(), fs::path("/etc/ssl")), ro.end());
  EXPECT_EQ(std::find(ro.begin(), ro.end(), fs::path("/etc")), ro.end());
  EXPECT_EQ(std::find(ro.begin(), ro.end(), fs::path("/root")), ro.end());
  EXPECT_EQ(std::find(ro.begin(), ro.end(), fs::path("/tmp")), ro.end());
}

TEST_F(LauncherTest, ProgramUnderItsOwnPrefixGetsThatPrefixsLibDirsReadOnly) {
  if (!platform::sandbox_support().available) GTEST_SKIP() << "no Landlock on this kernel";
  // A Python built into <prefix> (as scripts/lib/python313.sh builds 3.13): <prefix>/bin/x
  // loads libpython and its standard library from <prefix>/lib. A venv's bin/python is a
  // symlink to it: the prefix is that of the resolved program.
  const fs::path prefix = home_ / "python3.13";
  fs::create_directories(prefix / "bin");
  fs::create_directories(prefix / "lib");
  fs::copy_file("/bin/true", prefix / "bin" / "python3.13");
  fs::create_directories(home_ / "venv" / "bin");
  fs::create_symlink(prefix / "bin" / "python3.13", home_ / "venv" / "bin" / "python");
  options_.command = {(home_ / "venv" / "bin" / "python").string()};
  const Plan plan = plan_launch(options_);
  const auto& ro = plan.policy.read_only;
  for (const auto& dir : {prefix / "bin", prefix / "lib", prefix / "lib64"}) {
    EXPECT_NE(std::find(ro.begin(), ro.end(), dir), ro.end()) << dir;
  }
  EXPECT_EQ(std::find(ro.begin(), ro.end(), prefix), ro.end());  // not the prefix itself
  EXPECT_EQ(std::find(ro.begin(), ro.end(), home_), ro.end());
  // A program in a directory not named bin (a Blender tarball): its directory only.
  fs::create_directories(home_ / "blender-4.5");
  fs::copy_file("/bin/true", home_ / "blender-4.5" / "blender");
  options_.command = {(home_ / "blender-4.5" / "blender").string()};
  const Plan tarball = plan_launch(options_);
  EXPECT_NE(std::find(tarball.policy.read_only.begin(), tarball.policy.read_only.end(),
                      home_ / "blender-4.5"),
            tarball.policy.read_only.end());
  EXPECT_EQ(
      std::find(tarball.policy.read_only.begin(), tarball.policy.read_only.end(), home_ / "lib"),
      tarball.policy.read_only.end());
}

TEST_F(LauncherTest, KeyInsideAnyAllowedPathIsRefusedNamingBoth) {
  if (!platform::sandbox_support().available) GTEST_SKIP() << "no Landlock on this kernel";
  options_.key_file = options_.work_dir / "worker.key";
  auto msg = refusal();
  EXPECT_NE(msg.find("lies inside " + options_.work_dir.string()), std::string::npos) << msg;
  options_.key_file = home_ / "worker.key";
  options_.environment.push_back("BLENDER_USER_CONFIG=" + home_.string());
  msg = refusal();
  EXPECT_NE(msg.find("the key file " + (home_ / "worker.key").string() + " lies inside " +
                     home_.string()),
            std::string::npos)
      << msg;
}

TEST_F(LauncherTest, BadCommandAndWorkDirAreRefused) {
  options_.command.clear();
  EXPECT_NE(refusal().find("no program to launch"), std::string::npos);
  options_.command = {"no-such-program-farmhand"};
  if (platform::sandbox_support().available) {
    EXPECT_NE(refusal().find("'no-such-program-farmhand' not found"), std::string::npos);
  }
  options_.command = {"sh"};
  options_.work_dir = "relative/work";
  EXPECT_NE(refusal().find("must be an absolute path below /"), std::string::npos);
  options_.work_dir = "/";
  EXPECT_NE(refusal().find("must be an absolute path below /"), std::string::npos);
}

TEST_F(LauncherTest, LandlockDeniesEverythingOutsideThePolicy) {
  if (!platform::sandbox_support().available) GTEST_SKIP() << "no Landlock on this kernel";
  fs::create_directories(options_.work_dir);
  std::ofstream(home_ / "secret") << "s3cret";
  const int status = in_child([&]() -> int {
    platform::SandboxPolicy p;
    p.read_only = default_read_only();
    p.devices = default_devices();
    p.read_write = {options_.work_dir};
    try {
      if (platform::apply_sandbox(p) < 5) return 1;
    } catch (const Error&) {
      return 2;
    }
    auto denied = [](const fs::path& path, int flags) {
      const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
      if (fd >= 0) ::close(fd);
      return fd < 0 && errno == EACCES;
    };
    if (!denied(home_ / "secret", O_RDONLY)) return 10;      // beside the work dir (the key)
    if (!denied("/etc/hostname", O_RDONLY)) return 11;       // the rest of /etc
    if (!denied("/proc/self/environ", O_RDONLY)) return 12;  // its own environment
    if (!denied("/proc/self/mem", O_RDONLY)) return 13;
    if (!denied("/tmp/farmhand-escape", O_WRONLY | O_CREAT)) return 14;
    if (!denied("/usr/farmhand-escape", O_WRONLY | O_CREAT)) return 15;  // read-only
    if (::mkdir((home_ / "escape").c_str(), 0700) == 0 || errno != EACCES) return 16;
    const int ok = ::open((options_.work_dir / "f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (ok < 0) return 20;
    ::close(ok);
    const int lib = ::open("/usr/lib/os-release", O_RDONLY | O_CLOEXEC);
    if (lib < 0 && errno == EACCES) return 21;
    if (lib >= 0) ::close(lib);
    const int status_fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (status_fd < 0) return 22;
    ::close(status_fd);
    return 0;
  });
  EXPECT_EQ(status, 0);
  EXPECT_FALSE(fs::exists("/tmp/farmhand-escape"));
  EXPECT_FALSE(fs::exists(home_ / "escape"));
  EXPECT_TRUE(fs::exists(options_.work_dir / "f"));
}

// AddressSanitizer reserves terabytes of shadow memory and replaces malloc with its own
// allocator (which aborts instead of returning null), so a data ceiling cannot be observed
// through malloc there; the release build runs this test.
#if defined(__SANITIZE_ADDRESS__)
#define FARMHAND_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FARMHAND_ASAN 1
#endif
#endif

TEST_F(LauncherTest, MemoryCeilingKeepsRoomForCodeAndRefusesTooSmallACeiling) {
  EXPECT_EQ(data_limit(0), 0U);
  EXPECT_EQ(data_limit(std::uint64_t{1} << 30), std::uint64_t{640} << 20);
  EXPECT_EQ(data_limit(std::uint64_t{8} << 30), (std::uint64_t{8} << 30) - (384 << 20));
  options_.memory_max = std::uint64_t{512} << 20;
  EXPECT_NE(refusal().find("memory ceiling 512 MiB is too small"), std::string::npos);
  options_.memory_max = std::uint64_t{768} << 20;
  if (platform::sandbox_support().available) {
    EXPECT_NO_THROW((void)plan_launch(options_));
  }
}

TEST_F(LauncherTest, MemoryCeilingMakesLargeAllocationsFail) {
#ifdef FARMHAND_ASAN
  GTEST_SKIP() << "not observable under AddressSanitizer";
#endif
  const int status = in_child([]() -> int {
    try {
      platform::set_memory_limit(std::uint64_t{256} << 20);
    } catch (const Error&) {
      return 1;
    }
    void* big = std::malloc(std::size_t{512} << 20);
    if (big != nullptr) return 2;
    void* small = std::malloc(std::size_t{16} << 20);
    if (small == nullptr) return 3;
    std::free(small);
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST_F(LauncherTest, KeyComesThroughTheDescriptorWhichIsThenClosed) {
  const auto id = identity::Identity::load_or_create(options_.key_file);
  const int fd = ::open(options_.key_file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(identity::Identity::from_key_fd(fd).address(), id.address());
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
  fs::permissions(options_.key_file, fs::perms::group_read, fs::perm_options::add);
  const int open_to_group = ::open(options_.key_file.c_str(), O_RDONLY);
  try {
    (void)identity::read_key_fd(open_to_group);
    ADD_FAILURE() << "no error for a 0640 key";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kKeyFile);
    EXPECT_NE(std::string(e.what()).find("descriptor " + std::to_string(open_to_group) +
                                         " (FARMHAND_KEY_FD)': mode 0640"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(::fcntl(open_to_group, F_GETFD), -1);
  EXPECT_THROW((void)identity::read_key_fd(-1), Error);
}

}  // namespace
}  // namespace farmhand::sandbox
