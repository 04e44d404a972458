#include "farmhand/blend/header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

std::vector<std::uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

// Runs parse_header expecting kBlendInvalid; returns the message.
std::string parse_error(const std::string& s) {
  const auto b = bytes(s);
  try {
    parse_header(b);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBlendInvalid);
    return e.what();
  }
  ADD_FAILURE() << "no error for \"" << s << "\"";
  return {};
}

TEST(BlendHeaderTest, LegacyLittleEndian64BitIsBlender34) {
  const auto h = parse_header(bytes("BLENDER-v304REND"));
  EXPECT_EQ(h.version, 304);
  EXPECT_EQ(h.pointer_size, 8);
  EXPECT_EQ(h.endianness, Endianness::kLittle);
  EXPECT_EQ(h.header_size, 12);
  EXPECT_EQ(h.format_version, 0);
}

TEST(BlendHeaderTest, Legacy32BitBigEndian) {
  const auto h = parse_header(bytes("BLENDER_V279"));
  EXPECT_EQ(h.version, 279);
  EXPECT_EQ(h.pointer_size, 4);
  EXPECT_EQ(h.endianness, Endianness::kBig);
}

TEST(BlendHeaderTest, LargeHeaderOfBlender5) {
  const auto h = parse_header(bytes("BLENDER17-01v0500REND"));
  EXPECT_EQ(h.version, 500);
  EXPECT_EQ(h.pointer_size, 8);
  EXPECT_EQ(h.endianness, Endianness::kLittle);
  EXPECT_EQ(h.header_size, 17);
  EXPECT_EQ(h.format_version, 1);
}

TEST(BlendHeaderTest, EmptyInputIsRefused) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
}

TEST(BlendHeaderTest, WrongMagicIsRefusedShowingTheStart) {
  const auto msg = parse_error("PK\x03\x04zipfile!");
  EXPECT_NE(msg.find("does not start with \"BLENDER\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("PK\\x03\\x04"), std::string::npos) << msg;
}

TEST(BlendHeaderTest, TruncatedLegacyHeaderIsRefused) {
  EXPECT_NE(parse_error("BLENDER-v30").find("ends inside its header (11 bytes"), std::string::npos);
  EXPECT_NE(parse_error("BLEND").find("ends inside"), std::string::npos);
}

TEST(BlendHeaderTest, TruncatedLargeHeaderIsRefused) {
  EXPECT_NE(parse_error("BLENDER17-01v050").find("17-byte header (16 bytes)"), std::string::npos);
}

TEST(BlendHeaderTest, BadPointerMarkerIsRefused) {
  EXPECT_NE(parse_error("BLENDER*v304").find("pointer-size marker"), std::string::npos);
}

TEST(BlendHeaderTest, BadEndiannessMarkerIsRefused) {
  EXPECT_NE(parse_error("BLENDER-x304").find("endianness marker at byte 8"), std::string::npos);
  EXPECT_NE(parse_error("BLENDER17-01x0500").find("endianness marker at byte 12"),
            std::string::npos);
}

TEST(BlendHeaderTest, NonDigitVersionIsRefused) {
  EXPECT_NE(parse_error("BLENDER-v3a4").find("version is not 3 decimal digits"), std::string::npos);
  EXPECT_NE(parse_error("BLENDER17-01v05x0").find("version is not 4 decimal digits"),
            std::string::npos);
}

TEST(BlendHeaderTest, UnknownLargeHeaderSizeOrFormatIsRefused) {
  EXPECT_NE(parse_error("BLENDER18-01v0500X").find("header size 18"), std::string::npos);
  EXPECT_NE(parse_error("BLENDER17-02v0500").find("format version 2"), std::string::npos);
  EXPECT_NE(parse_error("BLENDER17_01v0500").find("'-' (8-byte pointers) at byte 9"),
            std::string::npos);
}

TEST(BlendHeaderTest, VersionNamesFollowBlender) {
  EXPECT_EQ(version_name(304), "3.4");
  EXPECT_EQ(version_name(500), "5.0");
  EXPECT_EQ(version_name(402), "4.2");
  EXPECT_EQ(version_name(279), "2.79");
}

}  // namespace
}  // namespace farmhand::blend
