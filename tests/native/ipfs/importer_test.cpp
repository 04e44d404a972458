// The importer against CIDs kubo publishes (/work/shared/reference/kubo-cid-vectors.md).
#include "farmhand/ipfs/importer.hpp"

#include <gtest/gtest.h>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/dagpb.hpp"
#include "farmhand/ipfs/unixfs.hpp"
#include "test_util.hpp"

namespace farmhand::ipfs {
namespace {

std::string cid_for(std::string_view bytes, int version, unsigned threads = 0) {
  testing::TempDir dir;
  return cid_of(dir.write("f", bytes), {version, threads}).to_string();
}

TEST(ImporterTest, SmallFilesMatchKuboPublishedCids) {
  EXPECT_EQ(cid_for("", 0), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  EXPECT_EQ(cid_for("", 1), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(cid_for("Hello Worlds!\n", 0), "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH");
  EXPECT_EQ(cid_for("IPFS\n", 0), "QmdFyxZXsFiP4csgfM5uPu99AvFiKH62CSPDw5TP92nr7w");
  EXPECT_EQ(cid_for("hello world", 0), "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
  EXPECT_EQ(cid_for("hello world", 1),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  EXPECT_EQ(cid_for("hello world\n", 0), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
  EXPECT_EQ(cid_for("hello world\n", 1),
            "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
}

TEST(ImporterTest, OneChunkAndChunkPlusOneMatchKubo) {
  EXPECT_EQ(cid_for(testing::deterministic_bytes("chunk-v0-seed", 262144), 0),
            "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE");
  EXPECT_EQ(cid_for(testing::deterministic_bytes("chunk-v0-seed", 262145), 0),
            "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ");
}

TEST(ImporterTest, FullRootAndTwoInternalLevelsMatchKubo) {
  const std::string data = testing::deterministic_bytes("v0-seed", 45613057);
  EXPECT_EQ(cid_for(std::string_view(data).substr(0, 45613056), 0),
            "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2");
  EXPECT_EQ(cid_for(data, 0), "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW");
  EXPECT_EQ(cid_for(data, 0, 1), "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW");  // 1 thread
}

TEST(ImporterTest, BlockSinkSeesEveryBlockChildrenFirstAndRootLast) {
  testing::TempDir dir;
  const auto file = dir.write("f", testing::deterministic_bytes("sink", 3 * 262144 + 5));
  std::vector<std::pair<Cid, std::string>> blocks;
  const DagEntry root = import_path(file, {1, 0}, [&](const Cid& c, std::string_view b) {
    blocks.emplace_back(c, std::string(b));
  });
  ASSERT_EQ(blocks.size(), 5U);  // 4 raw leaves + 1 file node
  for (const auto& [cid, block] : blocks) EXPECT_TRUE(cid.matches(block));
  EXPECT_EQ(blocks.back().first, root.cid);
  EXPECT_EQ(root.file_size, 3U * 262144 + 5);
  const UnixfsData d = decode_unixfs(*decode_pbnode(blocks.back().second).data);
  EXPECT_EQ(d.filesize, 3U * 262144 + 5);
  EXPECT_EQ(d.blocksizes, (std::vector<uint64_t>{262144, 262144, 262144, 5}));
  EXPECT_EQ(root.tsize, 3U * 262144 + 5 + blocks.back().second.size());
}

TEST(ImporterTest, EmptyDirectoryMatchesKubo) {
  testing::TempDir dir;
  std::filesystem::create_directory(dir.path() / "empty");
  EXPECT_EQ(cid_of(dir.path() / "empty", {0, 0}).to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
}

TEST(ImporterTest, MissingPathAndBadVersionAreRejected) {
  try {
    (void)cid_of("/nonexistent/farmhand", {0, 0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
  testing::TempDir dir;
  try {
    (void)cid_of(dir.write("f", "x"), {2, 0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
}

TEST(ImporterTest, SymlinksAreRefused) {
  testing::TempDir dir;
  const auto target = dir.write("t", "x");
  std::filesystem::create_symlink(target, dir.path() / "link");
  try {
    (void)cid_of(dir.path() / "link", {0, 0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
}

}  // namespace
}  // namespace farmhand::ipfs
