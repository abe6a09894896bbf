#pragma once

// Serving a cpp-httplib server (plain or TLS) on 127.0.0.1, for the
// fixtures of the unit tests.

#include <chrono>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

namespace sdscope::test {

// Serves a server, its routes set, on an ephemeral port of 127.0.0.1 on its
// own thread, from start() until stop() or destruction.
class LoopbackServer {
public:
  LoopbackServer() = default;
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  ~LoopbackServer() { stop(); }

  // Returns the port; the server is accepting when this returns.
  int start(httplib::Server& server) {
    m_server = &server;
    int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    m_thread = std::thread([&server] { server.listen_after_bind(); });
    while (!server.is_running()) { // a stop() before this would be lost
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return port;
  }
  void stop() {
    if (m_thread.joinable()) {
      m_server->stop();
      m_thread.join();
    }
  }

private:
  httplib::Server* m_server = nullptr;
  std::thread m_thread;
};

} // namespace sdscope::test
