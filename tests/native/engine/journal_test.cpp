#include "farmhand/engine/journal.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "farmhand/error.hpp"

namespace farmhand::engine {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand-journal-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(JournalTest, MissingFileMeansNoJobs) {
  EXPECT_TRUE(Journal(dir_ / "journal.json").load().empty());
}

TEST_F(JournalTest, RoundTripKeepsTheCoordinatorAndTime) {
  const Journal j(dir_ / "journal.json");
  j.save({{"7", "QmA", JournalState::kHanded, "http://127.0.0.1:8000", 1764748800}});
  const auto back = j.load();
  ASSERT_EQ(back.size(), 1U);
  EXPECT_EQ(back[0].coordinator, "http://127.0.0.1:8000");
  EXPECT_EQ(back[0].recorded_at, 1764748800);
}

TEST_F(JournalTest, AnOldJournalWithoutCoordinatorLoadsWithAnEmptyOne) {
  std::ofstream(dir_ / "journal.json") << R"({"version":1,"jobs":[{"id":"7","state":"handed"}]})";
  const auto back = Journal(dir_ / "journal.json").load();
  ASSERT_EQ(back.size(), 1U);
  EXPECT_EQ(back[0].coordinator, "");
  EXPECT_EQ(back[0].recorded_at, 0);
}

TEST_F(JournalTest, RoundTripKeepsIdsCidsAndStates) {
  const Journal j(dir_ / "journal.json");
  j.save({{"7", "QmA", JournalState::kClaimed},
          {"8", "QmB", JournalState::kHanded},
          {"9", "QmC", JournalState::kFinishing}});
  const auto back = j.load();
  ASSERT_EQ(back.size(), 3U);
  EXPECT_EQ(back[0].id, "7");
  EXPECT_EQ(back[0].state, JournalState::kClaimed);
  EXPECT_EQ(back[1].asset_cid, "QmB");
  EXPECT_EQ(back[1].state, JournalState::kHanded);
  EXPECT_EQ(back[2].state, JournalState::kFinishing);
  EXPECT_FALSE(fs::exists(dir_ / "journal.json.tmp"));  // renamed into place
  EXPECT_EQ(fs::status(dir_ / "journal.json").permissions() & fs::perms::others_all,
            fs::perms::none);
}

TEST_F(JournalTest, AFinishingEntryKeepsItsResultForSubmissionAfterARestart) {
  const Journal j(dir_ / "journal.json");
  JournalEntry e;
  e.id = "9";
  e.asset_cid = "QmC";
  e.state = JournalState::kFinishing;
  e.result =
      JournalResult{{dir_ / "job-9/output/frame_0001.png", dir_ / "job-9/output/frame_0002.png"},
                    2.5,
                    {1, 2},
                    "QmResult",
                    std::string(64, 'a'),
                    "CPU"};
  j.save({{"7", "QmA", JournalState::kHanded}, e});
  const auto back = j.load();
  ASSERT_EQ(back.size(), 2U);
  EXPECT_FALSE(back[0].result.has_value());
  ASSERT_TRUE(back[1].result.has_value());
  EXPECT_EQ(back[1].result->files, e.result->files);
  EXPECT_DOUBLE_EQ(back[1].result->render_seconds, 2.5);
  EXPECT_EQ(back[1].result->frames, (std::vector<int>{1, 2}));
  EXPECT_EQ(back[1].result->cid, "QmResult");
  EXPECT_EQ(back[1].result->sha256, std::string(64, 'a'));
  EXPECT_EQ(back[1].result->device, "CPU");
}

TEST_F(JournalTest, AnOlderWorkersEntryWithoutResultAndUnknownKeysStillLoads) {
  std::ofstream(dir_ / "journal.json")
      << R"({"version": 1, "jobs": [{"id": "4", "asset_cid": "QmD", "state": "finishing",)"
      << R"( "coordinator": "http://x", "crashed": true}]})";
  const auto back = Journal(dir_ / "journal.json").load();
  ASSERT_EQ(back.size(), 1U);
  EXPECT_EQ(back[0].state, JournalState::kFinishing);
  EXPECT_FALSE(back[0].result.has_value());
}

TEST_F(JournalTest, SavingAgainReplacesTheWholeList) {
  const Journal j(dir_ / "journal.json");
  j.save({{"7", "QmA", JournalState::kHanded}});
  j.save({});
  EXPECT_TRUE(j.load().empty());
}

TEST_F(JournalTest, CorruptJournalIsAnIoErrorNamingTheFile) {
  std::ofstream(dir_ / "journal.json") << "{\"version\": 1, \"jobs\": [{\"id\": \"7\", ";
  try {
    (void)Journal(dir_ / "journal.json").load();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("journal.json"), std::string::npos);
  }
}

TEST_F(JournalTest, UnknownStateIsRefused) {
  std::ofstream(dir_ / "journal.json") << R"({"version":1,"jobs":[{"id":"7","state":"odd"}]})";
  EXPECT_THROW((void)Journal(dir_ / "journal.json").load(), Error);
}

TEST_F(JournalTest, UnwritableDirectoryIsAnIoError) {
  const Journal j(dir_ / "missing" / "journal.json");
  try {
    j.save({});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

}  // namespace
}  // namespace farmhand::engine
