#include "farmhand/ipfs/client.hpp"

#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/block_source.hpp"
#include "farmhand/ipfs/car_source.hpp"
#include "farmhand/ipfs/dag_walker.hpp"
#include "farmhand/ipfs/leaf_plan.hpp"
#include "farmhand/ipfs/partial_file.hpp"
#include "farmhand/ipfs/plain_stream.hpp"
#include "farmhand/ipfs/uploader.hpp"

namespace farmhand::ipfs {
namespace {

void check_filename(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    throw Error(ErrorKind::kInvalidArgument,
                "download filename \"" + name + "\" must be a plain file name (no '/')");
  }
}

uint64_t content_bytes(const std::filesystem::path& path) {
  if (std::filesystem::is_regular_file(path)) return std::filesystem::file_size(path);
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path, ec)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// The first get(root) answers the block the caller fetched already; all else goes to `inner`.
class RootCached : public BlockProvider {
 public:
  RootCached(BlockProvider& inner, const Cid& root, std::string block)
      : inner_(inner), root_(root), block_(std::move(block)) {}
  std::string get(const Cid& cid) override {
    if (block_ && cid == root_) {
      std::string b = std::move(*block_);
      block_.reset();
      return b;
    }
    return inner_.get(cid);
  }
  [[nodiscard]] std::size_t prefetch() const override { return inner_.prefetch(); }
  void expect(const std::vector<Cid>& children, const std::vector<uint64_t>& sizes) override {
    inner_.expect(children, sizes);
  }

 private:
  BlockProvider& inner_;
  Cid root_;
  std::optional<std::string> block_;
};

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  if (options_.rpc_urls.empty() && options_.gateway_urls.empty()) {
    throw Error(ErrorKind::kInvalidArgument,
                "no IPFS source configured: give at least one RPC API or gateway URL");
  }
  // A URL the HTTP layer would refuse on every request ("", file://, ftp://) is a
  // configuration error: say so now, not as a NotFound "no source served" on first download.
  for (const auto* urls : {&options_.rpc_urls, &options_.gateway_urls}) {
    for (const auto& url : *urls) {
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        throw Error(ErrorKind::kInvalidArgument,
                    "IPFS source URL \"" + url +
                        "\" must start with http:// or https:// (e.g. http://127.0.0.1:5001)");
      }
    }
  }
  if (options_.cid_version != 0 && options_.cid_version != 1) {
    throw Error(ErrorKind::kInvalidArgument,
                "cid_version must be 0 or 1, not " + std::to_string(options_.cid_version));
  }
  if (options_.plain_streams == 0) {
    throw Error(ErrorKind::kInvalidArgument, "plain_streams must be at least 1");
  }
  if (options_.source_timeout.count() <= 0) {
    throw Error(ErrorKind::kInvalidArgument, "source timeout must be positive");
  }
}

std::filesystem::path Client::download(const Cid& cid, const std::filesystem::path& dest_dir,
                                       const std::string& filename, const Progress& progress,
                                       const std::atomic<bool>* cancel) {
  const std::string name = filename.empty() ? cid.to_string() : filename;
  check_filename(name);
  if (!std::filesystem::is_directory(dest_dir)) {
    throw Error(ErrorKind::kIo, "download destination " + dest_dir.string() +
                                    " is not a directory: create it first");
  }
  // The root alone first (so max_bytes is checked before any leaf is requested).
  auto blocks = std::make_unique<BlockFetcher>(
      sources_in_order(options_.rpc_urls, options_.gateway_urls), options_.source_timeout, cancel);
  std::string root_block = blocks->get(cid);
  if (options_.stream_car && cid.codec() == kCodecDagPb) {
    const FileNode node = decode_file_node(cid, root_block);
    if (node.content_size <= options_.max_bytes &&
        node.content_size >= options_.plain_stream_min_bytes && !node.node.links.empty()) {
      if (auto plan = plan_leaves(*blocks, cid, node)) {
        PartialFile out(dest_dir, name, options_.durable);
        out.resize(plan->total);
        if (progress) progress(0, plan->total);
        const auto outcome =
            stream_plain(cid, *plan, blocks->remaining_sources(), *blocks, out,
                         options_.source_timeout, options_.plain_streams, progress, cancel);
        if (outcome == PlainStreamOutcome::kComplete) {
          if (progress) progress(plan->total, plan->total);
          return out.commit();
        }
      }
    }
  }
  // CAR streams of the DAG, verified block by block; block by block on failure.
  std::unique_ptr<BlockProvider> fetcher;
  if (options_.stream_car) {
    auto car = std::make_unique<CarBlockProvider>(blocks->remaining_sources(),
                                                  options_.source_timeout, cancel);
    car->set_root(cid, std::move(root_block));
    fetcher = std::move(car);
  } else {
    fetcher = std::make_unique<RootCached>(*blocks, cid, std::move(root_block));
  }
  PartialFile out(dest_dir, name, options_.durable);
  uint64_t total = 0;
  uint64_t done = 0;
  read_file_dag(
      *fetcher, cid, options_.max_bytes,
      [&](uint64_t t) {
        total = t;
        if (progress) progress(0, total);
      },
      [&](std::string_view bytes) {
        if (cancel != nullptr && cancel->load()) {
          throw Error(ErrorKind::kCancelled, "download of " + cid.to_string() + " cancelled");
        }
        done += bytes.size();
        if (done > total) {  // blocksizes are checked after each child; never write past
          throw Error(ErrorKind::kBlockVerificationFailed,
                      cid.to_string() + " holds more bytes than its root declares");
        }
        out.write(bytes);
        if (progress) progress(done, total);
      });
  return out.commit();
}

Cid Client::upload(const std::filesystem::path& file_or_dir) {
  if (options_.rpc_urls.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "upload needs an IPFS RPC API URL; none configured");
  }
  // A file's CID is computed from the very reads that send it (HashingFilePart), a
  // directory's before sending (cid_of).
  std::error_code ec;
  const bool one_file =
      std::filesystem::is_regular_file(std::filesystem::symlink_status(file_or_dir, ec));
  std::optional<Cid> local;
  if (!one_file) local = cid_of(file_or_dir, {options_.cid_version, 0});
  auto parts = multipart_parts(file_or_dir);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      options_.source_timeout + std::chrono::seconds(content_bytes(file_or_dir) / (8 << 20)));
  http::Client http;
  std::optional<Error> last;
  std::optional<Error> mismatch;
  for (const auto& url : options_.rpc_urls) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      try {
        std::unique_ptr<HashingFilePart> feed;
        if (one_file) {
          feed = std::make_unique<HashingFilePart>(file_or_dir, options_.cid_version);
          parts = {feed->part(parts.at(0).filename)};
        }
        Cid remote = add_once(http, url, parts, options_.cid_version, timeout);
        if (feed) local = feed->cid();
        if (remote == *local) return remote;
        mismatch = Error(ErrorKind::kCidMismatch,
                         "kubo at " + url + " computed " + remote.to_string() + " for " +
                             file_or_dir.string() + " but farmhand computed " + local->to_string() +
                             ": check that node's Import settings");
        break;  // the same node will compute the same CID again
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kIo || e.kind() == ErrorKind::kInvalidArgument) throw;
        last = e;
      }
    }
  }
  if (mismatch) throw *mismatch;
  throw *last;
}

}  // namespace farmhand::ipfs
