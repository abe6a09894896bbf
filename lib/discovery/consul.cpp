// consul_sd: services from the Consul catalog and health API
// (discovery/consul/consul.go in Prometheus v2.45, hashicorp/consul/api
// v1.21.0; spec/sd-platforms.md §2).
//
// Endpoints (https://developer.hashicorp.com/consul/api-docs):
// GET /v1/agent/self learns the datacenter when none is configured (it is
// then used for the dc label only, never sent). GET /v1/catalog/services
// lists service name -> tags; GET /v1/health/service/<name> lists a
// service's instances with their node and checks. Both are blocking
// queries: `index` is the X-Consul-Index of the previous answer (absent on
// the first call), `wait` is always 120000ms, and the server holds the
// request until the index moves past `index` or the wait ends. An answer
// whose index equals the previous one (a missing header reads as 0) changes
// nothing. Every request carries dc/ns/partition when configured, `stale`
// when allow_stale, one `node-meta=k:v` per node_meta entry, the
// X-Consul-Token header when a token is set; the health call adds one `tag`
// per configured tag. Anything but HTTP 200 is an error. After each call the
// loops wait for the next refresh_interval tick; after an error they first
// pause 15 s. One client request may take 2m15s.
//
// The catalog is watched when no services are listed or tags are set; each
// matching service gets a watcher thread (own HTTP client, since one client
// serializes its requests) sending one group per service; a service gone
// from the catalog is stopped and sent as an empty group.
//
// consul_api maps the answers to groups and labels; consul_client builds
// the requests.
#include "discovery/consul.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "discovery/consul_api.h"
#include "discovery/consul_client.h"
#include "util/strings.h"

namespace sdscope::discovery::consul {

namespace {

// The legacy username and password as the basic_auth Prometheus makes of them.
net::BasicAuth legacy_basic_auth(const Config& config) {
  net::BasicAuth auth;
  auth.username = config.username;
  auth.password = config.password;
  return auth;
}

} // namespace

bool is_blank(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b == ' ' || (b >= '\t' && b <= '\r')) {
      ++i;
      continue;
    }
    // The multi-byte White_Space code points: U+0085, U+00A0, U+1680,
    // U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
    auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
    if (b == 0xC2 && (at(1) == 0x85 || at(1) == 0xA0)) {
      i += 2;
    } else if (b == 0xE1 && at(1) == 0x9A && at(2) == 0x80) {
      i += 3;
    } else if (b == 0xE2 && at(1) == 0x80 && (at(2) <= 0x8A || at(2) == 0xA8 || at(2) == 0xA9 || at(2) == 0xAF) &&
               at(2) >= 0x80) {
      i += 3;
    } else if (b == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) {
      i += 3;
    } else if (b == 0xE3 && at(1) == 0x80 && at(2) == 0x80) {
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

void Config::validate(yaml::Checker& c) {
  if (is_blank(server)) {
    c.error_at("server", "consul SD configuration requires a server address");
    return;
  }
  if (!username.empty() || !password.empty()) {
    if (http_client.basic_auth) {
      c.error_at("basic_auth", "at most one of consul SD configuration username and password and basic auth can be "
                               "configured");
      return;
    }
    // Prometheus turns the legacy credentials into basic_auth before it
    // validates the HTTP client, so they count as basic_auth from here on.
    http_client.basic_auth = legacy_basic_auth(*this);
  }
  if (!token.empty() && (http_client.authorization || http_client.oauth2)) {
    c.error_at("token", "at most one of consul SD token, authorization, or oauth2 can be configured");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

constexpr std::string_view k_wait = "120000ms"; // watchTimeout, 2 min

// time.Ticker: ticks every interval from its creation; at most one missed
// tick is kept, so a late waiter proceeds at once and then keeps the grid.
class Ticker {
public:
  explicit Ticker(std::chrono::milliseconds interval)
      : m_interval(interval), m_next(std::chrono::steady_clock::now() + interval) {}
  // Returns false when stop was requested first.
  bool wait(std::stop_token stop) {
    auto now = std::chrono::steady_clock::now();
    if (now >= m_next) {
      m_next += ((now - m_next) / m_interval + 1) * m_interval;
      return !stop.stop_requested();
    }
    bool ok = sleep_for(stop, std::chrono::ceil<std::chrono::milliseconds>(m_next - now));
    m_next += m_interval;
    return ok;
  }

private:
  std::chrono::milliseconds m_interval;
  std::chrono::steady_clock::time_point m_next;
};

class Discovery final : public Discoverer {
public:
  Discovery(const Config& config, net::HttpClientConfig http_config, Endpoint endpoint,
            std::unique_ptr<net::HttpClient> client, Timing timing)
      : m_http_config(std::move(http_config)), m_endpoint(std::move(endpoint)), m_client(std::move(client)),
        m_timing(timing),
        // Prometheus's ticker panics on 0; a zero interval waits a second here.
        m_refresh(config.refresh_interval.ms > 0 ? config.refresh_interval.ms : 1000), m_services(config.services),
        m_tags(config.tags), m_node_meta(config.node_meta), m_allow_stale(config.allow_stale),
        m_tag_separator(config.tag_separator), m_datacenter(config.datacenter) {}

  void run(std::stop_token stop, Sink& sink) override {
    if (learn_datacenter(stop, sink)) {
      if (m_services.empty() || !m_tags.empty()) {
        watch_catalog(stop, sink);
      } else {
        watch_listed(stop, sink);
      }
    }
    m_watchers.clear(); // stops and joins every watcher
  }

private:
  // GET /v1/agent/self until it gives the datacenter, unless configured.
  // Returns false when stopped first.
  bool learn_datacenter(std::stop_token stop, Sink& sink) {
    while (m_datacenter.empty()) {
      Result<Answer> answer = call(*m_client, m_endpoint, "/v1/agent/self", {}, stop);
      if (stop.stop_requested()) {
        return false;
      }
      Result<std::string> dc = answer ? datacenter_of(answer->body) : Result<std::string>(fail(answer.error()));
      if (dc) {
        m_datacenter = *dc;
        std::lock_guard lock(m_mutex);
        m_catalog_error.clear();
        break;
      }
      catalog_attempt(sink, "cannot retrieve datacenter name: " + dc.error());
      if (!sleep_for(stop, m_timing.retry_interval)) {
        return false;
      }
    }
    return !stop.stop_requested();
  }

  Params query_params(uint64_t index) const {
    Params params;
    if (m_allow_stale) {
      params.emplace_back("stale", "");
    }
    if (index != 0) {
      params.emplace_back("index", std::to_string(index));
    }
    params.emplace_back("wait", std::string(k_wait));
    for (const auto& [key, value] : m_node_meta) {
      params.emplace_back("node-meta", key + ":" + value);
    }
    return params;
  }

  bool should_watch(const std::string& name, const std::vector<std::string>& tags) const {
    if (!m_services.empty() && std::find(m_services.begin(), m_services.end(), name) == m_services.end()) {
      return false;
    }
    return std::all_of(m_tags.begin(), m_tags.end(), [&](const std::string& wanted) {
      return std::find(tags.begin(), tags.end(), wanted) != tags.end();
    });
  }

  void watch_catalog(std::stop_token stop, Sink& sink) {
    Ticker ticker(m_refresh);
    uint64_t last_index = 0;
    while (!stop.stop_requested()) {
      Result<Answer> answer = call(*m_client, m_endpoint, "/v1/catalog/services", query_params(last_index), stop);
      if (stop.stop_requested()) {
        return;
      }
      using Catalog = std::map<std::string, std::vector<std::string>>;
      Result<Catalog> catalog = answer ? parse_catalog(answer->body) : Result<Catalog>(fail(answer.error()));
      if (!catalog) {
        catalog_attempt(sink, "cannot list services: " + catalog.error());
        if (!sleep_for(stop, m_timing.retry_interval)) {
          return;
        }
      } else {
        if (answer->index != last_index) {
          last_index = answer->index;
          update_watchers(*catalog, sink);
        }
        catalog_attempt(sink, "");
      }
      if (!ticker.wait(stop)) {
        return;
      }
    }
  }

  void update_watchers(const std::map<std::string, std::vector<std::string>>& catalog, Sink& sink) {
    for (const auto& [name, tags] : catalog) {
      if (should_watch(name, tags) && !m_watchers.contains(name)) {
        start_watcher(name, sink);
      }
    }
    for (auto it = m_watchers.begin(); it != m_watchers.end();) {
      if (catalog.contains(it->first)) {
        ++it;
        continue;
      }
      std::string name = it->first;
      {
        std::lock_guard lock(m_mutex);
        it->second.request_stop(); // no send from it after this
        m_pending.erase(name);
        m_errors.erase(name);
      }
      it = m_watchers.erase(it); // joins
      model::TargetGroup gone;
      gone.source = name;
      sink.update(std::vector<model::TargetGroup>{std::move(gone)});
    }
    if (m_watchers.empty()) {
      sink.update(std::vector<model::TargetGroup>{model::TargetGroup{}});
    }
  }

  // Direct mode: the listed services, no catalog call.
  void watch_listed(std::stop_token stop, Sink& sink) {
    for (const std::string& name : m_services) {
      if (!m_watchers.contains(name)) {
        start_watcher(name, sink);
      }
    }
    catalog_attempt(sink, "");
    while (sleep_for(stop, std::chrono::hours(1))) {
    }
  }

  void start_watcher(const std::string& name, Sink& sink) {
    {
      std::lock_guard lock(m_mutex);
      m_pending.insert(name);
    }
    m_watchers.emplace(name, std::jthread([this, &sink, name](std::stop_token stop) { watch_service(stop, sink, name); }));
  }

  void watch_service(std::stop_token stop, Sink& sink, const std::string& name) {
    std::unique_ptr<net::HttpClient> client;
    Ticker ticker(m_refresh);
    uint64_t last_index = 0;
    while (!stop.stop_requested()) {
      Result<model::TargetGroup> group = fail("");
      uint64_t index = 0;
      if (client == nullptr) {
        Result<std::unique_ptr<net::HttpClient>> made = net::HttpClient::make(m_http_config);
        if (made) {
          client = std::move(*made);
        } else {
          group = fail(made.error());
        }
      }
      if (client != nullptr) {
        Params params = query_params(last_index);
        for (const std::string& tag : m_tags) {
          params.emplace_back("tag", tag);
        }
        Result<Answer> answer = call(*client, m_endpoint, "/v1/health/service/" + name, std::move(params), stop);
        index = answer ? answer->index : 0;
        if (answer) {
          group = service_group(answer->body, name, m_datacenter, m_tag_separator);
        } else {
          group = fail(answer.error());
        }
      }
      if (stop.stop_requested()) {
        return;
      }
      if (!group) {
        service_attempt(sink, name, stop, "cannot refresh service " + util::go_quote(name) + ": " + group.error());
        if (!sleep_for(stop, m_timing.retry_interval)) {
          return;
        }
      } else {
        if (index != last_index) {
          last_index = index;
          std::lock_guard lock(m_mutex);
          if (stop.stop_requested()) {
            return;
          }
          sink.update(std::vector<model::TargetGroup>{std::move(*group)});
        }
        service_attempt(sink, name, stop, "");
      }
      if (!ticker.wait(stop)) {
        return;
      }
    }
  }

  // The first report waits for the catalog (or the datacenter lookup) and
  // for the first health answer of every watcher started by then; after
  // that every attempt reports the first error still standing.
  void report_locked(Sink& sink) {
    if (!m_synced) {
      if (!m_catalog_done || !m_pending.empty()) {
        return;
      }
      m_synced = true;
    }
    std::string error = m_catalog_error;
    for (auto it = m_errors.begin(); error.empty() && it != m_errors.end(); ++it) {
      error = it->second;
    }
    sink.report(std::move(error));
  }

  void catalog_attempt(Sink& sink, std::string error) {
    std::lock_guard lock(m_mutex);
    m_catalog_error = std::move(error);
    m_catalog_done = true;
    report_locked(sink);
  }

  void service_attempt(Sink& sink, const std::string& name, std::stop_token stop, std::string error) {
    std::lock_guard lock(m_mutex);
    if (stop.stop_requested()) {
      return; // stopped watchers no longer count
    }
    if (error.empty()) {
      m_errors.erase(name);
    } else {
      m_errors[name] = std::move(error);
    }
    m_pending.erase(name);
    report_locked(sink);
  }

  const net::HttpClientConfig m_http_config;
  const Endpoint m_endpoint;
  std::unique_ptr<net::HttpClient> m_client; // the catalog's and the agent's
  const Timing m_timing;
  const std::chrono::milliseconds m_refresh;
  const std::vector<std::string> m_services;
  const std::vector<std::string> m_tags;
  const std::map<std::string, std::string> m_node_meta;
  const bool m_allow_stale;
  const std::string m_tag_separator;
  std::string m_datacenter; // configured or learned; fixed before any watcher starts

  std::map<std::string, std::jthread> m_watchers; // only the run thread touches it

  // Guards what follows and every group send of a watcher (so a stopped
  // watcher cannot send after its service was emptied).
  std::mutex m_mutex;
  bool m_synced = false;
  bool m_catalog_done = false;
  std::set<std::string> m_pending;
  std::string m_catalog_error;
  std::map<std::string, std::string> m_errors;
};

} // namespace

Result<std::unique_ptr<Discoverer>> make_discovery(const Config& config, Timing timing) {
  net::HttpClientConfig http_config = config.http_client;
  if (!http_config.basic_auth && (!config.username.empty() || !config.password.empty())) {
    http_config.basic_auth = legacy_basic_auth(config); // validate() does this for configs from a file
  }
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http_config);
  if (!client) {
    return fail(client.error());
  }
  Result<Endpoint> endpoint = endpoint_of(config);
  if (!endpoint) {
    return fail(endpoint.error());
  }
  endpoint->request_timeout = timing.request_timeout;
  return std::unique_ptr<Discoverer>(
      std::make_unique<Discovery>(config, std::move(http_config), std::move(*endpoint), std::move(*client), timing));
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_discovery(*this, Timing{});
}

} // namespace sdscope::discovery::consul
