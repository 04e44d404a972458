#include "farmhand/engine/workspace.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include "farmhand/error.hpp"
#include "farmhand/ipfs/sha256.hpp"

namespace farmhand::engine {
namespace fs = std::filesystem;

Workspace::Workspace(fs::path work_dir, int keep_failed)
    : root_(std::move(work_dir)), keep_failed_(keep_failed) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) {
    throw Error(ErrorKind::kIo, "cannot create work_dir " + root_.string() + ": " + ec.message());
  }
}

fs::path Workspace::job_dir(const std::string& id) const {
  return root_ / ("job-" + id);
}

fs::path Workspace::prepare(const std::string& id) {
  if (id.empty() || id.size() > 20 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw Error(ErrorKind::kInvalidArgument,
                "job id \"" + id + "\" is not a decimal number: refusing to use it in a path");
  }
  auto dir = job_dir(id);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "output", ec);
  if (ec) throw Error(ErrorKind::kIo, "cannot create " + dir.string() + ": " + ec.message());
  return dir;
}

void Workspace::mark_failed(const std::string& id, const std::string& reason) noexcept {
  try {
    const auto dir = job_dir(id);
    if (!fs::is_directory(dir)) return;
    std::ofstream(dir / "FAILED") << reason << "\n";
    // Keep the newest keep_failed failed dirs (by the FAILED marker's time).
    std::vector<std::pair<fs::file_time_type, fs::path>> failed;
    for (const auto& entry : fs::directory_iterator(root_)) {
      const auto marker = entry.path() / "FAILED";
      std::error_code ec;
      if (entry.is_directory(ec) && fs::exists(marker, ec)) {
        failed.emplace_back(fs::last_write_time(marker, ec), entry.path());
      }
    }
    std::sort(failed.begin(), failed.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = static_cast<std::size_t>(std::max(keep_failed_, 0)); i < failed.size();
         ++i) {
      if (failed[i].second == dir) continue;  // never the one just marked
      std::error_code ec;
      fs::remove_all(failed[i].second, ec);
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): cleanup is best effort
  }
}

void Workspace::remove(const std::string& id) noexcept {
  std::error_code ec;
  fs::remove_all(job_dir(id), ec);
}

fs::path Workspace::assemble_result(const std::string& id, const std::vector<fs::path>& outputs) {
  if (outputs.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "job " + id + ": finish() was given no output files");
  }
  for (const auto& p : outputs) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      throw Error(ErrorKind::kIo, "job " + id + ": output " + p.string() +
                                      " does not exist or is not a regular file");
    }
  }
  if (outputs.size() == 1) return outputs.front();
  auto dir = job_dir(id) / "result";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::kIo, "cannot create " + dir.string() + ": " + ec.message());
  std::set<std::string> names;
  for (const auto& p : outputs) {
    const auto name = p.filename().string();
    if (!names.insert(name).second) {
      std::string msg = "job " + id;
      msg += ": two outputs are named " + name;
      msg += "; frame files need unique names";
      throw Error(ErrorKind::kInvalidArgument, msg);
    }
    fs::copy_file(p, dir / name, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      throw Error(ErrorKind::kIo,
                  "cannot copy " + p.string() + " into " + dir.string() + ": " + ec.message());
    }
  }
  return dir;
}

std::string sha256_concat_hex(std::vector<fs::path> files) {
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return ipfs::sha256_files_hex(files);
}

std::uint64_t total_bytes(const std::vector<fs::path>& files) noexcept {
  std::uint64_t sum = 0;
  for (const auto& f : files) {
    std::error_code ec;
    const auto n = fs::file_size(f, ec);
    if (!ec) sum += n;
  }
  return sum;
}

}  // namespace farmhand::engine
