// The block walk, the SDNA checks and the decompressed-size ceiling, on files saved by real
// Blenders (tests/native/data/blend/, made by make_fixtures.py there) and on synthetic ones.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "blend_builder.hpp"
#include "farmhand/blend/blocks.hpp"
#include "farmhand/blend/sdna.hpp"
#include "farmhand/blend/validate.hpp"
#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

namespace fs = std::filesystem;
using testing::BlendBuilder;
using testing::minimal_blend;
using testing::minimal_sdna;
using testing::put;

const fs::path kData = fs::path(FARMHAND_TEST_DATA_DIR) / "blend";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string unzstd(const std::string& z) {
  const auto size = ZSTD_getFrameContentSize(z.data(), z.size());
  std::string out;
  if (size != ZSTD_CONTENTSIZE_UNKNOWN && size != ZSTD_CONTENTSIZE_ERROR) out.reserve(size);
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer in{z.data(), z.size(), 0};
  std::string chunk(1 << 16, '\0');
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    const auto rc = ZSTD_decompressStream(d, &o, &in);
    EXPECT_EQ(ZSTD_isError(rc), 0U);
    if (ZSTD_isError(rc) != 0U) break;
    out.append(chunk.data(), o.pos);
  }
  ZSTD_freeDCtx(d);
  return out;
}

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

// A zstd frame (RFC 8878) whose content is `prefix` (one raw block) followed by `zeros` zero
// bytes as RLE blocks of 128 KiB, 4 bytes each: how a 101 KB file inflates to 3 GiB.
std::string zstd_bomb(const std::string& prefix, std::uint64_t zeros) {
  std::string f("\x28\xb5\x2f\xfd", 4);
  f += '\0';                       // frame header descriptor: no content size, no checksum
  f += static_cast<char>(7 << 3);  // window descriptor: 2^(10+7) = 128 KiB
  auto block = [&f](bool last, int type, std::uint32_t size) {
    put(f, (size << 3) | (static_cast<std::uint32_t>(type) << 1) | (last ? 1U : 0U), 3);
  };
  block(zeros == 0, 0, static_cast<std::uint32_t>(prefix.size()));
  f += prefix;
  constexpr std::uint64_t kBlock = 128 << 10;
  for (std::uint64_t done = 0; done < zeros;) {
    const auto n = static_cast<std::uint32_t>(std::min(kBlock, zeros - done));
    done += n;
    block(done == zeros, 1, n);
    f += '\0';
  }
  return f;
}

class BlendStructureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand-structure-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& data) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

  // Expects kBlendInvalid from validate_structure; returns the message.
  std::string refusal(const std::string& data, std::uint64_t max_bytes = 1 << 30) {
    try {
      validate_structure(write("r.blend", data), max_bytes, 500);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBlendInvalid) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
  }

  fs::path dir_;
};

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST_F(BlendStructureTest, CubeSavedByBlender34WalksEveryBlock) {
  const auto z = slurp(kData / "cube_blender34.blend");
  const auto plain = unzstd(z);
  const auto v = validate_structure(kData / "cube_blender34.blend", 1 << 30, 304);
  EXPECT_EQ(v.header.version, 304);
  EXPECT_EQ(v.header.compression, Compression::kZstd);
  EXPECT_EQ(v.blocks.decompressed_bytes, plain.size());
  EXPECT_EQ(v.blocks.sdna_structs, 806U);  // Blender 3.4's DNA
  EXPECT_GT(v.blocks.blocks, 900U);
  EXPECT_TRUE(v.blocks.libraries.empty());
  EXPECT_EQ(v.blocks.current_scene, "Scene");  // FileGlobal.curscene -> its SC block's name
  // The same bytes uncompressed and gzip-compressed walk the same way.
  for (const auto& form : {plain, gzip(plain)}) {
    const auto w = validate_structure(write("same.blend", form), 1 << 30, 304);
    EXPECT_EQ(w.blocks.blocks, v.blocks.blocks);
    EXPECT_EQ(w.blocks.decompressed_bytes, plain.size());
  }
}

TEST_F(BlendStructureTest, CubeSavedByBpy50WithTheLargeHeaderWalksEveryBlock) {
  const auto plain = unzstd(slurp(kData / "cube_bpy50.blend"));
  const auto v = validate_structure(kData / "cube_bpy50.blend", 1 << 30, 500);
  EXPECT_EQ(v.header.header_size, 17);
  EXPECT_EQ(v.blocks.decompressed_bytes, plain.size());
  EXPECT_EQ(v.blocks.sdna_structs, 970U);      // bpy 5.0.1's DNA
  EXPECT_EQ(v.blocks.current_scene, "Scene");  // ID.name is 258 bytes there
  EXPECT_GT(v.blocks.blocks, 1000U);
}

TEST_F(BlendStructureTest, LinkedLibrariesAreRefusedNamingTheirPaths) {
  for (const char* name : {"linked_blender34.blend", "linked_bpy50.blend"}) {
    const auto msg = refusal(slurp(kData / name));
    EXPECT_HAS(msg, "linked library");
    EXPECT_HAS(msg, "(\"//" + std::string(name) + ".lib.blend\")");
  }
}

TEST_F(BlendStructureTest, AFontNotPackedIsRefusedBeforeBlenderOpensTheFile) {
  // Three text objects: the built-in font, a packed font, a font read from a file.
  for (const char* name : {"fonts_blender34.blend", "fonts_bpy50.blend"}) {
    const auto msg = refusal(slurp(kData / name));
    EXPECT_HAS(msg,
               "refused: 1 external file is not packed: //fonts/unpacked.ttf "
               "(font 'unpacked') — File > External Data > Pack Resources");
    EXPECT_EQ(msg.find("packed.ttf (font 'packed')"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("builtin"), std::string::npos) << msg;
  }
}

TEST_F(BlendStructureTest, AFontWhosePackedPointerNamesNoBlockOfItsOwnIsRefused) {
  // Blender remaps a packedfile pointer that names no block to NULL and reads the path: the
  // packed font's pointer pointed at another ID's block must not count as packed.
  const auto plain = unzstd(slurp(kData / "fonts_blender34.blend"));
  auto forged = plain;
  const auto packed_path = forged.find("//fonts/packed.ttf");
  ASSERT_NE(packed_path, std::string::npos);
  // VFont in 3.4: ID, filepath[1024], then the data and packedfile pointers (DNA_vfont_types.h):
  // both become an address no block of the file has.
  const std::size_t pointers_at = packed_path + 1024;
  for (std::size_t i = 0; i < 16; ++i) forged[pointers_at + i] = static_cast<char>(0x11 + i);
  const auto msg = refusal(forged);
  EXPECT_HAS(msg,
             "2 external files are not packed: //fonts/packed.ttf (font 'packed'), "
             "//fonts/unpacked.ttf (font 'unpacked')");
}

TEST_F(BlendStructureTest, CorruptedBytesInTheRealDnaAreRefused) {
  // 30 bytes XOR-ed at several places of the STRC/TLEN sections, as the crash files.
  for (const char* name : {"cube_blender34.blend", "cube_bpy50.blend"}) {
    const auto plain = unzstd(slurp(kData / name));
    const auto strc = plain.rfind("STRC");
    const auto tlen = plain.rfind("TLEN");
    ASSERT_NE(strc, std::string::npos);
    for (const auto at : {tlen + 40, strc + 8, strc + 1000, strc + 5000}) {
      std::string bad = plain;
      for (std::size_t i = at; i < at + 30; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
      EXPECT_HAS(refusal(bad), "is corrupt") << name << " at " << at;
    }
  }
}

TEST_F(BlendStructureTest, SyntheticFilesOfEveryLayoutAreAccepted) {
  for (const std::string head :
       {"BLENDER-v304", "BLENDER_v279", "BLENDER-V300", "BLENDER_V279", "BLENDER17-01v0500"}) {
    const auto data = BlendBuilder(head)
                          .block("DATA", std::string(24, 'a'), 1, 2)  // two Thing structs
                          .block("DATA", std::string(5, 'r'))
                          .dna()
                          .end();
    const auto v = validate_structure(write("s.blend", data), 1 << 20, 500);
    EXPECT_EQ(v.blocks.blocks, 4U) << head;
    EXPECT_EQ(v.blocks.decompressed_bytes, data.size()) << head;
    EXPECT_EQ(v.blocks.sdna_structs, 3U) << head;
  }
}

TEST_F(BlendStructureTest, SyntheticLibraryPathIsReadThroughTheSdna) {
  std::string lib = std::string("//lib", 5) + std::string(3, '\0');  // name[8]
  lib += std::string("/etc/shadow", 11) + std::string(5, '\0');      // filepath[16]
  const auto msg = refusal(BlendBuilder().block("LI", lib, 2).dna().end());
  EXPECT_HAS(msg, "(\"/etc/shadow\")");
}

// A file with GLOB {char pad[8]; Scene *curscene} and scenes {ID id} (ID {char name[8]}),
// in every layout: the current scene is the one whose block's old pointer curscene holds.
TEST_F(BlendStructureTest, CurrentSceneIsTheSceneFileGlobalPointsAt) {
  const auto scene_file = [](const std::string& head, std::uint64_t current,
                             const std::string& second_name) {
    BlendBuilder b(head);
    const int ptr = b.pointer_size();
    const bool big = b.big_endian();
    const auto sdna = testing::sdna_bytes({"name[8]", "id", "pad[8]", "*curscene"},
                                          {"char", "ID", "Scene", "FileGlobal"}, {1, 8, 8, 8 + ptr},
                                          {{1, 1, 0, 0}, {2, 1, 1, 1}, {3, 2, 0, 2, 2, 3}}, big);
    std::string glob(8, 'g');
    testing::put(glob, current, ptr, big);
    return b.block("GLOB", glob, 2, 1, std::nullopt, 0x10)
        .block("SC", std::string("SCFirst\0", 8), 1, 1, std::nullopt, 0x2000)
        .block("SC", second_name, 1, 1, std::nullopt, 0x3000)
        .dna(sdna)
        .end();
  };
  for (const std::string head : {"BLENDER-v304", "BLENDER_V279", "BLENDER17-01v0500"}) {
    const auto second = std::string("SCSecon\0", 8);
    auto v = validate_structure(write("s.blend", scene_file(head, 0x3000, second)), 1 << 20, 500);
    EXPECT_EQ(v.blocks.current_scene, "Secon") << head;
    v = validate_structure(write("s.blend", scene_file(head, 0x2000, second)), 1 << 20, 500);
    EXPECT_EQ(v.blocks.current_scene, "First") << head;
    // curscene pointing at no scene block, or a name that is not UTF-8: not known
    v = validate_structure(write("s.blend", scene_file(head, 0x4000, second)), 1 << 20, 500);
    EXPECT_EQ(v.blocks.current_scene, "") << head;
    v = validate_structure(
        write("s.blend", scene_file(head, 0x3000, std::string("SC\xff\xfe\0\0\0\0", 8))), 1 << 20,
        500);
    EXPECT_EQ(v.blocks.current_scene, "") << head;
  }
}

TEST_F(BlendStructureTest, BrokenBlockChainsAreRefusedSayingWhy) {
  const std::string d = minimal_sdna();
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", "x", 0, 1, -5).dna().end()), "negative length");
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", "x", 0, -1).dna().end()), "negative");
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", "xy", 0, 1, 4000).bytes()),
             "ends inside block 1");
  EXPECT_HAS(refusal(BlendBuilder().dna().bytes()), "ends inside the header of block 2");
  EXPECT_HAS(refusal(BlendBuilder().dna().end() + "trailing"), "data after the end block");
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", "x").end()), "no DNA block");
  EXPECT_HAS(refusal(BlendBuilder().dna().dna().end()), "second DNA block");
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", "x", 3).dna().end()),
             "names struct 3 but the SDNA has 3");
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", "x", 70000).dna().end()), "outside any SDNA");
  EXPECT_HAS(refusal(BlendBuilder().block("DATA", std::string(20, 'a'), 1, 2).dna().end()),
             "Thing structs gives each only 10 of its 12 bytes");
  EXPECT_HAS(refusal(BlendBuilder().block("DNA1", std::string(kMaxSdnaBytes + 1, 'x'), 0, 1).end()),
             "above the");
}

TEST_F(BlendStructureTest, CorruptSdnaIsRefusedSayingWhat) {
  const std::string good = minimal_sdna();
  auto with = [&](std::string sdna) { return refusal(BlendBuilder().dna(sdna).end()); };
  std::string s = good;
  s[0] = 'X';
  EXPECT_HAS(with(s), "no \"SDNA\" section marker");
  s = good;
  s.replace(s.find("TLEN") + 4 + 2 * 3, 2, std::string("\x0d\x00", 2));  // Thing: 13 bytes
  EXPECT_HAS(with(s), "struct Thing records 13 bytes but its members add up to 12");
  s = good;
  s.replace(s.find("name[8]"), 7, "name[8)");
  EXPECT_HAS(with(s), "is not a C declarator");
  s = good;
  const auto strc = s.find("STRC") + 8;
  s[strc + 4] = 9;  // Link's first member type -> 9 of 5
  EXPECT_HAS(with(s), "beyond the catalogue");
  // A and B contain each other by value; equal sizes keep the size check quiet.
  EXPECT_HAS(with(testing::sdna_bytes({"a", "b"}, {"char", "A", "B"}, {1, 8, 8},
                                      {{1, 1, 2, 1}, {2, 1, 1, 0}})),
             "contains itself by value");
  EXPECT_HAS(with(good.substr(0, 30)), "runs past the end of the DNA block");
}

TEST_F(BlendStructureTest, MemberSizesFollowCDeclarators) {
  EXPECT_EQ(member_size("*next", 99, 8), 8U);
  EXPECT_EQ(member_size("**p", 99, 4), 4U);
  EXPECT_EQ(member_size("(*func)()", 0, 8), 8U);
  EXPECT_EQ(member_size("mat[4][4]", 4, 8), 64U);
  EXPECT_EQ(member_size("*arr[3]", 1, 8), 24U);
  EXPECT_FALSE(member_size("", 4, 8));
  EXPECT_FALSE(member_size("a[0]", 4, 8));
  EXPECT_FALSE(member_size("a[", 4, 8));
  EXPECT_FALSE(member_size("a[2]x", 4, 8));
  EXPECT_FALSE(member_size("(*f", 4, 8));
}

TEST_F(BlendStructureTest, ZstdBombIsRefusedAtTheLimitInBoundedMemory) {
  // 101 KB that inflates to 3 GiB: a valid start, then RLE zeros in one huge DATA block.
  const std::string start =
      BlendBuilder("BLENDER17-01v0500").block("DATA", "", 0, 1, std::int64_t{3} << 30).bytes();
  const auto bomb = zstd_bomb(start, std::uint64_t{3} << 30);
  EXPECT_LT(bomb.size(), 110'000U);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto msg = refusal(bomb, std::uint64_t{2} << 30);
  EXPECT_HAS(msg, "decompresses to more than 2147483648 bytes (max_job_bytes x 1)");
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 << 10) << "KiB of peak RSS growth";
}

TEST_F(BlendStructureTest, GzipBombIsRefusedAtTheLimit) {
  const std::string plain = BlendBuilder().block("DATA", std::string(8 << 20, '\0')).dna().end();
  EXPECT_HAS(refusal(gzip(plain), 1 << 20), "decompresses to more than 1048576 bytes");
  EXPECT_EQ(validate_structure(write("ok.blend", gzip(plain)), 16 << 20, 304).blocks.blocks, 3U);
}

TEST_F(BlendStructureTest, TruncatedCompressedStreamsAreRefused) {
  const auto z = slurp(kData / "cube_blender34.blend");
  EXPECT_HAS(refusal(z.substr(0, z.size() / 2)), "zstd-compressed .blend is corrupt");
  const auto g = gzip(unzstd(z));
  EXPECT_HAS(refusal(g.substr(0, g.size() / 2)), "gzip-compressed .blend is corrupt");
}

}  // namespace
}  // namespace farmhand::blend
