// CarReader: CARv1 framing (ipld "CARv1 Specification"), the strict dag-cbor header and
// per-block verification, fed in any split.
#include "farmhand/ipfs/car_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/varint.hpp"

namespace farmhand::ipfs {
namespace {

// dag-cbor {"roots": [root], "version": version}, keys in dag-cbor order.
std::string header(const Cid& root, int version = 1) {
  std::string cbor = "\xa2\x65roots\x81\xd8\x2a";
  const std::string cid = std::string(1, '\0') + root.bytes();
  cbor += static_cast<char>(0x58);
  cbor += static_cast<char>(cid.size());
  cbor += cid;
  cbor += "\x67version";
  cbor += static_cast<char>(version);
  std::string out;
  put_uvarint(out, cbor.size());
  return out + cbor;
}

std::string section(const Cid& cid, const std::string& data) {
  std::string out;
  put_uvarint(out, cid.bytes().size() + data.size());
  return out + cid.bytes() + data;
}

Cid raw_cid(const std::string& data) {
  return Cid::from_digest(1, kCodecRaw, sha256(data));
}
Cid pb_cid(const std::string& data) {
  return Cid::from_digest(0, kCodecDagPb, sha256(data));
}

// Feeds `car` `step` bytes at a time, collecting every block; finish() at the end.
std::vector<CarBlock> read_all(const std::string& car, std::size_t step) {
  CarReader reader("test stream");
  std::vector<CarBlock> out;
  for (std::size_t i = 0; i < car.size(); i += step) {
    reader.feed(std::string_view(car).substr(i, step));
    while (auto b = reader.next()) out.push_back(std::move(*b));
  }
  reader.finish();
  return out;
}

ErrorKind kind_of(const std::string& car, std::string* message = nullptr) {
  try {
    (void)read_all(car, 7);
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::kInvalidArgument;
}

const std::string kLeaf = "leaf bytes of a raw block";
const std::string kNode = "pretend dag-pb node";

std::string valid_car() {
  return header(pb_cid(kNode)) + section(pb_cid(kNode), kNode) + section(raw_cid(kLeaf), kLeaf);
}

TEST(CarReaderTest, ValidCarYieldsVerifiedBlocksInOrderWhateverTheSplit) {
  for (std::size_t step : {1UL, 3UL, 64UL, 100000UL}) {
    const auto blocks = read_all(valid_car(), step);
    ASSERT_EQ(blocks.size(), 2U) << step;
    EXPECT_EQ(blocks[0].cid, pb_cid(kNode));
    EXPECT_EQ(blocks[0].data, kNode);
    EXPECT_EQ(blocks[1].cid, raw_cid(kLeaf));
    EXPECT_EQ(blocks[1].data, kLeaf);
  }
  CarReader reader;
  reader.feed(valid_car());
  EXPECT_TRUE(reader.next().has_value());
  EXPECT_TRUE(reader.header_read());
  ASSERT_EQ(reader.roots().size(), 1U);
  EXPECT_EQ(reader.roots()[0], pb_cid(kNode));
}

TEST(CarReaderTest, KuboDagExportHeaderDecodes) {
  // The first 57 bytes of `ipfs dag export` of a 1 MB file (kubo 0.42).
  const std::string hex =
      "38a265726f6f747381d82a5823001220e6f17d129f9524ec7a544680895ddcf919af7394ff48a2ac303f"
      "58f34624c7e76776657273696f6e01";
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  const Cid root = Cid::parse("QmdtA451sJZL8T89r9nuMSf3V3zaDsng7oUpZvXCt5jeri");
  EXPECT_EQ(decode_car_header(bytes.substr(1)), std::vector<Cid>{root});
  EXPECT_EQ(header(root), bytes);  // the test's own encoder writes what kubo writes
}

TEST(CarReaderTest, TruncatedStreamIsRejectedAtTheEnd) {
  const std::string car = valid_car();
  std::string message;
  EXPECT_EQ(kind_of(car.substr(0, car.size() - 1), &message), ErrorKind::kMalformedResponse);
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  EXPECT_EQ(kind_of(car.substr(0, 20), &message), ErrorKind::kMalformedResponse);
  EXPECT_NE(message.find("header"), std::string::npos) << message;
  EXPECT_EQ(kind_of(""), ErrorKind::kMalformedResponse);
}

TEST(CarReaderTest, OversizedOrOverlongVarintIsRejectedBeforeTheBytesArrive) {
  const std::string head = header(raw_cid(kLeaf));
  CarReader reader;
  std::string len;
  put_uvarint(len, std::size_t{3} << 20);  // 3 MiB section: over the 2 MiB block limit
  reader.feed(head + len);
  try {
    (void)reader.next();
    ADD_FAILURE() << "accepted a 3 MiB section";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kMalformedResponse);
    EXPECT_NE(std::string(e.what()).find("3145728"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kind_of(head + std::string(11, '\xff')), ErrorKind::kMalformedResponse);
  EXPECT_EQ(kind_of(std::string(11, '\xff')), ErrorKind::kMalformedResponse);  // header length
  std::string zero;
  put_uvarint(zero, 0);
  EXPECT_EQ(kind_of(head + zero), ErrorKind::kMalformedResponse);
}

TEST(CarReaderTest, BadCidIsRejected) {
  const std::string head = header(raw_cid(kLeaf));
  std::string bad_version = "\x02\x55\x12\x20" + std::string(32, 'x') + kLeaf;  // CIDv2
  std::string s;
  put_uvarint(s, bad_version.size());
  std::string message;
  EXPECT_EQ(kind_of(head + s + bad_version, &message), ErrorKind::kMalformedResponse);
  EXPECT_NE(message.find("section 0"), std::string::npos) << message;
  std::string cut = "\x01\x55\x12\x20" + std::string(5, 'x');  // digest longer than section
  s.clear();
  put_uvarint(s, cut.size());
  EXPECT_EQ(kind_of(head + s + cut), ErrorKind::kMalformedResponse);
}

TEST(CarReaderTest, BlockHashMismatchIsRejectedAndNeverReturned) {
  std::string car = valid_car();
  car.back() = static_cast<char>(car.back() ^ 1);  // last byte of the leaf
  CarReader reader("gateway stub");
  reader.feed(car);
  ASSERT_TRUE(reader.next().has_value());  // the node before it is fine
  try {
    (void)reader.next();
    ADD_FAILURE() << "returned a block that does not hash to its CID";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBlockVerificationFailed);
    EXPECT_NE(std::string(e.what()).find("do not hash"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(raw_cid(kLeaf).to_string()), std::string::npos);
  }
}

TEST(CarReaderTest, NonSha256MultihashCannotBeVerified) {
  // CIDv1 raw with multihash identity (0x00), 4-byte digest.
  const std::string cid = std::string("\x01\x55\x00\x04", 4) + "abcd";
  std::string s;
  put_uvarint(s, cid.size() + 4);
  EXPECT_EQ(kind_of(header(raw_cid(kLeaf)) + s + cid + "abcd"),
            ErrorKind::kBlockVerificationFailed);
}

TEST(CarReaderTest, HeaderMustBeStrictCarV1) {
  const Cid root = raw_cid(kLeaf);
  std::string message;
  EXPECT_EQ(kind_of(header(root, 2), &message), ErrorKind::kMalformedResponse);
  EXPECT_NE(message.find("version 2"), std::string::npos) << message;
  EXPECT_THROW((void)decode_car_header("\xa1\x67version\x01"), Error);             // no roots
  EXPECT_THROW((void)decode_car_header("\xa2\x65roots\x80\x65other\x01"), Error);  // odd key
  EXPECT_THROW((void)decode_car_header("\xbf\xff"), Error);                        // indefinite
  EXPECT_THROW((void)decode_car_header(header(root).substr(1) + "x"), Error);      // trailing
  EXPECT_EQ(decode_car_header("\xa2\x65roots\x80\x67version\x01"), std::vector<Cid>{});
}

}  // namespace
}  // namespace farmhand::ipfs
