// StreamHasher (the CID of bytes as they pass, used while uploading) against cid_of (the
// importer, whose CIDs importer_test.cpp and tests/ipfs compare with kubo), HasherThread
// (the same on a thread of its own), and HashingFilePart, which feeds it from the reads
// that send a file.
#include "farmhand/ipfs/stream_hasher.hpp"

#include <gtest/gtest.h>

#include <string>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/chunker.hpp"
#include "farmhand/ipfs/hasher_thread.hpp"
#include "farmhand/ipfs/importer.hpp"
#include "farmhand/ipfs/uploader.hpp"
#include "test_util.hpp"

namespace farmhand::ipfs {
namespace {

std::string bytes_of(std::size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242U;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

TEST(StreamHasherTest, SameCidAsTheImporterForEverySizeAndPieceSize) {
  testing::TempDir dir;
  const std::size_t chunk = kDefaultChunkSize;
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, chunk - 1, chunk, chunk + 1, 174 * chunk + 1}) {
    const std::string data = bytes_of(n);
    dir.write("f.bin", data);
    for (int version : {0, 1}) {
      const Cid want = cid_of(dir.path() / "f.bin", {version, 0});
      for (std::size_t piece : {std::size_t{1000}, std::size_t{1} << 20}) {
        StreamHasher h(n, version);
        for (std::size_t at = 0; at < n; at += piece) {
          h.update(std::string_view(data).substr(at, piece));
        }
        EXPECT_EQ(h.done(), n);
        EXPECT_EQ(h.finish(), want) << "n=" << n << " v" << version << " piece=" << piece;
      }
    }
  }
}

TEST(StreamHasherTest, TooManyOrTooFewBytesAndBadVersionAreInvalid) {
  StreamHasher h(3, 0);
  EXPECT_THROW(h.update("abcd"), Error);
  h.update("ab");
  EXPECT_THROW((void)h.finish(), Error);
  EXPECT_THROW(StreamHasher(3, 2), Error);
}

TEST(HasherThreadTest, SameCidAsTheImporterWhateverThePiecesAndAfterARestart) {
  testing::TempDir dir;
  // 9 MiB + 1: more than every slot (HasherThread::kSlots x kSlotBytes), so update() waits
  // for the thread; pieces smaller than a slot, equal to it, and larger (split into slots).
  const std::size_t n = 9 * HasherThread::kSlotBytes + 1;
  const std::string data = bytes_of(n);
  dir.write("f.bin", data);
  for (int version : {0, 1}) {
    const Cid want = cid_of(dir.path() / "f.bin", {version, 0});
    for (std::size_t piece :
         {std::size_t{1000}, HasherThread::kSlotBytes, 3 * HasherThread::kSlotBytes + 7}) {
      HasherThread h(n, version);
      h.update(std::string_view(data).substr(0, 5 * piece));  // then start over
      h.restart();
      for (std::size_t at = 0; at < n; at += piece) {
        h.update(std::string_view(data).substr(at, piece));
      }
      EXPECT_EQ(h.finish(), want) << "v" << version << " piece=" << piece;
    }
  }
  HasherThread empty(0, 0);
  EXPECT_EQ(empty.finish(), cid_of(dir.write("empty", ""), {0, 0}));
}

TEST(HasherThreadTest, TooManyOrTooFewBytesAndBadVersionAreInvalid) {
  HasherThread h(3, 1);
  EXPECT_THROW(h.update("abcd"), Error);
  h.update("ab");
  try {
    (void)h.finish();
    FAIL() << "expected kInvalidArgument";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_THROW(HasherThread(3, 2), Error);
  HasherThread dropped(10 * HasherThread::kSlotBytes, 0);  // destroyed with bytes queued
  dropped.update(std::string(2 * HasherThread::kSlotBytes, 'x'));
}

TEST(HashingFilePartTest, ReadingThePartGivesTheBytesAndTheCid) {
  testing::TempDir dir;
  const std::string data = bytes_of(3 * kDefaultChunkSize + 5);
  dir.write("frame.exr", data);
  HashingFilePart feed(dir.path() / "frame.exr", 1);
  const http::MultipartPart part = feed.part("frame.exr");
  EXPECT_EQ(part.size, data.size());
  EXPECT_THROW((void)feed.cid(), Error);  // nothing sent yet
  std::string sent;
  std::string buf(100'000, '\0');
  for (std::size_t n; (n = part.read(buf.data(), buf.size())) > 0;) sent.append(buf, 0, n);
  EXPECT_EQ(sent, data);
  part.rewind();  // libcurl resending: hashed again from the start
  sent.clear();
  for (std::size_t n; (n = part.read(buf.data(), buf.size())) > 0;) sent.append(buf, 0, n);
  EXPECT_EQ(sent, data);
  EXPECT_EQ(feed.cid(), cid_of(dir.path() / "frame.exr", {1, 0}));
}

TEST(HashingFilePartTest, AFileThatShrinksWhileSentIsAnIoError) {
  testing::TempDir dir;
  dir.write("f.bin", bytes_of(1000));
  HashingFilePart feed(dir.path() / "f.bin", 0);
  const http::MultipartPart part = feed.part("f.bin");
  std::filesystem::resize_file(dir.path() / "f.bin", 10);
  std::string buf(4096, '\0');
  EXPECT_EQ(part.read(buf.data(), buf.size()), 10U);
  try {
    (void)part.read(buf.data(), buf.size());
    FAIL() << "expected kIo";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("shrank"), std::string::npos);
  }
}

TEST(HashingFilePartTest, MissingFileOrDirectoryIsAnIoError) {
  testing::TempDir dir;
  for (const auto& p : {dir.path() / "missing", dir.path()}) {
    try {
      HashingFilePart feed(p, 0);
      FAIL() << "expected kIo for " << p;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo);
    }
  }
}

}  // namespace
}  // namespace farmhand::ipfs
