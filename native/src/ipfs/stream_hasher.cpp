#include "farmhand/ipfs/stream_hasher.hpp"

#include <algorithm>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/chunker.hpp"
#include "farmhand/ipfs/node_builder.hpp"

namespace farmhand::ipfs {

StreamHasher::StreamHasher(uint64_t size, int cid_version)
    : size_(size), cid_version_(cid_version), layout_(cid_version, BlockSink{}) {
  if (cid_version != 0 && cid_version != 1) {
    throw Error(ErrorKind::kInvalidArgument,
                "cid_version must be 0 or 1, not " + std::to_string(cid_version));
  }
}

void StreamHasher::start_leaf() {
  leaf_size_ = std::min<uint64_t>(kDefaultChunkSize, size_ - done_);
  leaf_done_ = 0;
  leaf_.emplace();
  leaf_frame_ = 0;
  if (cid_version_ == 0) {
    auto [head, tail] = v0_leaf_frame(leaf_size_);
    leaf_->update(head);
    leaf_frame_ = head.size() + tail.size();
    leaf_tail_ = std::move(tail);
  }
}

void StreamHasher::finish_leaf() {
  if (cid_version_ == 0) leaf_->update(leaf_tail_);
  const Digest d = leaf_->finish();
  leaf_.reset();
  const uint64_t codec = cid_version_ == 0 ? kCodecDagPb : kCodecRaw;
  layout_.add_leaf(
      {Cid::from_digest(cid_version_, codec, d), leaf_size_ + leaf_frame_, leaf_size_});
}

void StreamHasher::update(std::string_view bytes) {
  if (bytes.size() > size_ - done_) {
    throw Error(ErrorKind::kInvalidArgument,
                "StreamHasher: more than the " + std::to_string(size_) + " bytes announced");
  }
  while (!bytes.empty()) {
    if (!leaf_) start_leaf();
    const std::size_t n = std::min<uint64_t>(leaf_size_ - leaf_done_, bytes.size());
    leaf_->update(bytes.substr(0, n));
    leaf_done_ += n;
    done_ += n;
    bytes.remove_prefix(n);
    if (leaf_done_ == leaf_size_) finish_leaf();
  }
}

Cid StreamHasher::finish() {
  if (done_ != size_) {
    throw Error(ErrorKind::kInvalidArgument, "StreamHasher: " + std::to_string(done_) + " of " +
                                                 std::to_string(size_) + " bytes given");
  }
  if (size_ == 0) layout_.add_leaf(make_leaf({}, cid_version_, BlockSink{}));  // empty file
  return layout_.finish().cid;
}

}  // namespace farmhand::ipfs
