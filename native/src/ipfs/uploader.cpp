#include "farmhand/ipfs/uploader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <system_error>

#include "farmhand/error.hpp"

namespace farmhand::ipfs {
namespace {

void add_entries(const std::filesystem::path& dir, const std::string& prefix,
                 std::vector<http::MultipartPart>& parts) {
  std::vector<std::filesystem::path> children;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.path().filename().string().starts_with(".")) children.push_back(entry.path());
  }
  std::sort(children.begin(), children.end(), [](const auto& a, const auto& b) {
    return a.filename().string() < b.filename().string();
  });
  for (const auto& child : children) {
    const std::string name = prefix + "/" + child.filename().string();
    const auto status = std::filesystem::symlink_status(child);
    if (std::filesystem::is_directory(status)) {
      parts.push_back({"file", name, "application/x-directory", {}});
      add_entries(child, name, parts);
    } else if (std::filesystem::is_regular_file(status)) {
      parts.push_back({"file", name, "application/octet-stream", child});
    } else {
      throw Error(ErrorKind::kInvalidArgument,
                  "cannot upload " + child.string() + ": not a regular file or directory");
    }
  }
}

}  // namespace

std::vector<http::MultipartPart> multipart_parts(const std::filesystem::path& path) {
  std::vector<http::MultipartPart> parts;
  const std::string name =
      path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (std::filesystem::is_directory(status)) {
    parts.push_back({"file", name, "application/x-directory", {}});
    add_entries(path, name, parts);
  } else if (std::filesystem::is_regular_file(status)) {
    parts.push_back({"file", name, "application/octet-stream", path});
  } else {
    throw Error(ErrorKind::kInvalidArgument,
                "cannot upload " + path.string() + ": not a regular file or directory");
  }
  return parts;
}

HashingFilePart::HashingFilePart(const std::filesystem::path& file, int cid_version)
    : path_(file), cid_version_(cid_version) {
  (void)StreamHasher(0, cid_version);  // checks cid_version before anything is opened
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::error_code ec(errno, std::generic_category());
    const std::string why = fd_ >= 0 && !S_ISREG(st.st_mode) ? "not a regular file" : ec.message();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw Error(ErrorKind::kIo, "cannot upload " + file.string() + ": " + why);
  }
  size_ = static_cast<uint64_t>(st.st_size);
  hasher_.emplace(size_, cid_version_);
}

HashingFilePart::~HashingFilePart() {
  if (fd_ >= 0) ::close(fd_);
}

http::MultipartPart HashingFilePart::part(const std::string& filename) {
  http::MultipartPart p{"file", filename, "application/octet-stream", {}};
  p.read = [this](char* buf, std::size_t max) { return read(buf, max); };
  p.rewind = [this] { rewind(); };
  p.size = size_;
  return p;
}

std::size_t HashingFilePart::read(char* buf, std::size_t max) {
  const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(max, size_ - offset_));
  if (want == 0) return 0;
  for (;;) {
    const ssize_t n = ::pread(fd_, buf, want, static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::error_code ec(errno, std::generic_category());
      throw Error(ErrorKind::kIo, "cannot read " + path_.string() + ": " + ec.message());
    }
    if (n == 0) {
      throw Error(ErrorKind::kIo, path_.string() + " shrank while being uploaded (" +
                                      std::to_string(offset_) + " of " + std::to_string(size_) +
                                      " bytes): upload it again once it is complete");
    }
    hasher_->update(std::string_view(buf, static_cast<std::size_t>(n)));
    offset_ += static_cast<uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
}

void HashingFilePart::rewind() {
  offset_ = 0;
  hasher_->restart();
}

Cid HashingFilePart::cid() {
  if (offset_ != size_) {
    throw Error(ErrorKind::kIo, path_.string() + ": only " + std::to_string(offset_) + " of " +
                                    std::to_string(size_) + " bytes were sent");
  }
  return hasher_->finish();
}

Cid parse_add_reply(const std::string& ndjson) {
  std::istringstream lines(ndjson);
  std::string line;
  std::optional<std::string> last;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto obj = nlohmann::json::parse(line, nullptr, false);
    if (obj.is_discarded() || !obj.is_object()) {
      throw Error(ErrorKind::kMalformedResponse,
                  "kubo add replied with a line that is not a JSON object: " + line.substr(0, 120));
    }
    if (obj.contains("Hash") && obj["Hash"].is_string()) last = obj["Hash"].get<std::string>();
  }
  if (!last) {
    throw Error(ErrorKind::kMalformedResponse, "kubo add reply has no object with a Hash");
  }
  try {
    return Cid::parse(*last);
  } catch (const Error& e) {
    throw Error(ErrorKind::kMalformedResponse, std::string("kubo add reply: ") + e.what());
  }
}

Cid add_once(http::Client& http, const std::string& rpc_url,
             const std::vector<http::MultipartPart>& parts, int cid_version,
             std::chrono::milliseconds timeout) {
  std::string base = rpc_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::Request req;
  req.method = "POST";
  req.url = base + "/api/v0/add?cid-version=" + std::to_string(cid_version) + "&pin=true";
  req.multipart = parts;
  req.total_timeout = timeout;
  req.max_body_bytes = 16 << 20;
  const http::Response resp = http.perform(req);
  if (resp.status != 200) {
    throw Error(ErrorKind::kHttpStatus,
                "kubo add at " + base + " answered HTTP " + std::to_string(resp.status) + ": " +
                    resp.body_excerpt(),
                resp.status);
  }
  const std::string stream_error = resp.header("x-stream-error");
  if (!stream_error.empty()) {
    throw Error(ErrorKind::kMalformedResponse,
                "kubo add at " + base + " failed while streaming: " + stream_error);
  }
  return parse_add_reply(resp.body);
}

}  // namespace farmhand::ipfs
