#include "farmhand/blend/validate.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <system_error>

#include "farmhand/blend/compressed.hpp"
#include "farmhand/blend/stream.hpp"
#include "farmhand/error.hpp"

namespace farmhand::blend {
namespace {

// Compressed input we are willing to read to reach 17 bytes of header: a sane encoder
// emits them within the first block; 1 MiB bounds the work for hostile input.
constexpr std::size_t kMaxCompressedProbe = 1 << 20;
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

// `"a", "b"`: each path in double quotes, comma-separated.
std::string quoted(const std::vector<std::string>& paths) {
  std::string out;
  for (const auto& path : paths) out += (out.empty() ? "\"" : ", \"") + path + "\"";
  return out;
}

}  // namespace

Header inspect_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    throw Error(ErrorKind::kIo, "cannot read job file " + path.string() + ": " + ec.message());
  }
  if (size > max_bytes) {
    throw Error(ErrorKind::kBlendInvalid, "job file " + path.string() + " is " +
                                              std::to_string(size) + " bytes, above the limit of " +
                                              std::to_string(max_bytes) + " bytes (max_job_bytes)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kIo, "cannot open job file " + path.string());
  ReadFn read = [&in](std::span<std::uint8_t> buf) -> std::size_t {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    return static_cast<std::size_t>(in.gcount());
  };

  std::array<std::uint8_t, kMaxHeaderBytes> head{};
  const std::size_t got = read(head);
  const std::span<const std::uint8_t> first(head.data(), got);
  const Compression compression = detect_compression(first);
  Header h;
  if (compression == Compression::kNone) {
    h = parse_header(first);
  } else {
    // Replay the bytes already read, then continue from the stream.
    std::size_t replayed = 0;
    ReadFn chained = [&](std::span<std::uint8_t> buf) -> std::size_t {
      if (replayed < got) {
        const std::size_t n = std::min(buf.size(), got - replayed);
        std::copy_n(head.begin() + static_cast<std::ptrdiff_t>(replayed), n, buf.begin());
        replayed += n;
        return n;
      }
      return read(buf);
    };
    const auto bytes = compression == Compression::kGzip
                           ? gunzip_prefix(chained, kMaxHeaderBytes, kMaxCompressedProbe)
                           : unzstd_prefix(chained, kMaxHeaderBytes, kMaxCompressedProbe);
    h = parse_header(bytes);
  }
  h.compression = compression;
  return h;
}

Validated validate_structure(const std::filesystem::path& path, std::uint64_t max_bytes,
                             int running_version) {
  Header h = inspect_file(path, max_bytes);
  if (h.version > running_version) {
    throw Error(ErrorKind::kBlendInvalid,
                "the file was saved by Blender " + version_name(h.version) + " (version " +
                    std::to_string(h.version) + "), newer than this worker's Blender " +
                    version_name(running_version) + " (version " + std::to_string(running_version) +
                    "): run the worker in a newer Blender, or re-save the file in " +
                    version_name(running_version));
  }
  if (h.version < kOldestVersion) {
    // Blender's upgrade of a pre-2.50 file runs code that opens external files while the
    // .blend is read (3.4's 2.50 versioning of sound strips calls BKE_sound_new_file on the
    // strip's path: a header patched to 249 opened a file outside the job dir, review of
    // 2026-12-04), before any check of ours could run.
    throw Error(ErrorKind::kBlendInvalid,
                "refused: pre-2.50 file at the file header: the file was saved by Blender " +
                    version_name(h.version) + " (version " + std::to_string(h.version) +
                    "), older than 2.50, and Blender upgrades such files with code that opens "
                    "the files they name: open it in Blender 2.80 or newer, save and submit "
                    "again");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kIo, "cannot open job file " + path.string());
  ReadFn read = [&in](std::span<std::uint8_t> buf) -> std::size_t {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    return static_cast<std::size_t>(in.gcount());
  };
  const std::uint64_t limit = max_bytes > kNoLimit / kDecompressedLimitFactor
                                  ? kNoLimit
                                  : max_bytes * kDecompressedLimitFactor;
  DecompressedStream stream(read, h.compression, limit,
                            "max_job_bytes x " + std::to_string(kDecompressedLimitFactor));
  Validated v{h, scan_blocks(stream, h)};
  if (!v.blocks.libraries.empty()) {
    const std::string names = quoted(v.blocks.libraries);
    throw Error(ErrorKind::kBlendInvalid,
                "refused: linked library at LI block: the file links data from " +
                    std::to_string(v.blocks.libraries.size()) + " other file(s) (" + names +
                    "), which a worker never opens; make the linked data local (Object > "
                    "Relations > Make Local > All) and save again");
  }
  if (!v.blocks.cache_files.empty()) {
    // The audit refuses every Alembic/USD cache (addon/farmhand/capabilities.py), but Blender
    // opens a CacheFile's file while it reads the .blend (bpy 5.0, strace of 2026-12-04), so
    // the refusal comes before Blender runs.
    const std::string names = quoted(v.blocks.cache_files);
    throw Error(ErrorKind::kBlendInvalid,
                "refused: Alembic/USD cache at CF block: the file reads " +
                    std::to_string(v.blocks.cache_files.size()) + " cache file(s) (" + names +
                    "), which Blender opens while it reads the .blend; a worker reads only the "
                    "job's .blend: bake the animation into the file (remove the Mesh Sequence "
                    "Cache modifiers, Transform Cache constraints and the cache file) and save "
                    "again");
  }
  if (!v.blocks.unpacked_fonts.empty()) {
    // The audit's missing_files wording (addon/farmhand/audit.py, missing_files_message);
    // checked here because Blender reads a font's file while it opens the .blend, before
    // the audit sees the loaded data.
    const auto& fonts = v.blocks.unpacked_fonts;
    constexpr std::size_t kListed = 5;
    std::string listed;
    for (std::size_t i = 0; i < fonts.size() && i < kListed; ++i) {
      listed += (i ? ", " : "") + fonts[i].path + " (font '" + fonts[i].name + "')";
    }
    if (fonts.size() > kListed)
      listed += " and " + std::to_string(fonts.size() - kListed) + " more";
    throw Error(ErrorKind::kBlendInvalid,
                "refused: " + std::to_string(fonts.size()) +
                    (fonts.size() == 1 ? " external file is" : " external files are") +
                    " not packed: " + listed +
                    " — File > External Data > Pack Resources, then submit again (Blender "
                    "reads a font's file while it opens the .blend, so a worker refuses it "
                    "before opening)");
  }
  return v;
}

Header validate_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                     int running_version) {
  return validate_structure(path, max_bytes, running_version).header;
}

}  // namespace farmhand::blend
