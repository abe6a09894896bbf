#pragma once

// A loopback fake of a JSON cloud API for the bearer-token clouds' tests
// (hetzner, digitalocean, linode): every request is recorded, then answered
// by a handler the test sets (and may change between refreshes).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"

namespace sdscope::test {

class FakeCloudApi {
public:
  struct Request {
    std::string path;
    std::string query; // the raw query string, as sent
    std::string authorization; // "<absent>" when not sent
    std::string user_agent;
    std::string accept;
    std::string x_filter; // Linode's filter header, "<absent>" when not sent
  };
  struct Answer {
    int status = 200;
    std::string body = "{}";
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers = {};
  };
  using Handler = std::function<Answer(const Request&)>;

  FakeCloudApi() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Request r;
      r.path = req.path;
      size_t q = req.target.find('?');
      r.query = q == std::string::npos ? "" : req.target.substr(q + 1);
      r.authorization = req.has_header("Authorization") ? req.get_header_value("Authorization") : "<absent>";
      r.user_agent = req.get_header_value("User-Agent");
      r.accept = req.get_header_value("Accept");
      r.x_filter = req.has_header("X-Filter") ? req.get_header_value("X-Filter") : "<absent>";
      Handler current;
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        m_requests.push_back(r);
        current = m_handler;
        wait = m_delay;
      }
      std::this_thread::sleep_for(wait);
      Answer answer = current ? current(r) : Answer{404, "{}"};
      res.status = answer.status;
      for (const auto& [name, value] : answer.headers) {
        res.set_header(name, value);
      }
      res.set_content(answer.body, answer.content_type);
    });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  void set(Handler h) {
    std::lock_guard lock(m_mutex);
    m_handler = std::move(h);
  }
  void set_delay(std::chrono::milliseconds d) {
    std::lock_guard lock(m_mutex);
    m_delay = d;
  }
  // The requests so far, and forgets them.
  std::vector<Request> take() {
    std::lock_guard lock(m_mutex);
    std::vector<Request> out = std::move(m_requests);
    m_requests.clear();
    return out;
  }
  void stop() { m_serving.stop(); }

  int port = 0;

private:
  std::vector<Request> m_requests;
  Handler m_handler;
  std::chrono::milliseconds m_delay{0};
  std::mutex m_mutex;
  httplib::Server m_server;
  LoopbackServer m_serving;
};

} // namespace sdscope::test
