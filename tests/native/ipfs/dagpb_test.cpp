// dag-pb and UnixFS Data codecs: canonical encoding and strict decoding.
#include "farmhand/ipfs/dagpb.hpp"

#include <gtest/gtest.h>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/cid.hpp"
#include "farmhand/ipfs/unixfs.hpp"

namespace farmhand::ipfs {
namespace {

std::string error_of(std::string_view block, bool unixfs = false) {
  try {
    if (unixfs) {
      (void)decode_unixfs(block);
    } else {
      (void)decode_pbnode(block);
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBlockVerificationFailed);
    return e.what();
  }
  ADD_FAILURE() << "decoded";
  return {};
}

TEST(DagPbTest, EmptyFileNodeIsTheKuboBlock) {
  UnixfsData d;
  d.filesize = 0;
  PbNode node;
  node.data = encode_unixfs(d);
  const std::string block = encode_pbnode(node);
  EXPECT_EQ(block, std::string("\x0a\x04\x08\x02\x18\x00", 6));
  EXPECT_EQ(Cid::from_digest(0, kCodecDagPb, sha256(block)).to_string(),
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
}

TEST(DagPbTest, LinksAreWrittenBeforeDataAndRoundTrip) {
  PbNode node;
  node.links.push_back(
      {Cid::parse("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH").bytes(), std::string("a"), 6});
  node.data = std::string("\x08\x01", 2);
  const std::string block = encode_pbnode(node);
  EXPECT_EQ(block[0], '\x12');  // field 2 (Links), wire type 2
  const PbNode back = decode_pbnode(block);
  ASSERT_EQ(back.links.size(), 1U);
  EXPECT_EQ(back.links[0].name, "a");
  EXPECT_EQ(back.links[0].tsize, 6U);
  EXPECT_EQ(back.data, node.data);
}

TEST(DagPbTest, StrictDecodingNamesTheProblem) {
  EXPECT_NE(error_of(std::string("\x0a\x00\x12\x02\x0a\x00", 6)).find("Links after Data"),
            std::string::npos);
  EXPECT_NE(error_of(std::string("\x12\x02\x12\x00", 4)).find("without Hash"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x1a\x00", 2)).find("unexpected node field 3"),
            std::string::npos);
  EXPECT_NE(error_of(std::string("\x0a\x05\x08", 3)).find("runs past the end"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x0d\x00\x00\x00\x00", 5)).find("wire type"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x12\x04\x12\x00\x0a\x00", 6)).find("out of order"),
            std::string::npos);
}

TEST(UnixfsTest, DecodesPackedAndUnpackedBlocksizes) {
  const UnixfsData d = decode_unixfs(std::string("\x08\x02\x18\x05\x20\x02\x22\x02\x01\x02", 10));
  EXPECT_EQ(d.type, UnixfsType::kFile);
  EXPECT_EQ(d.filesize, 5U);
  EXPECT_EQ(d.blocksizes, (std::vector<uint64_t>{2, 1, 2}));
}

TEST(UnixfsTest, RejectsMissingOrUnknownTypeAndWrongWireTypes) {
  EXPECT_NE(error_of(std::string("\x18\x05", 2), true).find("Type missing"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x08\x09", 2), true).find("unknown Type"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x08\x02\x10\x01", 4), true).find("Data is not bytes"),
            std::string::npos);
  EXPECT_NE(error_of(std::string("\x08\x02\x1a\x00", 4), true).find("filesize"), std::string::npos);
}

}  // namespace
}  // namespace farmhand::ipfs
