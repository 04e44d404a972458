#pragma once
// The fuzzer's input as a farmhand::blend::ReadFn (farmhand/blend/compressed.hpp), the way the
// .blend readers see a file: shared by fuzz_blend_header and fuzz_blend_structure.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "farmhand/blend/compressed.hpp"

namespace farmhand::fuzz {

// Serves `data` in the chunks the reader asks for, then 0 (end of file). rewind() starts
// over, for a second pass over the same bytes. The returned ReadFn refers to this object.
class InputReader {
 public:
  explicit InputReader(std::span<const std::uint8_t> data) : data_(data) {}
  [[nodiscard]] blend::ReadFn read() {
    return [this](std::span<std::uint8_t> buf) {
      const std::size_t n = std::min(buf.size(), data_.size() - at_);
      std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(at_), n, buf.begin());
      at_ += n;
      return n;
    };
  }
  void rewind() { at_ = 0; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t at_ = 0;
};

}  // namespace farmhand::fuzz
