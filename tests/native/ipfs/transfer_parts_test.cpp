// Pieces of the transfer that need no server: PartialFile, the add reply parser, the
// multipart layout of a directory, the source order.
#include <gtest/gtest.h>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/block_source.hpp"
#include "farmhand/ipfs/partial_file.hpp"
#include "farmhand/ipfs/uploader.hpp"
#include "test_util.hpp"

namespace farmhand::ipfs {
namespace {

std::size_t entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(PartialFileTest, CommitRenamesIntoPlace) {
  testing::TempDir dir;
  PartialFile f(dir.path(), "out.blend");
  f.write("abc");
  EXPECT_EQ(entries(dir.path()), 1U);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.blend"));
  EXPECT_EQ(f.commit(), dir.path() / "out.blend");
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "out.blend"), 3U);
  EXPECT_EQ(entries(dir.path()), 1U);
}

TEST(PartialFileTest, DestroyedWithoutCommitLeavesNothing) {
  testing::TempDir dir;
  {
    PartialFile f(dir.path(), "out.blend");
    f.write("abc");
  }
  EXPECT_EQ(entries(dir.path()), 0U);
}

TEST(PartialFileTest, MissingDirectoryIsAnIoError) {
  try {
    PartialFile f("/nonexistent/farmhand", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(AddReplyTest, TakesTheLastObjectWithAHash) {
  const std::string reply =
      "{\"Name\":\"frames/a.png\",\"Hash\":\"QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\"}\n"
      "{\"Name\":\"frames\",\"Bytes\":10}\n"
      "{\"Name\":\"frames\",\"Hash\":\"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\"}\n";
  EXPECT_EQ(parse_add_reply(reply).to_string(), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
}

TEST(AddReplyTest, NoHashOrNotJsonOrBadCidIsMalformed) {
  for (const char* reply : {"{\"Bytes\":1}\n", "not json\n", "{\"Hash\":\"nope\"}\n", ""}) {
    try {
      (void)parse_add_reply(reply);
      FAIL() << reply;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kMalformedResponse) << reply;
    }
  }
}

TEST(MultipartTest, DirectoryBecomesDirectoryPartThenSortedEntriesWithoutHiddenOnes) {
  testing::TempDir dir;
  dir.write("frames/b.png", "b");
  dir.write("frames/A.png", "a");
  dir.write("frames/.DS_Store", "x");
  dir.write("frames/sub/c.exr", "c");
  const auto parts = multipart_parts(dir.path() / "frames");
  ASSERT_EQ(parts.size(), 5U);
  EXPECT_EQ(parts[0].filename, "frames");
  EXPECT_EQ(parts[0].content_type, "application/x-directory");
  EXPECT_EQ(parts[1].filename, "frames/A.png");
  EXPECT_EQ(parts[2].filename, "frames/b.png");
  EXPECT_EQ(parts[3].filename, "frames/sub");
  EXPECT_EQ(parts[3].content_type, "application/x-directory");
  EXPECT_EQ(parts[4].filename, "frames/sub/c.exr");
  EXPECT_EQ(parts[4].file, dir.path() / "frames/sub/c.exr");
}

TEST(MultipartTest, MissingPathIsInvalid) {
  EXPECT_THROW((void)multipart_parts("/nonexistent/farmhand"), Error);
}

TEST(SourcesTest, RpcUrlsComeBeforeGatewaysAndLoseTrailingSlashes) {
  const auto s = sources_in_order({"http://127.0.0.1:5001/"}, {"http://127.0.0.1:8080"});
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0].label(), "rpc http://127.0.0.1:5001");
  EXPECT_EQ(s[1].label(), "gateway http://127.0.0.1:8080");
}

}  // namespace
}  // namespace farmhand::ipfs
