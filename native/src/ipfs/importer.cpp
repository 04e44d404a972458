#include "farmhand/ipfs/importer.hpp"

#include <algorithm>
#include <future>
#include <thread>
#include <vector>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/balanced_layout.hpp"
#include "farmhand/ipfs/chunker.hpp"

namespace farmhand::ipfs {
namespace {

// Largest estimated directory block kubo still writes as a basic directory
// (boxo unixfs/io/directory.go HAMTShardingSize); above it kubo shards, which we do not.
constexpr std::size_t kMaxBasicDirectoryBytes = std::size_t{256} * 1024;

unsigned thread_count(const ImportOptions& o) {
  const unsigned n = o.threads != 0 ? o.threads : std::thread::hardware_concurrency();
  return std::clamp(n, 1U, 16U);
}

DagEntry import_file(const std::filesystem::path& file, const ImportOptions& options,
                     const BlockSink& sink) {
  FixedChunker chunker(file);
  BalancedLayout layout(options.cid_version, sink);
  const unsigned threads = sink ? 1 : thread_count(options);
  std::vector<std::string> batch(threads);
  bool any = false;
  for (;;) {
    std::size_t filled = 0;
    while (filled < batch.size() && chunker.next(batch[filled])) ++filled;
    if (filled == 0) break;
    any = true;
    if (filled == 1) {
      layout.add_leaf(make_leaf(batch[0], options.cid_version, sink));
    } else {  // hash this batch of leaves on `filled` threads, add them in order
      std::vector<std::future<DagEntry>> leaves;
      leaves.reserve(filled);
      for (std::size_t i = 0; i < filled; ++i) {
        leaves.push_back(std::async(std::launch::async, [&, i] {
          return make_leaf(batch[i], options.cid_version, BlockSink{});
        }));
      }
      for (auto& leaf : leaves) layout.add_leaf(leaf.get());
    }
    if (filled < batch.size()) break;
  }
  if (!any) layout.add_leaf(make_leaf({}, options.cid_version, sink));  // empty file
  return layout.finish();
}

DagEntry import_directory(const std::filesystem::path& dir, const ImportOptions& options,
                          const BlockSink& sink) {
  std::vector<std::pair<std::string, DagEntry>> entries;
  std::size_t estimated = 0;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw Error(ErrorKind::kIo, "cannot list " + dir.string() + ": " + ec.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".")) continue;  // kubo: --hidden=false
    DagEntry child = import_path(entry.path(), options, sink);
    estimated += name.size() + child.cid.bytes().size();
    entries.emplace_back(std::move(name), std::move(child));
  }
  if (estimated > kMaxBasicDirectoryBytes) {
    throw Error(ErrorKind::kInvalidArgument,
                dir.string() +
                    " has too many entries for a basic UnixFS directory (kubo would "
                    "shard it, which farmhand does not): split it");
  }
  return make_directory_node(std::move(entries), options.cid_version, sink);
}

}  // namespace

DagEntry import_path(const std::filesystem::path& path, const ImportOptions& options,
                     const BlockSink& sink) {
  if (options.cid_version != 0 && options.cid_version != 1) {
    throw Error(ErrorKind::kInvalidArgument,
                "cid_version must be 0 or 1, not " + std::to_string(options.cid_version));
  }
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw Error(ErrorKind::kIo, "cannot hash " + path.string() + ": it does not exist");
  }
  if (std::filesystem::is_directory(status)) return import_directory(path, options, sink);
  if (std::filesystem::is_regular_file(status)) return import_file(path, options, sink);
  throw Error(ErrorKind::kInvalidArgument,
              "cannot hash " + path.string() +
                  ": only regular files and directories are supported (not symlinks or devices)");
}

Cid cid_of(const std::filesystem::path& file_or_dir, const ImportOptions& options) {
  return import_path(file_or_dir, options, BlockSink{}).cid;
}

}  // namespace farmhand::ipfs
