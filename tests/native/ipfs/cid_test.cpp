// CID parse and print (multiformats/cid).
#include "farmhand/ipfs/cid.hpp"

#include <gtest/gtest.h>

#include "farmhand/error.hpp"

namespace farmhand::ipfs {
namespace {

std::string parse_error(std::string_view text) {
  try {
    (void)Cid::parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCidInvalid);
    return e.what();
  }
  ADD_FAILURE() << "parsed: " << text;
  return {};
}

TEST(CidTest, ParsesAndPrintsCidV0) {
  const Cid c = Cid::parse("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  EXPECT_EQ(c.version(), 0);
  EXPECT_EQ(c.codec(), kCodecDagPb);
  EXPECT_EQ(c.hash_code(), kMultihashSha256);
  EXPECT_EQ(c.digest().size(), 32U);
  EXPECT_EQ(c.to_string(), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  EXPECT_EQ(Cid::from_bytes(c.bytes()), c);
}

TEST(CidTest, ParsesAndPrintsCidV1Base32RawAndDagPb) {
  const Cid raw = Cid::parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  EXPECT_EQ(raw.version(), 1);
  EXPECT_EQ(raw.codec(), kCodecRaw);
  EXPECT_TRUE(raw.matches("hello world"));
  EXPECT_FALSE(raw.matches("hello world!"));
  EXPECT_EQ(raw.to_string(), "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  const Cid pb = Cid::parse("bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa");
  EXPECT_EQ(pb.codec(), kCodecDagPb);
  EXPECT_EQ(Cid::from_bytes(pb.bytes()), pb);
}

TEST(CidTest, AcceptsUpperCaseBase32Base58btcAndBase36ForTheSameCid) {
  const Cid c = Cid::parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  EXPECT_EQ(Cid::parse("BAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E"), c);
  // Same bytes in base58btc ('z') and base36 ('k'), produced from the binary form.
  const Cid z = Cid::parse("zb2rhj7crUKTQYRGCRATFaQ6YFLTde2YzdqbbhAASkL9uRDXn");
  EXPECT_EQ(z, c);
  const Cid k = Cid::parse("k2cwued9o1pvrt3q271rrqbo49x30tbxwpoeaq75z14e5ui2rzygpbe1");
  EXPECT_EQ(k, c);
}

TEST(CidTest, MalformedCidsNameWhatIsWrong) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("xyz").find("multibase prefix"), std::string::npos);
  EXPECT_NE(parse_error("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1Aw0H").find("base58btc"),
            std::string::npos);
  EXPECT_NE(
      parse_error("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n").find("digest bytes"),
      std::string::npos);
  EXPECT_NE(parse_error("b!!!!").find("alphabet"), std::string::npos);
  EXPECT_NE(parse_error("bciqa").find("version"), std::string::npos);  // version 2 -> rejected
}

TEST(CidTest, FromDigestRefusesCidV0ForRawBlocks) {
  EXPECT_THROW((void)Cid::from_digest(0, kCodecRaw, sha256("x")), Error);
}

}  // namespace
}  // namespace farmhand::ipfs
