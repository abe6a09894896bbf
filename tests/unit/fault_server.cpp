// The fault-injection fixture (see fault_server.h): raw sockets, one thread
// per connection, OpenSSL for the TLS variant.

#include "fault_server.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

namespace sdscope::test {

namespace {

using namespace std::chrono_literals;

std::string reason_of(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 302:
    return "Found";
  case 404:
    return "Not Found";
  case 410:
    return "Gone";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  default:
    return "Status";
  }
}

} // namespace

struct FaultServer::Tls {
  SSL_CTX* ctx = nullptr;
  ~Tls() { SSL_CTX_free(ctx); }
};

bool FaultConnection::head(int status, const Headers& headers) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
  for (const auto& [name, value] : headers) {
    text += name + ": " + value + "\r\n";
  }
  text += "Connection: close\r\n\r\n";
  return write(text);
}

class FaultServer::Connection : public FaultConnection {
public:
  Connection(FaultServer& server, int fd, SSL* ssl) : m_server(server), m_fd(fd), m_ssl(ssl) {}
  ~Connection() override {
    if (m_ssl != nullptr) {
      if (!m_reset) {
        SSL_shutdown(m_ssl);
      }
      SSL_free(m_ssl);
    }
    if (!m_reset) {
      ::shutdown(m_fd, SHUT_WR);
    }
    m_server.forget(m_fd);
  }

  bool write(std::string_view bytes) override {
    while (!bytes.empty()) {
      if (stopping()) {
        return false;
      }
      ssize_t n = m_ssl != nullptr ? SSL_write(m_ssl, bytes.data(), static_cast<int>(bytes.size()))
                                   : ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (m_ssl == nullptr && errno == EINTR) {
          continue;
        }
        return false;
      }
      m_server.m_bytes_sent += static_cast<size_t>(n);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool pause(std::chrono::milliseconds d) override {
    auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::unique_lock lock(m_server.m_mutex);
        if (m_server.m_changed.wait_for(
                lock, std::min<std::chrono::nanoseconds>(10ms, end - std::chrono::steady_clock::now()),
                [&] { return m_server.m_stopping; })) {
          return false;
        }
      }
      if (client_gone()) {
        return false;
      }
    }
    return !stopping();
  }

  void reset() override {
    linger hard{1, 0};
    setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::shutdown(m_fd, SHUT_RD); // keeps the fd number ours until forget()
    m_reset = true;
  }

  // Reads the request head; false when there is none.
  bool read_request(FaultRequest& request) {
    std::string text;
    char buffer[4096];
    while (text.find("\r\n\r\n") == std::string::npos &&
           (text.empty() || (text.front() >= 'A' && text.front() <= 'Z'))) {
      pollfd p{m_fd, POLLIN, 0};
      if ((m_ssl == nullptr || SSL_pending(m_ssl) == 0) && ::poll(&p, 1, 50) == 0) {
        if (stopping()) {
          return false;
        }
        continue;
      }
      int n = m_ssl != nullptr ? SSL_read(m_ssl, buffer, sizeof buffer)
                               : static_cast<int>(::recv(m_fd, buffer, sizeof buffer, 0));
      if (n <= 0 || text.size() > (size_t{1} << 20)) {
        return false;
      }
      text.append(buffer, static_cast<size_t>(n));
    }
    if (text.front() < 'A' || text.front() > 'Z') { // e.g. a TLS handshake: answered as Go's server does
      write("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
            "charset=utf-8\r\nConnection: close\r\n\r\n"
            "400 Bad Request");
      return false;
    }
    size_t line_end = text.find("\r\n");
    std::string line = text.substr(0, line_end);
    size_t first = line.find(' ');
    size_t second = line.find(' ', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      return false;
    }
    request.target = line.substr(first + 1, second - first - 1);
    size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    request.query = question == std::string::npos ? "" : request.target.substr(question + 1);
    for (size_t at = line_end + 2; at < text.size();) {
      size_t end = text.find("\r\n", at);
      std::string header = text.substr(at, end - at);
      if (header.empty()) {
        break;
      }
      if (size_t colon = header.find(':'); colon != std::string::npos) {
        size_t value = header.find_first_not_of(' ', colon + 1);
        request.headers.emplace_back(header.substr(0, colon), value == std::string::npos ? "" : header.substr(value));
      }
      at = end + 2;
    }
    return true;
  }

private:
  bool stopping() {
    std::lock_guard lock(m_server.m_mutex);
    return m_server.m_stopping;
  }
  // The client closed its side (or reset): a read would see the end.
  bool client_gone() {
    pollfd p{m_fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) {
      return false;
    }
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  FaultServer& m_server;
  int m_fd;
  SSL* m_ssl;
  bool m_reset = false;
};

namespace fault {

FaultHandler ok(std::string body, std::string content_type, FaultConnection::Headers extra) {
  return [body = std::move(body), content_type = std::move(content_type),
          extra = std::move(extra)](const FaultRequest&, FaultConnection& c) {
    FaultConnection::Headers headers = {{"Content-Type", content_type},
                                        {"Content-Length", std::to_string(body.size())}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    if (c.head(200, headers)) {
      c.write(body);
    }
  };
}

FaultHandler status(int code, std::string body, std::string content_type) {
  return
      [code, body = std::move(body), content_type = std::move(content_type)](const FaultRequest&, FaultConnection& c) {
        if (c.head(code, {{"Content-Type", content_type}, {"Content-Length", std::to_string(body.size())}})) {
          c.write(body);
        }
      };
}

FaultHandler too_many_requests(int retry_after_seconds) {
  return [retry_after_seconds](const FaultRequest&, FaultConnection& c) {
    std::string body = "rate limited\n";
    if (c.head(429, {{"Content-Type", "text/plain"},
                     {"Retry-After", std::to_string(retry_after_seconds)},
                     {"Content-Length", std::to_string(body.size())}})) {
      c.write(body);
    }
  };
}

FaultHandler reset_after(std::string body, size_t sent) {
  return [body = std::move(body), sent](const FaultRequest&, FaultConnection& c) {
    if (c.head(200, {{"Content-Type", "application/json"}, {"Content-Length", std::to_string(body.size())}}) &&
        c.write(std::string_view(body).substr(0, sent))) {
      c.pause(50ms); // lets the client read the part, so the reset comes mid-body
    }
    c.reset();
  };
}

FaultHandler truncated(std::string body, size_t sent) { return ok(body.substr(0, sent)); }

FaultHandler malformed() { return ok("[{\"targets\": [\"127.0.0.1:9100\"], \"labels\": {\"a\" 1}}"); }

FaultHandler huge() {
  return [](const FaultRequest&, FaultConnection& c) {
    if (!c.head(200, {{"Content-Type", "application/json"}, {"Content-Length", "1000000000"}})) {
      return;
    }
    std::string piece(64 << 10, ' ');
    while (c.write(piece) && c.pause(10ms)) {
    }
  };
}

FaultHandler redirect_loop() {
  return [](const FaultRequest& request, FaultConnection& c) {
    c.head(302, {{"Location", request.target}, {"Content-Length", "0"}});
  };
}

FaultHandler hang() {
  return [](const FaultRequest&, FaultConnection& c) {
    while (c.pause(1h)) {
    }
  };
}

FaultHandler delay(std::chrono::milliseconds d, FaultHandler then) {
  return [d, then = std::move(then)](const FaultRequest& request, FaultConnection& c) {
    if (c.pause(d)) {
      then(request, c);
    }
  };
}

FaultHandler watch(std::vector<std::string> events, std::chrono::milliseconds hold) {
  return [events = std::move(events), hold](const FaultRequest&, FaultConnection& c) {
    if (!c.head(200, {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}})) {
      return;
    }
    for (const std::string& event : events) {
      std::string line = event + "\n";
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", line.size());
      if (!c.write(size + line + "\r\n")) {
        return;
      }
    }
    if (c.pause(hold)) {
      c.write("0\r\n\r\n");
    }
  };
}

} // namespace fault

FaultServer::FaultServer(std::string cert_file, std::string key_file) {
  if (!cert_file.empty()) {
    std::signal(SIGPIPE,
                SIG_IGN); // OpenSSL writes to a socket the client may have closed
    m_tls = std::make_unique<Tls>();
    m_tls->ctx = SSL_CTX_new(TLS_server_method());
    REQUIRE(SSL_CTX_use_certificate_chain_file(m_tls->ctx, cert_file.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(m_tls->ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  listen_on(0);
}

FaultServer::~FaultServer() { stop(); }

std::string FaultServer::url() const {
  return std::string(m_tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(m_port);
}

void FaultServer::listen_on(int port) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 64) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  m_port = ntohs(address.sin_port);
  std::lock_guard lock(m_mutex);
  m_listener = listener;
  m_acceptor = std::thread([this, listener] { accept_loop(listener); });
}

void FaultServer::accept_loop(int listener) {
  while (true) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(m_mutex);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return; // the listener was shut down
    }
    if (m_stopping) {
      ::close(fd);
      return;
    }
    m_open_fds.push_back(fd);
    m_connections.emplace_back([this, fd] { serve(fd); });
  }
}

void FaultServer::serve(int fd) {
  SSL* ssl = nullptr;
  if (m_tls) {
    ssl = SSL_new(m_tls->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) { // an untrusting client hangs up here
      ERR_clear_error();
      SSL_free(ssl);
      forget(fd);
      return;
    }
  }
  Connection connection(*this, fd, ssl);
  FaultRequest request;
  if (!connection.read_request(request)) {
    return;
  }
  FaultHandler handler;
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(request.target);
    size_t best = 0;
    for (const auto& [prefix, h] : m_routes) {
      if (request.path.compare(0, prefix.size(), prefix) == 0 && prefix.size() >= best) {
        best = prefix.size();
        handler = h;
      }
    }
    m_changed.notify_all();
  }
  if (!handler) {
    handler = fault::status(404, "404 page not found\n");
  }
  handler(request, connection);
}

void FaultServer::forget(int fd) {
  std::lock_guard lock(m_mutex);
  m_open_fds.erase(std::remove(m_open_fds.begin(), m_open_fds.end(), fd), m_open_fds.end());
  ::close(fd);
}

void FaultServer::route(std::string prefix, FaultHandler handler) {
  std::lock_guard lock(m_mutex);
  m_routes[std::move(prefix)] = std::move(handler);
}

void FaultServer::refuse() {
  int listener;
  {
    std::lock_guard lock(m_mutex);
    listener = std::exchange(m_listener, -1);
  }
  if (listener >= 0) {
    ::shutdown(listener, SHUT_RDWR); // wakes accept()
    m_acceptor.join();
    ::close(listener);
  }
}

void FaultServer::listen_again() {
  refuse();
  listen_on(m_port);
}

size_t FaultServer::requests(std::string_view prefix) const { return targets(prefix).size(); }

std::vector<std::string> FaultServer::targets(std::string_view prefix) const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (const std::string& target : m_requests) {
    if (target.compare(0, prefix.size(), prefix) == 0) {
      out.push_back(target);
    }
  }
  return out;
}

bool FaultServer::wait_for_requests(std::string_view prefix, size_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, limit, [&] {
    return static_cast<size_t>(std::count_if(m_requests.begin(), m_requests.end(), [&](const std::string& t) {
             return t.compare(0, prefix.size(), prefix) == 0;
           })) >= n;
  });
}

void FaultServer::stop() {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      return;
    }
    m_stopping = true;
    m_changed.notify_all();
    for (int fd : m_open_fds) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  refuse();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(m_mutex);
    connections.swap(m_connections);
  }
  for (std::thread& t : connections) {
    t.join();
  }
}

} // namespace sdscope::test
