// LeafCheck (leaf_plan.hpp): a leaf's streamed bytes hashed against its CID, raw and kubo's
// dag-pb leaf encoding, against the importer's own leaves (make_leaf, whose CIDs match kubo:
// importer_test.cpp); and PartialFile's positioned writes used by the plain-stream path.
#include "farmhand/ipfs/leaf_plan.hpp"

#include <gtest/gtest.h>

#include <string>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/chunker.hpp"
#include "farmhand/ipfs/node_builder.hpp"
#include "farmhand/ipfs/partial_file.hpp"
#include "test_util.hpp"

namespace farmhand::ipfs {
namespace {

std::string bytes_of(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i * 31));
  return s;
}

// Feeds `data` in pieces of `piece` bytes.
bool check(const PlannedLeaf& leaf, const std::string& data, std::size_t piece) {
  LeafCheck c(leaf);
  for (std::size_t at = 0; at < data.size(); at += piece) {
    c.update(std::string_view(data).substr(at, piece));
  }
  return c.matches();
}

TEST(LeafCheckTest, MatchesTheImportersLeavesInAnyPieces) {
  for (int version : {0, 1}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, kDefaultChunkSize}) {
      const std::string data = bytes_of(n, 'a');
      const DagEntry e = make_leaf(data, version, {});
      const PlannedLeaf leaf{e.cid, 0, n};
      EXPECT_TRUE(check(leaf, data, 7)) << "v" << version << " n=" << n;
      EXPECT_TRUE(check(leaf, data, 65536)) << "v" << version << " n=" << n;
    }
  }
}

TEST(LeafCheckTest, RefusesOtherBytesAndOtherLengths) {
  const std::string data = bytes_of(1000, 'x');
  for (int version : {0, 1}) {
    const DagEntry e = make_leaf(data, version, {});
    std::string flipped = data;
    flipped[500] ^= 0x01;
    EXPECT_FALSE(check({e.cid, 0, 1000}, flipped, 64));
    EXPECT_FALSE(check({e.cid, 0, 999}, data.substr(0, 999), 64));
  }
}

TEST(LeafCheckTest, ADagPbLeafOfAnotherEncodingDoesNotMatch) {
  // UnixFS Type=Raw instead of File: a valid leaf kubo does not write; the caller then
  // fetches the block (plain_stream.hpp).
  const std::string data = bytes_of(100, 'r');
  auto [head, tail] = v0_leaf_frame(data.size());
  head[3] = 0x00;  // 0x0a len 0x08 [type]
  const Cid other = Cid::from_digest(0, kCodecDagPb, sha256(head + data + tail));
  EXPECT_FALSE(check({other, 0, 100}, data, 10));
}

TEST(PartialFileTest, WriteAtFillsAResizedFileInAnyOrder) {
  testing::TempDir dir;
  PartialFile f(dir.path(), "out.bin");
  f.resize(6);
  f.write_at(3, "def");
  f.write_at(0, "abc");
  std::string back(6, '\0');
  f.read_at(0, back);
  EXPECT_EQ(back, "abcdef");
  std::string past(2, '\0');
  EXPECT_THROW(f.read_at(5, past), Error);  // a short read is an error, not zeros
  f.start_writeback(0, 6);
  const auto path = f.commit();
  EXPECT_EQ(std::filesystem::file_size(path), 6U);
}

TEST(PartialFileTest, NotDurableStillAppearsOnlyOnCommit) {
  testing::TempDir dir;
  PartialFile f(dir.path(), "out.bin", /*durable=*/false);
  f.write("abc");
  f.start_writeback(0, 3);  // nothing to do when not durable
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.bin"));
  EXPECT_EQ(std::filesystem::file_size(f.commit()), 3U);
}

}  // namespace
}  // namespace farmhand::ipfs
