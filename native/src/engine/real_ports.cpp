#include "farmhand/engine/real_ports.hpp"

#include "farmhand/backend/client.hpp"
#include "farmhand/identity/identity.hpp"
#include "farmhand/ipfs/client.hpp"
#include "farmhand/ipfs/importer.hpp"

namespace farmhand::engine {
namespace {

class RealBackend final : public Backend {
 public:
  RealBackend(const std::string& url, std::shared_ptr<const identity::Identity> id,
              const std::atomic<bool>* cancel, int blender_version, std::string device)
      : client_(url, std::move(id), options(cancel, blender_version, std::move(device))) {}

  void authenticate() override { client_.ensure_authenticated(); }

  std::vector<Offer> available(int wait_s) override {
    std::vector<Offer> out;
    for (auto& o : client_.available(wait_s)) {
      out.push_back(Offer{o.id, o.asset_cid, o.reward, o.frames, o.output_format});
    }
    return out;
  }

  Claim assign(const std::string& id) override {
    const auto lease = client_.assign(id);
    return lease ? Claim{true, lease->seconds} : Claim{};
  }

  double heartbeat(const std::string& id, double progress, const std::string& message) override {
    return client_.heartbeat(id, progress, message).seconds;
  }

  bool probe_health() override { return client_.probe_health(); }

  void complete(const std::string& id, const Submission& s) override {
    backend::Completion c;
    c.result_cid = s.result_cid;
    c.sha256 = s.sha256;
    c.render_seconds = s.render_seconds;
    c.frames = s.frames;
    c.device = s.device;
    c.blender = s.blender;
    client_.complete(id, c);
  }

  void fail(const std::string& id, const std::string& error, bool retryable,
            const std::string& log_tail, const std::string& code) override {
    client_.fail(id, error, retryable, log_tail, code);
  }

  void release(const std::string& id, const std::string& reason) override {
    client_.release(id, reason);
  }

 private:
  static backend::ClientOptions options(const std::atomic<bool>* cancel, int blender_version,
                                        std::string device) {
    backend::ClientOptions o;
    o.cancel = cancel;
    o.worker_device = std::move(device);
    // 304 -> "3.4": the coordinator offers only files this Blender can open (protocol.md).
    o.worker_blender = blender_major_minor(blender_version);
    // Retries inside one call wait at most 1 s, so a backend that comes back is used within
    // about a second (docs/protocol.md "Worker timing").
    o.backoff.max = std::chrono::milliseconds(1000);
    return o;
  }
  backend::Client client_;
};

class RealStorage final : public Storage {
 public:
  explicit RealStorage(const Config& c) : cid_version_(c.cid_version) {
    ipfs::ClientOptions all;
    all.rpc_urls = c.ipfs_rpc_urls;
    all.gateway_urls = c.gateway_urls;
    all.max_bytes = c.max_job_bytes;
    all.source_timeout = std::chrono::seconds(c.source_timeout_s);
    all.cid_version = c.cid_version;
    for (const auto& url : c.ipfs_rpc_urls) {
      auto one = all;
      one.rpc_urls = {url};
      one.gateway_urls.clear();
      per_api_.emplace_back(std::move(one));
    }
    download_ = std::make_unique<ipfs::Client>(std::move(all));
  }

  std::filesystem::path download(const std::string& cid, const std::filesystem::path& dest_dir,
                                 const std::string& filename, const TransferProgress& progress,
                                 const std::atomic<bool>* cancel) override {
    return download_->download(ipfs::Cid::parse(cid), dest_dir, filename, progress, cancel);
  }

  std::string cid_of(const std::filesystem::path& p) override {
    ipfs::ImportOptions o;
    o.cid_version = cid_version_;
    return ipfs::cid_of(p, o).to_string();
  }

  std::size_t api_count() const override { return per_api_.size(); }

  std::string upload(const std::filesystem::path& p, std::size_t api_index) override {
    return per_api_.at(api_index).upload(p).to_string();
  }

 private:
  int cid_version_;
  std::unique_ptr<ipfs::Client> download_;
  std::vector<ipfs::Client> per_api_;
};

}  // namespace

Ports make_real_ports(const Config& config) {
  auto id = std::make_shared<const identity::Identity>(
      config.key_fd >= 0 ? identity::Identity::from_key_fd(config.key_fd)
                         : identity::Identity::load_or_create(config.key_file));
  Ports p;
  p.worker_address = id->address();
  p.make_backend =
      [url = config.backend_url, id, blender = config.blender_version,
       device = config.device_class](const std::atomic<bool>* cancel) -> std::unique_ptr<Backend> {
    return std::make_unique<RealBackend>(url, id, cancel, blender, device);
  };
  p.make_storage = [config]() -> std::unique_ptr<Storage> {
    return std::make_unique<RealStorage>(config);
  };
  return p;
}

}  // namespace farmhand::engine
