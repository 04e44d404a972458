// StubHttpServer: a tiny HTTP/1.1 server on 127.0.0.1 for tests of the HTTP layer and the
// backend client. It produces faults the real coordinator and kubo cannot (hang, send 10 MB,
// send bad JSON, drop the connection), so it is a stub by design.
//
// One thread accepts connections; each connection gets its own thread serving requests
// (keep-alive) until the client closes. Each request is answered with the raw bytes the handler
// returns (status line, headers and body written by the test), so a test controls every byte.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace farmhand::testing {

struct StubRequest {
  std::string method;
  std::string target;                          // e.g. "/api/v1/jobs/available?status=pending"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
};

/// What to send back. `raw` is written as-is; with close_after the connection is closed.
struct StubReply {
  std::string raw;
  bool close_after = false;
};

/// A normal reply with Content-Length.
inline StubReply stub_reply(int status, const std::string& body,
                            const std::string& content_type = "application/json",
                            const std::string& extra_headers = "") {
  return {"HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
          body};
}

class StubHttpServer {
 public:
  using Handler = std::function<StubReply(const StubRequest&)>;

  explicit StubHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("stub server: socket() failed");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("stub server: bind/listen failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~StubHttpServer() { stop(); }
  StubHttpServer(const StubHttpServer&) = delete;
  StubHttpServer& operator=(const StubHttpServer&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (std::thread& t : connection_threads_) t.join();
    ::close(listen_fd_);
  }

  /// Blocks until stop() or `limit` elapses: handlers call it to simulate a hung server.
  void hang(std::chrono::milliseconds limit = std::chrono::milliseconds(20'000)) {
    std::unique_lock lock(mutex_);
    stop_cv_.wait_for(lock, limit, [this] { return stopping_; });
  }

  [[nodiscard]] std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int connections() const { return connections_.load(); }
  [[nodiscard]] std::vector<StubRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // Waits until fd is readable; false on stop or error.
  bool wait_readable(int fd) const {
    while (!stopping()) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 50);
      if (r > 0) return true;
      if (r < 0) return false;
    }
    return false;
  }

  // Reads more bytes into buf; false when the peer closed or we are stopping.
  bool fill(int fd, std::string& buf) const {
    if (!wait_readable(fd)) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  }

  bool read_request(int fd, std::string& buf, StubRequest& req) const {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(fd, buf)) return false;
    }
    const std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const size_t sp1 = first.find(' ');
    const size_t sp2 = first.find(' ', sp1 + 1);
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos && line_end < head.size()) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      req.headers[name] = line.substr(v);
    }
    if (req.headers["transfer-encoding"] == "chunked") {
      for (;;) {
        size_t crlf;
        while ((crlf = buf.find("\r\n")) == std::string::npos) {
          if (!fill(fd, buf)) return false;
        }
        const size_t size = std::stoul(buf.substr(0, crlf), nullptr, 16);
        buf.erase(0, crlf + 2);
        while (buf.size() < size + 2) {
          if (!fill(fd, buf)) return false;
        }
        req.body.append(buf, 0, size);
        buf.erase(0, size + 2);
        if (size == 0) break;
      }
    } else if (req.headers.count("content-length") != 0) {
      const size_t size = std::stoul(req.headers["content-length"]);
      while (buf.size() < size) {
        if (!fill(fd, buf)) return false;
      }
      req.body = buf.substr(0, size);
      buf.erase(0, size);
    }
    return true;
  }

  static void send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the client went away (e.g. it aborted a large reply)
      sent += static_cast<size_t>(n);
    }
  }

  void serve(int fd) {
    std::string buf;
    for (;;) {
      StubRequest req;
      if (!read_request(fd, buf, req)) return;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
      }
      const StubReply reply = handler_(req);
      send_all(fd, reply.raw);
      if (reply.close_after) return;
    }
  }

  void run() {
    while (wait_readable(listen_fd_)) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      connection_threads_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> connection_threads_;  // touched by the accept thread, then stop()
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::atomic<int> connections_{0};
  std::vector<StubRequest> requests_;
};

}  // namespace farmhand::testing
