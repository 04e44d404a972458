// varint, multibase, sha256: the encodings under CIDs.
#include <gtest/gtest.h>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/multibase.hpp"
#include "farmhand/ipfs/sha256.hpp"
#include "farmhand/ipfs/varint.hpp"
#include "test_util.hpp"

namespace farmhand::ipfs {
namespace {

TEST(VarintTest, RoundTripsBoundaryValues) {
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, 16384ULL, ~0ULL}) {
    std::string buf;
    put_uvarint(buf, v);
    EXPECT_EQ(buf.size(), uvarint_size(v));
    std::string_view in = buf;
    EXPECT_EQ(read_uvarint(in), v);
    EXPECT_TRUE(in.empty());
  }
  std::string buf;
  put_uvarint(buf, 300);
  EXPECT_EQ(buf, std::string("\xac\x02"));
}

TEST(VarintTest, RejectsTruncatedAndOverlongInput) {
  std::string_view truncated = "\x80\x80";
  EXPECT_FALSE(read_uvarint(truncated).has_value());
  EXPECT_EQ(truncated.size(), 2U);
  std::string_view overflow = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
  EXPECT_FALSE(read_uvarint(overflow).has_value());
}

TEST(MultibaseTest, Base58KeepsLeadingZerosAndRoundTrips) {
  EXPECT_EQ(base58btc_encode(std::string("\0\0\x01", 3)), "112");
  EXPECT_EQ(base58btc_encode("hello world"), "StV1DL6CwTryKyV");
  EXPECT_EQ(base58btc_decode("StV1DL6CwTryKyV"), "hello world");
  EXPECT_FALSE(base58btc_decode("0OIl").has_value());
}

TEST(MultibaseTest, Base32MatchesRfc4648LowerCaseWithoutPadding) {
  EXPECT_EQ(base32_encode("foobar"), "mzxw6ytboi");
  EXPECT_EQ(base32_encode("f"), "my");
  EXPECT_EQ(base32_decode("MZXW6YTBOI"), "foobar");
  EXPECT_FALSE(base32_decode("m").has_value());     // impossible length
  EXPECT_FALSE(base32_decode("mz1w").has_value());  // '1' is not base32
}

TEST(MultibaseTest, Base36DecodesDigitsAndLetters) {
  EXPECT_EQ(base36_decode("0"), std::string(1, '\0'));
  EXPECT_EQ(base36_decode("73"), std::string(1, '\xff'));  // 7*36+3 = 255
  EXPECT_FALSE(base36_decode("a-b").has_value());
}

TEST(Sha256Test, MatchesFips180Vector) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, FileDigestEqualsInMemoryDigestAcrossBufferBoundary) {
  testing::TempDir dir;
  const std::string data = testing::deterministic_bytes("sha-file", (1 << 20) + 7);
  EXPECT_EQ(sha256_file_hex(dir.write("f.bin", data)), to_hex(sha256(data)));
}

TEST(Sha256Test, MissingFileIsAnIoError) {
  try {
    (void)sha256_file_hex("/nonexistent/farmhand/file");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(DeterministicBytesTest, MatchesKuboGeneratorPrefix) {
  const std::string bytes = testing::deterministic_bytes("v0-seed", 16);
  EXPECT_EQ(to_hex(sha256("x")).size(), 64U);
  std::string hex;
  for (unsigned char c : bytes) {
    constexpr std::string_view kHex = "0123456789abcdef";
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xf]);
  }
  EXPECT_EQ(hex, "4f235ce9425df0c3beae84441318fa7f");
}

}  // namespace
}  // namespace farmhand::ipfs
