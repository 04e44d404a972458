#include "farmhand/engine/workspace.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "farmhand/error.hpp"

namespace farmhand::engine {
namespace {

namespace fs = std::filesystem;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand-ws-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void write(const fs::path& p, const std::string& data) {
    std::ofstream(p, std::ios::binary) << data;
  }
  fs::path dir_;
};

TEST_F(WorkspaceTest, PrepareMakesAFreshJobDirWithEmptyOutput) {
  Workspace ws(dir_, 5);
  const auto d = ws.prepare("7");
  write(d / "output" / "stale.png", "x");
  ws.prepare("7");
  EXPECT_EQ(d, dir_ / "job-7");
  EXPECT_TRUE(fs::is_directory(d / "output"));
  EXPECT_TRUE(fs::is_empty(d / "output"));
}

TEST_F(WorkspaceTest, NonNumericJobIdIsRefusedBeforeTouchingThePath) {
  Workspace ws(dir_, 5);
  EXPECT_THROW(ws.prepare("../../etc"), Error);
  EXPECT_THROW(ws.prepare(""), Error);
}

TEST_F(WorkspaceTest, OnlyTheNewestKeepFailedFailedDirsAreKept) {
  Workspace ws(dir_, 2);
  for (const char* id : {"1", "2", "3"}) {
    ws.prepare(id);
    ws.mark_failed(id, std::string("broke ") + id);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ws.prepare("4");  // not failed: untouched
  EXPECT_FALSE(fs::exists(dir_ / "job-1"));
  EXPECT_TRUE(fs::exists(dir_ / "job-2" / "FAILED"));
  EXPECT_TRUE(fs::exists(dir_ / "job-3" / "FAILED"));
  EXPECT_TRUE(fs::exists(dir_ / "job-4"));
  std::ifstream in(dir_ / "job-3" / "FAILED");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "broke 3");
}

TEST_F(WorkspaceTest, OneOutputIsUploadedAsItselfSeveralAsADirectory) {
  Workspace ws(dir_, 5);
  const auto d = ws.prepare("7");
  write(d / "output" / "frame_0001.png", "a");
  EXPECT_EQ(ws.assemble_result("7", {d / "output" / "frame_0001.png"}),
            d / "output" / "frame_0001.png");
  write(d / "output" / "frame_0002.png", "bb");
  const auto r =
      ws.assemble_result("7", {d / "output" / "frame_0002.png", d / "output" / "frame_0001.png"});
  EXPECT_EQ(r, d / "result");
  EXPECT_EQ(fs::file_size(r / "frame_0001.png"), 1U);
  EXPECT_EQ(fs::file_size(r / "frame_0002.png"), 2U);
  EXPECT_EQ(std::distance(fs::directory_iterator(r), fs::directory_iterator()), 2);
}

TEST_F(WorkspaceTest, MissingOrNoOutputsAreRefused) {
  Workspace ws(dir_, 5);
  const auto d = ws.prepare("7");
  EXPECT_THROW(ws.assemble_result("7", {}), Error);
  try {
    ws.assemble_result("7", {d / "output" / "nope.png"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST_F(WorkspaceTest, ResultHashIsOfFramesConcatenatedInNameOrder) {
  fs::create_directories(dir_);
  write(dir_ / "frame_0002.png", "c");
  write(dir_ / "frame_0001.png", "ab");
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(sha256_concat_hex({dir_ / "frame_0002.png", dir_ / "frame_0001.png"}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(total_bytes({dir_ / "frame_0002.png", dir_ / "frame_0001.png"}), 3U);
}

}  // namespace
}  // namespace farmhand::engine
