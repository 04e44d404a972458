#include "farmhand/ipfs/car_source.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/http/client.hpp"
#include "farmhand/ipfs/car_reader.hpp"

namespace farmhand::ipfs {

// One CAR request running on its own thread: curl pushes bytes into a CarReader, verified
// blocks go into a bounded queue, the walker's thread pops them.
class CarStream {
 public:
  CarStream(const BlockSource& source, const CarPart& part, std::chrono::milliseconds timeout)
      : label_(source.label()), timeout_(timeout) {
    http::Request req;
    const std::string text = part.cid.to_string();
    if (source.kind == BlockSource::Kind::kRpc) {
      req.method = "POST";
      req.url = source.base_url + "/api/v0/dag/export?arg=" + text + "&progress=false";
    } else {
      req.method = "GET";
      req.url = source.base_url + "/ipfs/" + text + "?format=car&order=dfs";
      if (part.range) {
        req.url += "&dag-scope=entity&entity-bytes=" + std::to_string(part.range->first) + ":" +
                   std::to_string(part.range->second);
      }
      req.headers.emplace_back("Accept", "application/vnd.ipld.car; version=1; order=dfs");
    }
    req.connect_timeout = std::min(timeout, std::chrono::milliseconds(10'000));
    req.total_timeout = std::chrono::milliseconds(0);  // stalls are caught by pop()
    req.cancel = &abort_;
    thread_ = std::thread([this, req = std::move(req)]() mutable { run(std::move(req)); });
  }

  ~CarStream() {
    abort();
    thread_.join();
  }
  /// Stops the transfer soon (the thread ends within about a second).
  void abort() {
    abort_ = true;
    cv_.notify_all();
  }
  CarStream(const CarStream&) = delete;
  CarStream& operator=(const CarStream&) = delete;

  [[nodiscard]] const std::string& label() const { return label_; }

  /// The next verified block; nullopt at the end of a well-formed stream. Throws the
  /// stream's Error (after the blocks queued before it), kTimeout when no block came
  /// within the timeout, kCancelled when `cancel` is set.
  std::optional<CarBlock> pop(const std::atomic<bool>* cancel) {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      if (cancel != nullptr && cancel->load()) {
        throw Error(ErrorKind::kCancelled, "download cancelled");
      }
      if (!queue_.empty()) {
        CarBlock b = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= b.data.size();
        cv_.notify_all();
        return b;
      }
      if (error_) std::rethrow_exception(error_);
      if (done_) return std::nullopt;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw Error(ErrorKind::kTimeout, label_ + " sent no block of its CAR stream for " +
                                             std::to_string(timeout_.count()) + " ms");
      }
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

 private:
  void run(http::Request req) {
    CarReader reader(label_, kMaxBlockBytes);
    req.on_body = [&](std::string_view chunk) {
      reader.feed(chunk);
      while (auto b = reader.next()) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return abort_.load() || queued_bytes_ < kCarQueueBytes; });
        if (abort_) return false;
        queued_bytes_ += b->data.size();
        queue_.push_back(std::move(*b));
        cv_.notify_all();
      }
      return !abort_.load();
    };
    std::exception_ptr error;
    try {
      http::Client http;
      const http::Response resp = http.perform(req);
      if (resp.status != 200) {
        throw Error(ErrorKind::kNotFound, label_ + " answered HTTP " + std::to_string(resp.status) +
                                              " to the CAR request");
      }
      if (const std::string e = resp.header("x-stream-error"); !e.empty()) {
        throw Error(ErrorKind::kNotFound, label_ + " broke off its CAR stream: " + e);
      }
      reader.finish();
    } catch (...) {
      error = std::current_exception();
    }
    const std::lock_guard lock(mutex_);
    error_ = error;
    done_ = true;
    cv_.notify_all();
  }

  std::string label_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> abort_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<CarBlock> queue_;
  std::size_t queued_bytes_ = 0;
  bool done_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

namespace {

constexpr std::size_t kRecentBlocks = 4;

}  // namespace

CarBlockProvider::CarBlockProvider(std::vector<BlockSource> sources,
                                   std::chrono::milliseconds per_source_timeout,
                                   const std::atomic<bool>* cancel)
    : sources_(std::move(sources)), timeout_(per_source_timeout), cancel_(cancel) {
  blocks_ = std::make_unique<BlockFetcher>(sources_, timeout_, cancel_);
}

CarBlockProvider::~CarBlockProvider() {
  for (auto& entry : streams_) entry.second->abort();
  for (auto& s : retired_) s->abort();
}

std::size_t CarBlockProvider::prefetch() const {
  return fell_back_ ? kFetcherPrefetch : 0;
}

void CarBlockProvider::expect(const std::vector<Cid>& children,
                              const std::vector<uint64_t>& sizes) {
  if (fell_back_) return;
  for (const auto& c : children) ++expected_[c.bytes()];
  if (root_ && root_children_.empty() && !children.empty()) {  // the root's children
    root_children_ = children;
    root_sizes_ = sizes;
    make_plan();
    open_streams();
  }
}

void CarBlockProvider::make_plan() {
  plan_.clear();
  active_ = 0;
  if (!car_source_ || root_children_.empty()) return;
  uint64_t total = 0;
  for (uint64_t s : root_sizes_) total += s;
  if (car_source_->kind == BlockSource::Kind::kGateway && total > 2 * kCarRangeBytes) {
    for (uint64_t from = 0; from < total; from += kCarRangeBytes) {
      plan_.push_back({*root_, std::make_pair(from, std::min(from + kCarRangeBytes, total) - 1)});
    }
    return;
  }
  // Split when every child but the last holds at least kCarSplitBytes.
  const bool split = root_children_.size() >= 2 && root_sizes_.size() == root_children_.size() &&
                     std::all_of(root_sizes_.begin(), root_sizes_.end() - 1,
                                 [](uint64_t s) { return s >= kCarSplitBytes; });
  if (!split) {
    plan_.push_back({*root_, std::nullopt});
    return;
  }
  for (const auto& c : root_children_) plan_.push_back({c, std::nullopt});
}

bool CarBlockProvider::next_car_source() {
  car_source_.reset();
  if (car_candidates_.empty()) return false;
  car_source_ = car_candidates_.front();
  car_candidates_.erase(car_candidates_.begin());
  log_ += (log_.empty() ? "" : "; ") + std::string("car ") + car_source_->label();
  return true;
}

void CarBlockProvider::open_streams() {
  if (!car_source_) return;
  const std::size_t end = std::min(plan_.size(), active_ + kCarParallelStreams);
  for (std::size_t i = active_; i < end; ++i) {
    if (streams_.count(i) == 0) {
      streams_[i] = std::make_unique<CarStream>(*car_source_, plan_[i], timeout_);
    }
  }
}

void CarBlockProvider::retire(std::size_t index) {
  auto it = streams_.find(index);
  if (it == streams_.end()) return;
  it->second->abort();
  retired_.push_back(std::move(it->second));
  streams_.erase(it);
}

std::string CarBlockProvider::deliver(const std::string& key, std::string data) {
  bool again = false;  // a link read so far names this block once more: keep a copy
  if (auto it = expected_.find(key); it != expected_.end()) {
    if (--it->second <= 0) {
      expected_.erase(it);
    } else {
      again = true;
    }
  }
  seen_.insert(key);
  const bool cached =
      std::any_of(recent_.begin(), recent_.end(), [&](const auto& r) { return r.first == key; });
  if (again && !cached) {
    recent_.emplace_back(key, data);
    if (recent_.size() > kRecentBlocks) recent_.pop_front();
  }
  return data;
}

std::string CarBlockProvider::fail_over(const std::string& why, const Cid& cid) {
  log_ += " failed (" + why + ")";
  if (car_source_) car_failed_.push_back(*car_source_);
  std::vector<std::size_t> open;
  for (const auto& entry : streams_) open.push_back(entry.first);
  for (std::size_t i : open) retire(i);
  held_.clear();
  held_bytes_ = 0;
  if (total_from_car_ == 0 && next_car_source()) {
    retired_.clear();  // joins the aborted streams (about a second at most)
    make_plan();
    open_streams();
    return get(cid);
  }
  // Block by block: first the sources whose stream did not fail, then those whose did.
  std::vector<BlockSource> order;
  for (const auto& s : blocks_->remaining_sources()) {
    const bool failed = std::any_of(car_failed_.begin(), car_failed_.end(),
                                    [&](const BlockSource& f) { return f.label() == s.label(); });
    if (!failed) order.push_back(s);
  }
  for (const auto& s : car_failed_) order.push_back(s);
  fallback_ = std::make_unique<BlockFetcher>(std::move(order), timeout_, cancel_);
  recent_.clear();
  log_ += "; then block by block after " + std::to_string(total_from_car_) + " blocks from CAR";
  fell_back_ = true;  // log_ is read-only from here on (get() may run on several threads)
  return fallback_get(cid);
}

std::string CarBlockProvider::fallback_get(const Cid& cid) {
  try {
    return fallback_->get(cid);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kCancelled) throw;
    throw Error(e.kind(), std::string(e.what()) + " [before that: " + log_ + "]");
  }
}

void CarBlockProvider::set_root(const Cid& root, std::string block) {
  root_ = root;
  root_block_ = std::move(block);
  car_candidates_ = blocks_->remaining_sources();
  next_car_source();
}

std::string CarBlockProvider::get(const Cid& cid) {
  if (fell_back_) return fallback_get(cid);
  const std::string key = cid.bytes();
  if (root_block_ && root_ && cid == *root_) {
    std::string block = std::move(*root_block_);
    root_block_.reset();
    return deliver(key, std::move(block));
  }
  if (!root_) {  // the root alone, so max_bytes is checked before any leaf is requested
    root_ = cid;
    std::string block = blocks_->get(cid);
    car_candidates_ = blocks_->remaining_sources();
    next_car_source();
    return deliver(key, std::move(block));
  }
  if (auto it = held_.find(key); it != held_.end()) {
    std::string data = std::move(it->second);
    held_bytes_ -= data.size();
    held_.erase(it);
    ++total_from_car_;
    return deliver(key, std::move(data));
  }
  for (const auto& [k, data] : recent_) {
    if (k == key) return deliver(key, std::string(data));
  }
  if (seen_.count(key) != 0) return deliver(key, blocks_->get(cid));  // deduplicated in the CAR
  auto stream_it = streams_.find(active_);
  if (plan_.empty() || stream_it == streams_.end()) return fail_over("no CAR source left", cid);
  CarStream& stream = *stream_it->second;
  for (;;) {
    std::optional<CarBlock> b;
    try {
      b = stream.pop(cancel_);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kCancelled) throw;
      return fail_over(e.what(), cid);
    }
    if (!b) {  // this CAR is complete: the next planned one continues the walk
      if (active_ + 1 < plan_.size()) {
        retire(active_);
        ++active_;
        open_streams();
        return get(cid);
      }
      return fail_over(stream.label() + " ended its CAR stream without block " + cid.to_string(),
                       cid);
    }
    std::string bkey = b->cid.bytes();
    if (bkey == key) {
      ++total_from_car_;
      return deliver(key, std::move(b->data));
    }
    if (expected_.count(bkey) != 0) {
      if (held_.count(bkey) != 0) continue;  // a duplicate of a block already held
      held_bytes_ += b->data.size();
      held_.emplace(std::move(bkey), std::move(b->data));
      if (held_.size() > kCarReorderBlocks || held_bytes_ > kCarReorderBytes) {
        return fail_over(stream.label() + " sent blocks too far out of depth-first order (" +
                             std::to_string(held_.size()) + " blocks ahead of " + cid.to_string() +
                             ")",
                         cid);
      }
      continue;
    }
    if (seen_.count(bkey) != 0) continue;  // a duplicate of a block already written
    return fail_over(stream.label() + " sent block " + b->cid.to_string() + " that no node of " +
                         root_->to_string() + " read so far links to",
                     cid);
  }
}

}  // namespace farmhand::ipfs
