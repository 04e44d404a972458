// libcurl-backed http::Client. See farmhand/http/client.hpp for the contract.
#include "farmhand/http/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <system_error>

#include "farmhand/error.hpp"
#include "farmhand/version.hpp"

namespace farmhand::http {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw Error(ErrorKind::kNetwork, "libcurl failed to initialise (curl_global_init)");
    }
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// State shared with the curl callbacks for one transfer.
struct Transfer {
  const Request* request = nullptr;
  Response* response = nullptr;
  std::exception_ptr callback_error;  // thrown by on_body; rethrown after curl returns
  bool consumer_aborted = false;      // on_body returned false
  bool too_large = false;             // kept body would exceed max_body_bytes
  bool cancelled = false;             // cancel flag seen
  bool head_seen = false;             // on_head was called
  CURL* curl = nullptr;
};

// A multipart part fed by MultipartPart::read (curl_mime_data_cb).
struct PartReader {
  const MultipartPart* part = nullptr;
  std::exception_ptr* error = nullptr;
};

size_t on_part_read(char* buffer, size_t size, size_t count, void* user) {
  auto* r = static_cast<PartReader*>(user);
  try {
    return r->part->read(buffer, size * count);
  } catch (...) {
    *r->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

int on_part_seek(void* user, curl_off_t offset, int origin) {
  auto* r = static_cast<PartReader*>(user);
  if (offset != 0 || origin != SEEK_SET || !r->part->rewind) return CURL_SEEKFUNC_CANTSEEK;
  try {
    r->part->rewind();
  } catch (...) {
    *r->error = std::current_exception();
    return CURL_SEEKFUNC_FAIL;
  }
  return CURL_SEEKFUNC_OK;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const std::string_view chunk(data, n);
  if (t->request->on_body) {
    try {
      if (!t->head_seen && t->request->on_head) {
        t->head_seen = true;
        long status = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
        t->response->status = static_cast<int>(status);
        if (!t->request->on_head(*t->response)) {
          t->consumer_aborted = true;
          return 0;
        }
      }
      if (!t->request->on_body(chunk)) {
        t->consumer_aborted = true;
        return 0;
      }
    } catch (...) {
      t->callback_error = std::current_exception();
      return 0;
    }
    return n;
  }
  if (t->response->body.size() + n > t->request->max_body_bytes) {
    t->too_large = true;
    return 0;
  }
  t->response->body.append(chunk);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue or similar): forget earlier headers.
    t->response->headers.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // blank line ending the header block
  std::string name = lower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  auto [it, inserted] = t->response->headers.try_emplace(std::move(name), value);
  if (!inserted) {
    it->second.append(", ").append(value);
  }
  return n;
}

int on_progress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
                curl_off_t /*ulnow*/) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request->cancel != nullptr && t->request->cancel->load(std::memory_order_relaxed)) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};

std::string describe(const Request& r) {
  return r.method + " " + r.url;
}

}  // namespace

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string default_user_agent() {
  return std::string("farmhand/") + kVersion;
}

std::string Response::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Response::body_excerpt(std::size_t max_chars) const {
  std::string out = body.substr(0, max_chars);
  for (char& c : out) {
    if (std::iscntrl(static_cast<unsigned char>(c)) != 0) c = ' ';
  }
  if (body.size() > max_chars) out += "...";
  return out;
}

struct Client::Impl {
  std::string user_agent;
  CURL* curl = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

Client::Client(std::string user_agent) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->user_agent = std::move(user_agent);
  impl_->curl = curl_easy_init();
  if (impl_->curl == nullptr) {
    throw Error(ErrorKind::kNetwork, "libcurl could not create a handle (out of memory?)");
  }
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Response Client::perform(const Request& request) {
  CURL* curl = impl_->curl;
  // Reset options but keep the connection cache, DNS cache and TLS sessions (keep-alive).
  curl_easy_reset(curl);
  impl_->error_buffer[0] = '\0';

  Response response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;
  transfer.curl = curl;

  if (!request.url.starts_with("http://") && !request.url.starts_with("https://")) {
    throw Error(ErrorKind::kInvalidArgument,
                "URL '" + request.url + "' is not http:// or https://; check the configured URL");
  }

  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, impl_->error_buffer);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, impl_->user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  if (request.stall_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(
        curl, CURLOPT_LOW_SPEED_TIME,
        static_cast<long>(std::max<int64_t>(1, (request.stall_timeout.count() + 999) / 1000)));
  }
  if (request.on_body) curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer calls

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) throw Error(ErrorKind::kNetwork, "out of memory building headers");
    (void)headers.release();
    headers.reset(next);
  };
  bool has_expect = false;
  for (const auto& [name, value] : request.headers) {
    if (lower(name) == "expect") has_expect = true;
    std::string line = name;
    line.append(": ").append(value);
    add_header(line);
  }
  if (!has_expect) add_header("Expect:");  // no 100-continue round trip before bodies
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

  std::unique_ptr<curl_mime, MimeDeleter> mime;
  std::vector<PartReader> readers;
  readers.reserve(request.multipart.size());
  if (!request.multipart.empty()) {
    mime.reset(curl_mime_init(curl));
    for (const MultipartPart& part : request.multipart) {
      curl_mimepart* p = curl_mime_addpart(mime.get());
      curl_mime_name(p, part.name.c_str());
      if (part.file.empty() && part.read) {
        readers.push_back({&part, &transfer.callback_error});
        curl_mime_data_cb(p, static_cast<curl_off_t>(part.size), on_part_read, on_part_seek,
                          nullptr, &readers.back());
      } else if (part.file.empty()) {
        curl_mime_data(p, "", 0);
      } else {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(part.file, ec)) {
          throw Error(ErrorKind::kIo,
                      "cannot upload '" + part.file.string() + "': not a readable regular file");
        }
        if (curl_mime_filedata(p, part.file.c_str()) != CURLE_OK) {
          throw Error(ErrorKind::kIo, "cannot upload '" + part.file.string() + "'");
        }
      }
      // After filedata, which would otherwise name the part after the file's base name.
      curl_mime_filename(p, percent_encode(part.filename).c_str());
      if (!part.content_type.empty()) curl_mime_type(p, part.content_type.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime.get());
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (request.method == "POST" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  if (!request.multipart.empty()) {
    // Upload in large pieces (fewer read callbacks and send calls); at most 2 MiB.
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
  }
  const CURLcode rc = curl_easy_perform(curl);
  if (transfer.callback_error) std::rethrow_exception(transfer.callback_error);
  if (rc != CURLE_OK) {
    const std::string detail =
        impl_->error_buffer[0] != '\0' ? impl_->error_buffer : curl_easy_strerror(rc);
    if (transfer.cancelled) {
      throw Error(ErrorKind::kCancelled, describe(request) + ": cancelled");
    }
    if (transfer.consumer_aborted) {
      throw Error(ErrorKind::kCancelled, describe(request) + ": aborted by the body consumer");
    }
    if (transfer.too_large) {
      throw Error(ErrorKind::kMalformedResponse,
                  describe(request) + ": reply body larger than " +
                      std::to_string(request.max_body_bytes) +
                      " bytes; the server is misbehaving or is not the expected service");
    }
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        throw Error(ErrorKind::kTimeout, describe(request) + ": timed out (" + detail +
                                             "); check the server is reachable and responsive");
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        throw Error(ErrorKind::kInvalidArgument,
                    describe(request) + ": bad URL (" + detail + "); check the configured URL");
      case CURLE_READ_ERROR:
        throw Error(ErrorKind::kIo,
                    describe(request) + ": reading the upload failed (" + detail + ")");
      default:
        throw Error(ErrorKind::kNetwork,
                    describe(request) + ": " + detail +
                        "; check the server is running and the URL, network and TLS "
                        "certificate are right");
    }
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace farmhand::http
