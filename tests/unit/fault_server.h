#pragma once

// The fault-injection fixture shared by the tests of the HTTP-based
// mechanisms (tests/unit/faults_test.cpp): a loopback HTTP(S) server on
// 127.0.0.1 whose answer is chosen per request path, and changed while it
// runs, so one test can go from good answers to a fault and back.
//
// Design: route(prefix, handler) is the control call; the handler of the
// longest matching path prefix answers each request, writing raw bytes to
// the connection (so it can lie about Content-Length, stop half way, reset
// or stall). The fault namespace makes the handlers of every fault:
//   ok(body)              200, the body with its length (JSON by default)
//   status(code, body)    any status, e.g. 500 or 503 with a text body
//   too_many_requests(s)  429 with Retry-After: s
//   reset_after(body, n)  announces the whole body, sends n bytes, then a
//                         TCP reset (SO_LINGER 0)
//   truncated(body, n)    a clean 200 whose body is the first n bytes (the
//                         JSON is cut short, the HTTP is well-formed)
//   malformed()           200 application/json that is not JSON
//   huge()                Content-Length 1 GB, then 64 KiB every 10 ms until
//                         the client leaves (bytes_sent() tells how much)
//   redirect_loop()       302 to the request's own target, for ever
//   hang()                reads the request and never answers
//   delay(d, then)        waits d (or until the client leaves), then `then`
//   watch(events, hold)   a chunked Kubernetes watch stream of these
//                         events (one JSON object a line), then holds the
//                         stream open for hold (or until the client leaves)
//                         and ends it normally
// refuse() closes the listening socket (connections are refused) and
// listen_again() reopens the same port. Constructed with a certificate and
// key, the server speaks only TLS (untrusted or mismatched certificates);
// an https:// URL to a plain server is the "plain HTTP on https" fault.
// Every answer carries "Connection: close", so each request is a new
// connection and refuse() takes effect at once. requests() counts the
// requests per path prefix, for the "never hammer" checks. stop() (or
// destruction) wakes every waiting handler and joins every thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sdscope::test {

struct FaultRequest {
  std::string target; // path and query, as sent
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One accepted connection, as a handler sees it. Every call returns false
// once the client has gone or the server is stopping.
class FaultConnection {
public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  virtual ~FaultConnection() = default;
  virtual bool write(std::string_view bytes) = 0;
  // Writes the status line and headers (adding Connection: close).
  bool head(int status, const Headers& headers);
  // Waits d unless the server stops or the client leaves first.
  virtual bool pause(std::chrono::milliseconds d) = 0;
  // Ends the connection with a TCP reset instead of a close.
  virtual void reset() = 0;
};

using FaultHandler = std::function<void(const FaultRequest&, FaultConnection&)>;

namespace fault {
FaultHandler ok(std::string body, std::string content_type = "application/json", FaultConnection::Headers extra = {});
FaultHandler status(int code, std::string body, std::string content_type = "text/plain");
FaultHandler too_many_requests(int retry_after_seconds);
FaultHandler reset_after(std::string body, size_t sent);
FaultHandler truncated(std::string body, size_t sent);
FaultHandler malformed();
FaultHandler huge();
FaultHandler redirect_loop();
FaultHandler hang();
FaultHandler delay(std::chrono::milliseconds d, FaultHandler then);
FaultHandler watch(std::vector<std::string> events, std::chrono::milliseconds hold = std::chrono::hours(1));
} // namespace fault

class FaultServer {
public:
  // A plain HTTP server; with cert and key files, a TLS-only one.
  explicit FaultServer(std::string cert_file = "", std::string key_file = "");
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  int port() const { return m_port; }
  // "http://127.0.0.1:<port>" ("https://..." for a TLS server).
  std::string url() const;

  // The control call: requests whose path starts with prefix get handler
  // (the longest prefix wins); a path no route matches gets 404.
  void route(std::string prefix, FaultHandler handler);
  // Closes the listening socket, so connecting is refused until
  // listen_again() reopens the same port.
  void refuse();
  void listen_again();

  // Requests so far whose path starts with prefix.
  size_t requests(std::string_view prefix) const;
  // Their targets (path and query), in arrival order.
  std::vector<std::string> targets(std::string_view prefix) const;
  bool wait_for_requests(std::string_view prefix, size_t n,
                         std::chrono::milliseconds limit = std::chrono::seconds(10)) const;
  // Body and header bytes written so far, over every connection.
  size_t bytes_sent() const { return m_bytes_sent.load(); }

  // Wakes every handler, closes every connection and joins every thread.
  void stop();

  struct Tls;
  class Connection;

private:
  void listen_on(int port);
  void accept_loop(int listener);
  void serve(int fd);
  void forget(int fd); // closes fd

  std::unique_ptr<Tls> m_tls;
  int m_port = 0;
  std::atomic<size_t> m_bytes_sent{0};
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_changed;
  bool m_stopping = false;
  int m_listener = -1;
  std::thread m_acceptor;
  std::vector<std::thread> m_connections;
  std::vector<int> m_open_fds;
  std::map<std::string, FaultHandler> m_routes; // by path prefix
  std::vector<std::string> m_requests;          // targets
};

} // namespace sdscope::test
