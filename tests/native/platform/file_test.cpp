// farmhand/platform/file.hpp and time.hpp on this OS (POSIX): regular files open, anything
// else is refused without blocking, writes and reads move every byte, UTC time breaks down.
#include "farmhand/platform/file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "farmhand/platform/time.hpp"

namespace fs = std::filesystem;
using farmhand::platform::open_regular;
using farmhand::platform::OpenFor;

namespace {

class PlatformFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand_platform_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string read_whole(const farmhand::platform::File& file) {
  std::string out;
  char buf[3];  // small on purpose: several reads
  for (;;) {
    const long n = farmhand::platform::read_some(file, buf);
    EXPECT_GE(n, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

TEST_F(PlatformFile, AppendCreatesAFileAndKeepsWhatWasThere) {
  const auto path = dir_ / "log.txt";
  for (const char* text : {"one\n", "two\n"}) {
    auto opened = open_regular(path, OpenFor::kAppend);
    ASSERT_TRUE(opened.ok()) << opened.error;
    EXPECT_EQ(farmhand::platform::write_all(opened.file, text), 0);
  }
  auto opened = open_regular(path, OpenFor::kRead);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(read_whole(opened.file), "one\ntwo\n");
  EXPECT_EQ(fs::file_size(path), 8u);
}

TEST_F(PlatformFile, MissingFileForReadingGivesItsErrno) {
  auto opened = open_regular(dir_ / "absent", OpenFor::kRead);
  EXPECT_FALSE(opened.ok());
  EXPECT_EQ(opened.error, ENOENT);
  EXPECT_FALSE(opened.not_regular);
}

TEST_F(PlatformFile, FifoIsRefusedWithoutBlocking) {
  const auto fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto for_read = open_regular(fifo, OpenFor::kRead);  // would block without O_NONBLOCK
  EXPECT_FALSE(for_read.ok());
  EXPECT_TRUE(for_read.not_regular);
  auto for_append = open_regular(fifo, OpenFor::kAppend);  // no reader: ENXIO at once
  EXPECT_FALSE(for_append.ok());
  EXPECT_EQ(for_append.error, ENXIO);
}

TEST_F(PlatformFile, DirectoryIsNotARegularFile) {
  auto opened = open_regular(dir_, OpenFor::kRead);
  EXPECT_FALSE(opened.ok());
  EXPECT_TRUE(opened.not_regular);
}

TEST_F(PlatformFile, MovedFileKeepsOneOwnerOfTheDescriptor) {
  const auto path = dir_ / "f";
  std::ofstream(path) << "abc";
  auto opened = open_regular(path, OpenFor::kRead);
  ASSERT_TRUE(opened.ok());
  const int fd = opened.file.get();
  farmhand::platform::File moved = std::move(opened.file);
  EXPECT_FALSE(opened.file.is_open());
  EXPECT_EQ(moved.get(), fd);
  EXPECT_EQ(read_whole(moved), "abc");
}

TEST(PlatformTime, UtcBreakdownOfAKnownInstant) {
  const std::tm tm = farmhand::platform::utc_tm(1700000000);  // 2023-11-14T22:13:20Z
  EXPECT_EQ(tm.tm_year + 1900, 2023);
  EXPECT_EQ(tm.tm_mon + 1, 11);
  EXPECT_EQ(tm.tm_mday, 14);
  EXPECT_EQ(tm.tm_hour, 22);
  EXPECT_EQ(tm.tm_min, 13);
  EXPECT_EQ(tm.tm_sec, 20);
}
