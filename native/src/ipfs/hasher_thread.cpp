#include "farmhand/ipfs/hasher_thread.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "farmhand/error.hpp"

namespace farmhand::ipfs {

HasherThread::HasherThread(uint64_t size, int cid_version)
    : size_(size),
      cid_version_(cid_version),
      hasher_(std::in_place, size, cid_version),  // checks cid_version first
      slots_(kSlots, std::vector<char>(kSlotBytes)),
      lengths_(kSlots, 0) {
  thread_ = std::thread([this] { run(); });
}

HasherThread::~HasherThread() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void HasherThread::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stop_ || queued_ > 0; });
    if (stop_) return;
    const std::size_t slot = next_hash_;
    lock.unlock();
    std::exception_ptr error;
    try {
      hasher_->update(std::string_view(slots_[slot].data(), lengths_[slot]));
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;
    next_hash_ = (next_hash_ + 1) % kSlots;
    --queued_;
    changed_.notify_all();
  }
}

void HasherThread::update(std::string_view bytes) {
  if (bytes.size() > size_ - given_) {
    throw Error(ErrorKind::kInvalidArgument,
                "HasherThread: more than the " + std::to_string(size_) + " bytes announced");
  }
  while (!bytes.empty()) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return error_ || queued_ < kSlots; });
    if (error_) std::rethrow_exception(error_);
    const std::size_t slot = next_fill_;
    lock.unlock();  // the slot is not queued: the thread does not read it
    const std::size_t n = std::min(bytes.size(), kSlotBytes);
    std::memcpy(slots_[slot].data(), bytes.data(), n);
    lengths_[slot] = n;
    bytes.remove_prefix(n);
    given_ += n;
    lock.lock();
    next_fill_ = (next_fill_ + 1) % kSlots;
    ++queued_;
    lock.unlock();
    changed_.notify_all();
  }
}

void HasherThread::drain(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [this] { return queued_ == 0; });
  if (error_) std::rethrow_exception(error_);
}

Cid HasherThread::finish() {
  std::unique_lock lock(mutex_);
  drain(lock);
  return hasher_->finish();  // the thread is idle: nothing is queued
}

void HasherThread::restart() {
  std::unique_lock lock(mutex_);
  drain(lock);
  hasher_.emplace(size_, cid_version_);
  given_ = 0;
}

}  // namespace farmhand::ipfs
