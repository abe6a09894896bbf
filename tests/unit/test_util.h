#pragma once

// Helpers shared by the unit tests.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "discovery/discoverer.h"
#include "discovery/registry.h"
#include "util/result.h"
#include "yaml/decode.h"

namespace sdscope::test {

// Parses text as YAML and decodes its root with T's fields (strictly);
// returns every diagnostic as "line:col: message", errors before warnings.
template <class T> std::vector<std::string> decode_errors(std::string_view text, T& out) {
  yaml::Diagnostics diags;
  auto doc = yaml::Document::parse(text);
  REQUIRE(doc);
  yaml::Decoder decoder(diags, "test.yml");
  decoder.decode(doc->root(), out);
  std::vector<std::string> messages;
  for (const yaml::Diagnostic& d : diags.sorted()) {
    messages.push_back(std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + ": " +
                       (d.severity == yaml::Severity::warning ? "warning: " : "") + d.message);
  }
  return messages;
}

struct SdResult {
  std::unique_ptr<discovery::SdConfig> config;
  std::vector<std::string> errors; // "line:col: message", warnings prefixed "warning: "
};

// Decodes one config block of the named mechanism (YAML mapping text).
SdResult decode_sd(std::string_view mechanism, std::string_view text);

// The first error message without its position, or "" when there is none.
std::string first_error(const SdResult& r);

// A new empty directory under the system's temporary directory.
std::filesystem::path scratch_dir();
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);

// A CA, a server certificate for "localhost" and "sd.example.test" (not for
// the IP 127.0.0.1, so server_name is needed), one for the IP 127.0.0.1 and
// a client certificate, made once with the openssl CLI. Members are paths.
struct Pki {
  std::filesystem::path dir;
  std::string ca, server_cert, server_key, loopback_cert, loopback_key, client_cert, client_key, other_ca;

  static const Pki& get();
};

// Collects what a running discoverer sends; the wait_ and accessor
// functions are safe while it runs.
class RecordingSink : public discovery::Sink {
public:
  using discovery::Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    std::lock_guard lock(m_mutex);
    updates.push_back(std::move(groups));
    m_changed.notify_all();
  }
  void report(std::string error) override {
    std::lock_guard lock(m_mutex);
    reports.push_back(std::move(error));
    m_changed.notify_all();
  }
  bool wait_for_reports(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, limit, [&] { return reports.size() >= n; });
  }
  // Waits until the latest update's first group has these targets.
  bool wait_for_targets(const std::vector<model::Labels>& want, std::chrono::milliseconds limit) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, limit, [&] {
      return !updates.empty() && !updates.back().empty() && updates.back()[0]->targets == want;
    });
  }
  size_t update_count() {
    std::lock_guard lock(m_mutex);
    return updates.size();
  }
  std::string report(size_t i) {
    std::lock_guard lock(m_mutex);
    return reports.at(i);
  }

  std::vector<std::vector<std::shared_ptr<const model::TargetGroup>>> updates;
  std::vector<std::string> reports;

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
};

// Runs a discoverer, reporting to sink, on its own thread until stopped or
// destroyed; made must hold a discoverer.
class RunningDiscoverer {
public:
  RunningDiscoverer(Result<std::unique_ptr<discovery::Discoverer>> made, discovery::Sink& sink) {
    REQUIRE_MESSAGE(made, (made ? "" : made.error()));
    m_discoverer = std::move(*made);
    m_thread = std::jthread([this, &sink](std::stop_token stop) { m_discoverer->run(stop, sink); });
  }
  ~RunningDiscoverer() { stop(); }
  // Returns how long the discoverer took to return.
  std::chrono::milliseconds stop() {
    auto start = std::chrono::steady_clock::now();
    if (m_thread.joinable()) {
      m_thread.request_stop();
      m_thread.join();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

private:
  std::unique_ptr<discovery::Discoverer> m_discoverer;
  std::jthread m_thread; // declared last: stops before the discoverer goes
};

} // namespace sdscope::test
