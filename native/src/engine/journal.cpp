#include "farmhand/engine/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "farmhand/engine/config.hpp"
#include "farmhand/error.hpp"

namespace farmhand::engine {
namespace {

[[noreturn]] void io_error(const std::filesystem::path& file, const std::string& what) {
  throw Error(ErrorKind::kIo, "crash journal " + file.string() + ": " + what);
}

JournalState parse_state(const std::string& s, const std::filesystem::path& file) {
  if (s == "claimed") return JournalState::kClaimed;
  if (s == "handed") return JournalState::kHanded;
  if (s == "finishing") return JournalState::kFinishing;
  if (s == "crashed") return JournalState::kCrashed;
  io_error(file, "unknown job state \"" + s + "\"; move the file aside to start afresh");
}

void write_all_and_sync(const std::filesystem::path& tmp, const std::string& data) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_error(tmp, std::error_code(errno, std::generic_category()).message());
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = std::error_code(errno, std::generic_category()).message();
      ::close(fd);
      io_error(tmp, "write failed: " + err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string err = std::error_code(errno, std::generic_category()).message();
    ::close(fd);
    io_error(tmp, "fsync failed: " + err);
  }
  ::close(fd);
}

}  // namespace

const char* to_string(JournalState s) noexcept {
  switch (s) {
    case JournalState::kClaimed:
      return "claimed";
    case JournalState::kHanded:
      return "handed";
    case JournalState::kFinishing:
      return "finishing";
    case JournalState::kCrashed:
      return "crashed";
  }
  return "unknown";
}

std::vector<JournalEntry> Journal::load() const {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    io_error(file_, std::string("not valid JSON (") + e.what() + "); move it aside");
  }
  std::vector<JournalEntry> out;
  try {
    for (const auto& j : doc.at("jobs")) {
      JournalEntry e;
      e.id = j.at("id").get<std::string>();
      e.asset_cid = j.value("asset_cid", "");
      e.state = parse_state(j.at("state").get<std::string>(), file_);
      e.coordinator = j.value("coordinator", "");
      e.recorded_at = j.value("recorded_at", std::int64_t{0});
      if (const auto r = j.find("result"); r != j.end() && r->is_object()) {
        JournalResult res;
        for (const auto& f : r->at("files")) res.files.emplace_back(f.get<std::string>());
        res.render_seconds = r->value("render_seconds", 0.0);
        res.frames = r->value("frames", std::vector<int>{});
        res.cid = r->value("cid", "");
        res.sha256 = r->value("sha256", "");
        res.device = r->value("device", "");  // absent in journals written before it
        if (!is_device_class(res.device)) res.device.clear();
        e.result = std::move(res);
      }
      out.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& e) {
    io_error(file_, std::string("unexpected shape (") + e.what() + "); move it aside");
  }
  return out;
}

void Journal::save(const std::vector<JournalEntry>& entries) const {
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json entry = {{"id", e.id},
                            {"asset_cid", e.asset_cid},
                            {"state", to_string(e.state)},
                            {"coordinator", e.coordinator},
                            {"recorded_at", e.recorded_at}};
    if (e.result) {
      nlohmann::json files = nlohmann::json::array();
      for (const auto& f : e.result->files) files.push_back(f.string());
      entry["result"] = {{"files", files},
                         {"render_seconds", e.result->render_seconds},
                         {"frames", e.result->frames},
                         {"cid", e.result->cid},
                         {"sha256", e.result->sha256},
                         {"device", e.result->device}};
    }
    jobs.push_back(std::move(entry));
  }
  const nlohmann::json doc = {{"version", 1}, {"jobs", jobs}};
  auto tmp = file_;
  tmp += ".tmp";
  write_all_and_sync(tmp, doc.dump(2) + "\n");
  std::error_code ec;
  std::filesystem::rename(tmp, file_, ec);
  if (ec) io_error(file_, "rename failed: " + ec.message());
  // Make the rename itself durable.
  const int dfd = ::open(file_.parent_path().empty() ? "." : file_.parent_path().c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace farmhand::engine
