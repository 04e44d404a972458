#include "farmhand/ipfs/block_source.hpp"

#include <utility>

#include "farmhand/error.hpp"

namespace farmhand::ipfs {
namespace {

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::string BlockSource::label() const {
  return (kind == Kind::kRpc ? "rpc " : "gateway ") + base_url;
}

std::vector<BlockSource> sources_in_order(const std::vector<std::string>& rpc_urls,
                                          const std::vector<std::string>& gateways) {
  std::vector<BlockSource> out;
  out.reserve(rpc_urls.size() + gateways.size());
  for (const auto& u : rpc_urls) out.push_back({BlockSource::Kind::kRpc, trim_slash(u)});
  for (const auto& u : gateways) out.push_back({BlockSource::Kind::kGateway, trim_slash(u)});
  return out;
}

std::string fetch_block(http::Client& http, const BlockSource& source, const Cid& cid,
                        std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  http::Request req;
  const std::string text = cid.to_string();
  if (source.kind == BlockSource::Kind::kRpc) {
    req.method = "POST";
    req.url = source.base_url + "/api/v0/block/get?arg=" + text;
  } else {
    req.method = "GET";
    req.url = source.base_url + "/ipfs/" + text + "?format=raw";
    req.headers.emplace_back("Accept", "application/vnd.ipld.raw");
  }
  req.connect_timeout = std::min(timeout, std::chrono::milliseconds(10'000));
  req.total_timeout = timeout;
  req.max_body_bytes = kMaxBlockBytes;
  req.cancel = cancel;
  http::Response resp = http.perform(req);
  if (resp.status != 200) {
    throw Error(ErrorKind::kNotFound, source.label() + " answered HTTP " +
                                          std::to_string(resp.status) + " for block " + text +
                                          ": " + resp.body_excerpt(120));
  }
  if (!cid.matches(resp.body)) {
    throw Error(ErrorKind::kBlockVerificationFailed,
                source.label() + " served " + std::to_string(resp.body.size()) +
                    " bytes for block " + text + " that do not hash to that CID");
  }
  return std::move(resp.body);
}

BlockFetcher::BlockFetcher(std::vector<BlockSource> sources,
                           std::chrono::milliseconds per_source_timeout,
                           const std::atomic<bool>* cancel)
    : sources_(std::move(sources)), timeout_(per_source_timeout), cancel_(cancel) {}

std::unique_ptr<http::Client> BlockFetcher::borrow_client() {
  {
    const std::lock_guard lock(mutex_);
    if (!idle_clients_.empty()) {
      auto client = std::move(idle_clients_.back());
      idle_clients_.pop_back();
      return client;
    }
  }
  return std::make_unique<http::Client>();
}

void BlockFetcher::return_client(std::unique_ptr<http::Client> client) {
  const std::lock_guard lock(mutex_);
  idle_clients_.push_back(std::move(client));
}

std::string BlockFetcher::get(const Cid& cid) {
  if (cid.hash_code() != kMultihashSha256) {
    throw Error(ErrorKind::kBlockVerificationFailed,
                "block " + cid.to_string() + " uses multihash 0x" +
                    std::to_string(cid.hash_code()) + "; only sha2-256 can be verified");
  }
  auto http = borrow_client();
  for (;;) {
    std::size_t index = 0;
    {
      const std::lock_guard lock(mutex_);
      if (next_ >= sources_.size()) break;
      index = next_;
    }
    try {
      std::string block = fetch_block(*http, sources_[index], cid, timeout_, cancel_);
      return_client(std::move(http));
      return block;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kCancelled) throw;
      http = std::make_unique<http::Client>();  // a failed exchange may leave it mid-stream
      const std::lock_guard lock(mutex_);
      if (e.kind() == ErrorKind::kBlockVerificationFailed) saw_bad_block_ = true;
      if (next_ == index) {  // another thread may have dropped it already
        failures_ += (failures_.empty() ? "" : "; ") + std::string(e.what());
        ++next_;  // drop this source for the rest of the download
      }
    }
  }
  const std::lock_guard lock(mutex_);
  const ErrorKind kind =
      saw_bad_block_ ? ErrorKind::kBlockVerificationFailed : ErrorKind::kNotFound;
  throw Error(kind, "no source served a valid block " + cid.to_string() + " (" +
                        (failures_.empty() ? "no sources configured" : failures_) +
                        "): check the CID and that an IPFS node or gateway has it");
}

std::vector<BlockSource> BlockFetcher::remaining_sources() {
  const std::lock_guard lock(mutex_);
  return {sources_.begin() + static_cast<std::ptrdiff_t>(next_), sources_.end()};
}

std::string BlockFetcher::current_source() {
  const std::lock_guard lock(mutex_);
  return next_ < sources_.size() ? sources_[next_].label() : std::string();
}

}  // namespace farmhand::ipfs
