#include "farmhand/ipfs/plain_stream.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "farmhand/error.hpp"
#include "farmhand/http/client.hpp"
#include "farmhand/ipfs/dag_walker.hpp"

namespace farmhand::ipfs {
namespace {

struct Range {
  std::size_t first = 0;  // leaf indices [first, end)
  std::size_t end = 0;
};

// Thrown out of a stream's body callback: the source served bytes that are not the file's.
struct StreamLied {
  std::string why;
};

class PlainDownload {
 public:
  PlainDownload(const Cid& root, const LeafPlan& plan, const std::vector<BlockSource>& sources,
                BlockFetcher& blocks, PartialFile& out, std::chrono::milliseconds timeout,
                std::size_t streams)
      : root_(root),
        plan_(plan),
        sources_(sources),
        blocks_(blocks),
        out_(out),
        timeout_(timeout),
        streams_(std::max<std::size_t>(1, streams)) {
    // Ranges of about equal bytes on leaf boundaries, none under kPlainMinRangeBytes.
    const uint64_t want =
        std::max<uint64_t>(kPlainMinRangeBytes, (plan.total + streams_ - 1) / streams_);
    Range r;
    uint64_t bytes = 0;
    for (std::size_t i = 0; i < plan.leaves.size(); ++i) {
      bytes += plan.leaves[i].size;
      if (bytes >= want) {
        pending_.push_back({r.first, i + 1});
        r.first = i + 1;
        bytes = 0;
      }
    }
    if (r.first < plan.leaves.size()) pending_.push_back({r.first, plan.leaves.size()});
  }

  PlainStreamOutcome run(const Progress& progress, const std::atomic<bool>* cancel) {
    std::vector<std::thread> workers;
    const std::size_t n = std::min(streams_, pending_.size());
    struct Joiner {  // stops and joins the workers on every way out
      PlainDownload& d;
      std::vector<std::thread>& w;
      ~Joiner() {
        d.abort_ = true;
        d.cv_.notify_all();
        for (auto& t : w) t.join();
      }
    } joiner{*this, workers};
    for (std::size_t i = 0; i < n; ++i) workers.emplace_back([this] { work(); });
    uint64_t reported = 0;
    for (;;) {
      bool finished = false;
      {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(50));
        finished = exited_ == n || error_ != nullptr;
      }
      if (cancel != nullptr && cancel->load()) {
        throw Error(ErrorKind::kCancelled, "download of " + root_.to_string() + " cancelled");
      }
      const uint64_t done = done_bytes_.load();
      if (progress && done != reported && !finished) {
        reported = done;
        progress(done, plan_.total);
      }
      if (finished) break;
    }
    abort_ = true;
    cv_.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    if (error_) std::rethrow_exception(error_);
    if (unserved_) return PlainStreamOutcome::kUnserved;
    if (verified_leaves_.load() != plan_.leaves.size()) {
      throw Error(ErrorKind::kBlockVerificationFailed,
                  "download of " + root_.to_string() + " ended with " +
                      std::to_string(plan_.leaves.size() - verified_leaves_.load()) +
                      " leaves unverified");
    }
    return PlainStreamOutcome::kComplete;
  }

 private:
  void work() {
    http::Client http;
    bool holding = false;  // counted in busy_
    for (;;) {
      Range r;
      std::size_t source = 0;
      {
        std::unique_lock lock(mutex_);
        if (holding) --busy_;
        holding = false;
        cv_.notify_all();
        // Wait for work; end when there is none and nobody can hand any back.
        cv_.wait(lock, [&] { return abort_.load() || !pending_.empty() || busy_ == 0; });
        if (abort_ || pending_.empty()) {
          ++exited_;
          cv_.notify_all();
          return;
        }
        ++busy_;
        holding = true;
        r = pending_.front();
        pending_.pop_front();
        source = current_source_;
        if (source >= sources_.size() && written_leaves_ == 0) {  // nobody streamed anything
          unserved_ = true;
          abort_ = true;
          ++exited_;
          cv_.notify_all();
          return;
        }
        if (source >= sources_.size() && r.end - r.first > 1) {
          pending_.push_front({r.first + 1, r.end});  // block by block: one leaf per worker
          r.end = r.first + 1;
          cv_.notify_all();
        }
      }
      try {
        if (source < sources_.size()) {
          stream_range(http, r, source);
        } else {
          fetch_leaf(r.first, std::nullopt);
        }
      } catch (...) {
        const std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
        abort_ = true;
        cv_.notify_all();
      }
    }
  }

  // Drops `source` (if no other worker did already) and hands the rest of `r` back.
  void give_back(Range r, std::size_t source, const std::string& why) {
    const std::lock_guard lock(mutex_);
    if (current_source_ == source) {
      failures_ += (failures_.empty() ? "" : "; ") + why;
      ++current_source_;
    }
    if (r.first < r.end) pending_.push_front(r);
    cv_.notify_all();
  }

  void stream_range(http::Client& http, Range r, std::size_t source_index) {
    const BlockSource& source = sources_[source_index];
    const auto& leaves = plan_.leaves;
    const uint64_t first = leaves[r.first].offset;
    const uint64_t last_end = leaves[r.end - 1].offset + leaves[r.end - 1].size;
    const std::string text = root_.to_string();
    if (first == last_end) {  // only empty leaves: nothing to ask for
      for (std::size_t i = r.first; i < r.end; ++i) {
        LeafCheck check(leaves[i]);
        if (!check.matches())
          (void)fetch_leaf(i, std::nullopt);
        else
          leaf_verified(leaves[i]);
      }
      return;
    }
    http::Request req;
    const bool whole = first == 0 && last_end == plan_.total;
    if (source.kind == BlockSource::Kind::kRpc) {
      req.method = "POST";
      req.url = source.base_url + "/api/v0/cat?arg=" + text + "&progress=false";
      if (!whole) {
        req.url +=
            "&offset=" + std::to_string(first) + "&length=" + std::to_string(last_end - first);
      }
    } else {
      req.method = "GET";
      req.url = source.base_url + "/ipfs/" + text;
      if (!whole) {
        req.headers.emplace_back(
            "Range", "bytes=" + std::to_string(first) + "-" + std::to_string(last_end - 1));
      }
    }
    req.connect_timeout = std::min(timeout_, std::chrono::milliseconds(10'000));
    req.total_timeout = std::chrono::milliseconds(0);
    req.stall_timeout = timeout_;
    req.cancel = &abort_;

    std::size_t i = r.first;   // leaf being received
    uint64_t pos = 0;          // its bytes received so far
    uint64_t skip = 0;         // bytes to drop first (a 200 answer to a range request)
    uint64_t flushed = first;  // bytes before this were handed to the disk
    std::string buf;           // verified leaves not yet written, then the leaf being received
    uint64_t buf_at = first;   // file offset of buf[0]
    std::optional<LeafCheck> check;
    std::exception_ptr fatal;  // not the source's fault: ends the whole download
    std::optional<std::string> lie;
    bool complete = false;
    std::string bad_head;

    auto written_to = [&](uint64_t end) {  // bytes before `end` are in the file
      buf_at = end;
      if (buf_at - flushed >= kWritebackBytes) {
        out_.start_writeback(flushed, buf_at - flushed);
        flushed = buf_at;
      }
    };
    auto flush = [&] {  // writes the verified bytes in buf
      if (!buf.empty()) out_.write_at(buf_at, buf);
      const uint64_t end = buf_at + buf.size();
      buf.clear();
      written_to(end);
    };
    // A leaf whose bytes all lie in one piece from curl is hashed and written from there,
    // without the copy into buf (with curl's 512 KiB buffer, most leaves of 256 KiB).
    // False when they do not hash to it: the caller takes the copying path, which decides.
    auto take_whole_leaf = [&](std::string_view bytes) {
      const PlannedLeaf& leaf = leaves[i];
      LeafCheck whole(leaf);
      whole.update(bytes);
      if (!whole.matches()) return false;
      flush();
      out_.write_at(leaf.offset, bytes);
      written_to(leaf.offset + leaf.size);
      leaf_verified(leaf);
      ++i;
      return true;
    };
    auto finish_leaf = [&] {
      const PlannedLeaf& leaf = leaves[i];
      if (check->matches()) {
        leaf_verified(leaf);
        if (buf.size() >= kWriteBatchBytes) flush();
      } else {  // not its bytes, or another encoding: the block decides
        const std::string streamed = buf.substr(buf.size() - leaf.size);
        buf.resize(buf.size() - leaf.size);
        flush();
        if (!fetch_leaf(i, streamed)) {
          lie = source.label() + " streamed bytes " + std::to_string(leaf.offset) + ".." +
                std::to_string(leaf.offset + leaf.size) + " of " + text +
                " that are not its leaf " + leaf.cid.to_string();
        }
        buf_at = leaf.offset + leaf.size;
      }
      check.reset();
      pos = 0;
      ++i;
      if (lie) throw StreamLied{*lie};
    };
    auto settle = [&] {  // drops a leaf received in part, writes the verified bytes
      buf.resize(buf.size() - pos);
      pos = 0;
      check.reset();
      flush();
    };
    auto take_empty_leaves = [&] {
      while (i < r.end && leaves[i].size == 0) {
        check.emplace(leaves[i]);
        finish_leaf();
      }
    };
    req.on_head = [&](const http::Response& head) {
      if (head.status == 206) {
        const std::string range = head.header("content-range");  // "bytes A-B/TOTAL"
        if (range.rfind("bytes " + std::to_string(first) + "-", 0) != 0) {
          bad_head = source.label() + " answered range " + std::to_string(first) + "- with \"" +
                     range.substr(0, 80) + "\"";
          return false;
        }
        return true;
      }
      if (head.status == 200) {
        skip = source.kind == BlockSource::Kind::kGateway ? first : 0;
        return true;
      }
      bad_head = source.label() + " answered HTTP " + std::to_string(head.status) +
                 " to the request for the bytes of " + text;
      return false;
    };
    req.on_body = [&](std::string_view chunk) {
      try {
        const uint64_t drop = std::min<uint64_t>(skip, chunk.size());
        skip -= drop;
        chunk.remove_prefix(drop);
        take_empty_leaves();
        while (!chunk.empty() && i < r.end) {
          const PlannedLeaf& leaf = leaves[i];
          if (pos == 0 && chunk.size() >= leaf.size &&
              take_whole_leaf(chunk.substr(0, leaf.size))) {
            chunk.remove_prefix(leaf.size);
            take_empty_leaves();
            continue;
          }
          if (!check) check.emplace(leaf);
          const std::size_t n = std::min<uint64_t>(leaf.size - pos, chunk.size());
          const std::string_view piece = chunk.substr(0, n);
          check->update(piece);
          buf.append(piece);
          pos += n;
          chunk.remove_prefix(n);
          if (pos == leaf.size) {
            finish_leaf();
            take_empty_leaves();
          }
        }
        if (i == r.end) {
          complete = true;
          return false;  // all of this range: stop even if the source sends more
        }
      } catch (const StreamLied&) {
        throw;
      } catch (...) {
        fatal = std::current_exception();
        return false;
      }
      return !abort_.load();
    };

    std::string failure;
    try {
      const http::Response resp = http.perform(req);
      take_empty_leaves();
      if (!bad_head.empty()) {
        failure = bad_head;
      } else if (resp.status != 200 && resp.status != 206) {
        failure = source.label() + " answered HTTP " + std::to_string(resp.status) +
                  " to the request for the bytes of " + text;
      } else if (const std::string e = resp.header("x-stream-error"); !e.empty()) {
        failure = source.label() + " broke off the stream of " + text + ": " + e;
      } else if (i < r.end) {
        failure = source.label() + " ended the stream of " + text + " " +
                  std::to_string(last_end - leaves[i].offset - pos) + " bytes early";
      }
    } catch (const StreamLied& l) {
      http = http::Client();  // the connection is mid-stream
      settle();
      give_back({i, r.end}, source_index, l.why);
      return;
    } catch (const Error& e) {
      http = http::Client();
      if (fatal) std::rethrow_exception(fatal);
      settle();
      if (complete || abort_) return;
      failure = bad_head.empty() ? std::string(e.what()) : bad_head;
    }
    if (fatal) std::rethrow_exception(fatal);
    settle();
    if (!failure.empty()) give_back({i, r.end}, source_index, failure);
  }

  // Fetches leaf `index` as a block (through `blocks_`, verified, the walker's rules) and
  // writes its content. Returns false when `streamed` (what a stream sent for it, if
  // anything) differs from that content: the stream lied.
  bool fetch_leaf(std::size_t index, std::optional<std::string_view> streamed) {
    const PlannedLeaf& leaf = plan_.leaves[index];
    uint64_t at = leaf.offset;
    bool same = true;
    read_file_subtree(blocks_, leaf.cid, leaf.size, [&](std::string_view bytes) {
      if (abort_) throw Error(ErrorKind::kCancelled, "download cancelled");
      if (at + bytes.size() > leaf.offset + leaf.size) return;  // read_file_subtree throws
      if (streamed && same) same = streamed->substr(at - leaf.offset, bytes.size()) == bytes;
      out_.write_at(at, bytes);
      at += bytes.size();
    });
    leaf_verified(leaf);
    return same;
  }

  void leaf_verified(const PlannedLeaf& leaf) {
    done_bytes_ += leaf.size;
    ++verified_leaves_;
    const std::lock_guard lock(mutex_);
    ++written_leaves_;
  }

  const Cid& root_;
  const LeafPlan& plan_;
  const std::vector<BlockSource>& sources_;
  BlockFetcher& blocks_;
  PartialFile& out_;
  std::chrono::milliseconds timeout_;
  std::size_t streams_;

  std::atomic<bool> abort_{false};
  std::atomic<uint64_t> done_bytes_{0};
  std::atomic<std::size_t> verified_leaves_{0};
  std::mutex mutex_;  // guards what follows
  std::condition_variable cv_;
  std::deque<Range> pending_;
  std::size_t current_source_ = 0;  // sources before it were dropped
  std::size_t busy_ = 0;            // workers holding a range (they may hand part of it back)
  std::size_t exited_ = 0;          // workers that returned
  std::size_t written_leaves_ = 0;
  bool unserved_ = false;
  std::string failures_;
  std::exception_ptr error_;
};

}  // namespace

PlainStreamOutcome stream_plain(const Cid& root, const LeafPlan& plan,
                                const std::vector<BlockSource>& sources, BlockFetcher& blocks,
                                PartialFile& out, std::chrono::milliseconds timeout,
                                std::size_t streams, const Progress& progress,
                                const std::atomic<bool>* cancel) {
  if (plan.leaves.empty()) return PlainStreamOutcome::kUnserved;
  PlainDownload download(root, plan, sources, blocks, out, timeout, streams);
  return download.run(progress, cancel);
}

}  // namespace farmhand::ipfs
