#include "farmhand/blend/validate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "blend_builder.hpp"
#include "farmhand/blend/compressed.hpp"
#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

namespace fs = std::filesystem;

std::string gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const auto n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_EQ(ZSTD_isError(n), 0U);
  out.resize(n);
  return out;
}

// A body that does not compress to nothing: the header must come from the first block.
std::string payload(std::size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0x3f);
  return s;
}

class BlendValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand-blend-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& data) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

  // Expects kBlendInvalid from validate_file; returns the message.
  static std::string refusal(const fs::path& p, std::uint64_t max_bytes = 1 << 30,
                             int running = 500) {
    try {
      validate_file(p, max_bytes, running);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBlendInvalid) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error for " << p;
    return {};
  }

  fs::path dir_;
};

TEST_F(BlendValidateTest, EachPlainFormIsAccepted) {
  for (const std::string head :
       {"BLENDER-v304", "BLENDER_v279", "BLENDER-V300", "BLENDER17-01v0500"}) {
    const auto h = validate_file(write("plain.blend", testing::minimal_blend(head, payload(4000))),
                                 1 << 20, 500);
    EXPECT_EQ(h.compression, Compression::kNone) << head;
    EXPECT_EQ(h.header_size, static_cast<int>(head.size())) << head;
  }
}

TEST_F(BlendValidateTest, GzipOfEachFormIsReadFromItsFirstBytes) {
  const std::pair<std::string, int> forms[] = {
      {"BLENDER-v304", 304}, {"BLENDER_V279", 279}, {"BLENDER17-01v0500", 500}};
  for (const auto& [head, version] : forms) {
    const auto h = inspect_file(write("g.blend", gzip(head + payload(200'000))), 1 << 30);
    EXPECT_EQ(h.compression, Compression::kGzip) << head;
    EXPECT_EQ(h.version, version) << head;
  }
}

TEST_F(BlendValidateTest, ZstdOfEachFormIsReadFromItsFirstBytes) {
  const std::pair<std::string, int> forms[] = {
      {"BLENDER-v304", 304}, {"BLENDER_V279", 279}, {"BLENDER17-01v0500", 500}};
  for (const auto& [head, version] : forms) {
    const auto h = inspect_file(write("z.blend", zstd(head + payload(200'000))), 1 << 30);
    EXPECT_EQ(h.compression, Compression::kZstd) << head;
    EXPECT_EQ(h.version, version) << head;
    EXPECT_EQ(h.pointer_size, head[7] == '_' ? 4 : 8) << head;
  }
}

TEST_F(BlendValidateTest, ZstdHeaderSplitAcrossTwoFramesIsJoined) {
  // Blender writes several zstd frames; the header may end in the second one.
  const auto p = write("split.blend", zstd("BLENDER17-") + zstd("01v0402" + payload(100)));
  const auto h = inspect_file(p, 1 << 20);
  EXPECT_EQ(h.version, 402);
}

TEST_F(BlendValidateTest, NewerBlenderIsRefusedNamingBothVersions) {
  const auto msg = refusal(write("new.blend", "BLENDER17-01v0500" + payload(10)), 1 << 20, 304);
  EXPECT_NE(msg.find("Blender 5.0 (version 500)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Blender 3.4 (version 304)"), std::string::npos) << msg;
}

TEST_F(BlendValidateTest, SameOrOlderVersionIsAccepted) {
  EXPECT_EQ(
      validate_file(write("a.blend", testing::minimal_blend("BLENDER-v304")), 1000, 304).version,
      304);
  EXPECT_EQ(
      validate_file(write("b.blend", testing::minimal_blend("BLENDER-v279")), 1000, 304).version,
      279);
}

TEST_F(BlendValidateTest, PreTwoFiftyFileIsRefusedBeforeBlenderUpgradesIt) {
  // Blender 3.4's 2.50 upgrade of a sound strip opens the strip's file while reading.
  const auto msg = refusal(write("old.blend", testing::minimal_blend("BLENDER-v249")));
  EXPECT_NE(msg.find("refused: pre-2.50 file at the file header: the file was saved by "
                     "Blender 2.49 (version 249), older than 2.50"),
            std::string::npos)
      << msg;
  EXPECT_EQ(
      validate_file(write("ok.blend", testing::minimal_blend("BLENDER-v250")), 1000, 304).version,
      250);
}

TEST_F(BlendValidateTest, FileAboveSizeLimitIsRefusedWithBothSizes) {
  const auto msg = refusal(write("big.blend", "BLENDER-v304" + payload(988)), 999);
  EXPECT_NE(msg.find("1000 bytes, above the limit of 999 bytes"), std::string::npos) << msg;
}

TEST_F(BlendValidateTest, EmptyTruncatedAndGarbageFilesAreRefused) {
  EXPECT_NE(refusal(write("e.blend", "")).find("empty"), std::string::npos);
  EXPECT_NE(refusal(write("t.blend", "BLENDER-v3")).find("ends inside"), std::string::npos);
  EXPECT_NE(refusal(write("x.blend", payload(500))).find("does not start with"), std::string::npos);
}

TEST_F(BlendValidateTest, CorruptGzipIsRefused) {
  std::string g = gzip("BLENDER-v304" + payload(5000));
  for (std::size_t i = 10; i < 40; ++i) g[i] = static_cast<char>(g[i] ^ 0x5a);
  const auto msg = refusal(write("cg.blend", g));
  EXPECT_NE(msg.find("gzip-compressed .blend is corrupt"), std::string::npos) << msg;
}

TEST_F(BlendValidateTest, CorruptZstdIsRefused) {
  std::string z = zstd("BLENDER-v304" + payload(5000));
  z[4] = static_cast<char>(0xff);  // frame header descriptor: reserved bit set
  const auto msg = refusal(write("cz.blend", z));
  EXPECT_NE(msg.find("zstd-compressed .blend is corrupt"), std::string::npos) << msg;
}

TEST_F(BlendValidateTest, TruncatedCompressedStreamsGiveTruncatedHeader) {
  EXPECT_NE(refusal(write("tg.blend", gzip("BLENDER-v304").substr(0, 12))).find("ends inside"),
            std::string::npos);
  EXPECT_NE(refusal(write("tz.blend", std::string("\x28\xb5\x2f\xfd", 4))).find("empty"),
            std::string::npos);
}

TEST_F(BlendValidateTest, CompressedStreamWithoutHeaderInProbeWindowIsRefused) {
  // The prefix reader stops at max_input bytes of compressed input: 64 bytes of a
  // random-ish stream cannot yield 1 MiB of output, so it refuses instead of reading on.
  const std::string g = gzip(payload(100'000));
  std::size_t at = 0;
  ReadFn read = [&](std::span<std::uint8_t> buf) {
    const std::size_t n = std::min(buf.size(), g.size() - at);
    std::copy_n(g.begin() + static_cast<std::ptrdiff_t>(at), n, buf.begin());
    at += n;
    return n;
  };
  EXPECT_EQ(gunzip_prefix(read, 17, 1 << 20).size(), 17U);
  at = 0;
  EXPECT_THROW(gunzip_prefix(read, 1 << 20, 64), Error);
}

TEST_F(BlendValidateTest, MissingFileIsAnIoError) {
  try {
    inspect_file(dir_ / "nope.blend", 100);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

}  // namespace
}  // namespace farmhand::blend
