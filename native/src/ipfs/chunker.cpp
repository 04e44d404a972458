#include "farmhand/ipfs/chunker.hpp"

#include "farmhand/error.hpp"

namespace farmhand::ipfs {

FixedChunker::FixedChunker(const std::filesystem::path& file, std::size_t chunk_size)
    : path_(file), in_(file, std::ios::binary), chunk_size_(chunk_size) {
  if (!in_) throw Error(ErrorKind::kIo, "cannot open " + file.string() + ": check it exists");
}

bool FixedChunker::next(std::string& out) {
  out.resize(chunk_size_);
  in_.read(out.data(), static_cast<std::streamsize>(chunk_size_));
  if (in_.bad()) throw Error(ErrorKind::kIo, "read error in " + path_.string());
  out.resize(static_cast<std::size_t>(in_.gcount()));
  return !out.empty();
}

}  // namespace farmhand::ipfs
