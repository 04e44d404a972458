#include "farmhand/ipfs/uploader.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

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
