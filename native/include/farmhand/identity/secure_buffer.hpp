// SecureBuffer: a fixed-size byte buffer in libsodium guarded memory (sodium_malloc), for
// secret keys and seeds. Guard pages around it, never swapped out (mlock where permitted),
// zeroed by sodium_free when destroyed. Not copyable; movable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace farmhand::identity {

class SecureBuffer {
 public:
  /// Allocates `size` bytes (> 0). Throws std::bad_alloc when sodium_malloc fails.
  explicit SecureBuffer(std::size_t size);
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  [[nodiscard]] std::uint8_t* data() noexcept { return data_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace farmhand::identity
