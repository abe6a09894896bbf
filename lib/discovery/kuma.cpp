// kuma_sd: monitoring assignments of a Kuma control plane over the xDS MADS
// REST API (discovery/xds/{kuma,xds,client}.go in Prometheus v2.45 with
// Kuma's observability/v1/mads.proto; spec/sd-platforms.md §15).
//
// xDS "REST-JSON polling": each fetch is POST <server path>/v3/discovery:
// monitoringassignments?fetch-timeout=<fetch_timeout> with a protobuf-JSON
// DiscoveryRequest carrying the node id (the host's FQDN), the MADS type URL
// and the version_info and nonce of the last response decoded, so the fetch
// keeps state. The control plane holds the request until the assignments
// differ from that version or fetch-timeout passes, then answers 200 with
// the whole new state or 304 (nothing new). The HTTP timeout is
// fetch_timeout + 15s. Each 200 becomes one group, Source "kuma", with a
// target per dataplane; 304 and failures send nothing. Fetches follow a
// refresh_interval ticker, as v2.45's fetchDiscovery.Run: a fetch that
// outlasts a tick is followed at once by the next. xDS protocol:
// https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#rest-json-polling-subscriptions
//
// The wire format (request body, response decoding) is in kuma_mads.cpp.
#include "discovery/kuma.h"

#include <cctype>

#include <fmt/format.h>

#include "model/url.h"
#include "util/hostname.h"
#include "util/strings.h"

namespace sdscope::discovery::kuma {

namespace {

constexpr std::string_view k_mesh_label = "__meta_kuma_mesh";
constexpr std::string_view k_service_label = "__meta_kuma_service";
constexpr std::string_view k_dataplane_label = "__meta_kuma_dataplane";
constexpr std::string_view k_user_label_prefix = "__meta_kuma_label_";

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_resource_type = "monitoringassignments";
// Beyond fetch_timeout, for connection overhead (as v2.45).
constexpr std::chrono::seconds k_timeout_slack{15};

// Go's path.Join(base, "v3", "discovery:<type>") made absolute, then
// escaped as url.URL.EscapedPath does for a changed path.
std::string endpoint_path(const std::string& base) {
  std::string path = util::clean_path("/" + base + "/v3/discovery:" + std::string(k_resource_type));
  constexpr std::string_view k_kept = "-_.~$&+,/:;=@";
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || k_kept.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

// The user[:password]@ part of a URL as written, or "".
std::string userinfo_of(const std::string& url) {
  size_t authority = url.find("://");
  if (authority == std::string::npos) {
    return "";
  }
  authority += 3;
  size_t end = url.find_first_of("/?#", authority);
  size_t at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  return at == std::string::npos || at < authority ? "" : url.substr(authority, at + 1 - authority);
}

std::map<std::string, std::string> user_labels(const std::map<std::string, std::string>& labels) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : labels) {
    out[std::string(k_user_label_prefix) + util::sanitize_label_name(key)] = value;
  }
  return out;
}

// The fetch loop of v2.45's fetchDiscovery: fetch, send a group for a new
// response, wait for the refresh ticker.
class KumaDiscoverer : public Discoverer {
public:
  // Prometheus panics on a zero interval (check warns of it); here it is at
  // least a second, as for the RefreshDiscoverer.
  KumaDiscoverer(std::unique_ptr<Discovery> discovery, int64_t interval_ms)
      : m_discovery(std::move(discovery)), m_interval(std::max<int64_t>(interval_ms, 1000)) {}

  void run(std::stop_token stop, Sink& sink) override {
    using Clock = std::chrono::steady_clock;
    Clock::time_point next_tick = Clock::now() + m_interval;
    bool sent = false;
    while (!stop.stop_requested()) {
      Result<std::optional<std::vector<model::Labels>>> targets = m_discovery->fetch(stop);
      if (stop.stop_requested()) {
        return; // a cancelled fetch is not a failure
      }
      if (!targets) {
        sink.report(targets.error());
      } else if (*targets) {
        model::TargetGroup group;
        group.source = std::string(k_source);
        group.targets = std::move(**targets);
        std::vector<model::TargetGroup> groups;
        groups.push_back(std::move(group));
        sink.update(std::move(groups));
        sink.report("");
        sent = true;
      } else if (sent) { // 304: nothing new; before a first 200 there is no result to confirm
        sink.report("");
      }
      // Go's ticker keeps one missed tick: a fetch that outlasted it is
      // followed at once; the ticks missed beyond that are dropped.
      Clock::time_point now = Clock::now();
      if (now >= next_tick) {
        while (next_tick <= now) {
          next_tick += m_interval;
        }
        continue;
      }
      if (!sleep_for(stop, std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now))) {
        return;
      }
      next_tick += m_interval;
    }
  }

private:
  std::unique_ptr<Discovery> m_discovery;
  std::chrono::milliseconds m_interval;
};

} // namespace

void Config::validate(yaml::Checker& c) {
  if (server.empty()) {
    c.error("kuma SD server must not be empty: ");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(server, parsed); !message.empty()) {
    c.error_at("server", message);
    return;
  }
  if (parsed.scheme.empty() || parsed.host.empty()) {
    c.error_at("server", "kuma SD server must not be empty and have a scheme: " + server);
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    // Only checked when the discoverer is created: the job loads but never
    // discovers anything.
    c.warning_at("server", "Prometheus accepts this at load but cannot start the discoverer: kuma_sd: invalid xDS "
                           "server URL protocol. must be either 'http' or 'https'");
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<model::Labels>> targets_from_response(const DiscoveryResponse& response) {
  if (response.type_url != k_type_url) {
    // The misspelling is v2.45's.
    return fail("recieved invalid typeURL for Kuma MADS v1 Resource: " + response.type_url);
  }
  std::vector<model::Labels> targets;
  for (const Resource& resource : response.resources) {
    std::string_view url = resource.type_url;
    bool is_assignment = url.ends_with(k_assignment_name) &&
                         (url.size() == k_assignment_name.size() || url[url.size() - k_assignment_name.size() - 1] == '/');
    if (!is_assignment) {
      std::string_view want = url.substr(url.rfind('/') == std::string_view::npos ? 0 : url.rfind('/') + 1);
      return fail(fmt::format("proto: mismatched message type: got \"{}\", want \"{}\"", k_assignment_name, want));
    }
    const Assignment& a = resource.assignment;
    std::map<std::string, std::string> common = user_labels(a.labels);
    common[std::string(k_mesh_label)] = a.mesh;
    common[std::string(k_service_label)] = a.service;
    for (const Assignment::Target& t : a.targets) {
      std::map<std::string, std::string> merged = user_labels(t.labels);
      for (const auto& [name, value] : common) {
        merged[name] = value; // the assignment's labels win
      }
      merged[std::string(k_dataplane_label)] = t.name;
      merged["__address__"] = t.address;
      merged["instance"] = t.name;
      merged["__scheme__"] = t.scheme;
      merged["__metrics_path__"] = t.metrics_path;
      model::Labels& labels = targets.emplace_back();
      for (const auto& [name, value] : merged) {
        labels.set(name, value);
      }
    }
  }
  return targets;
}

std::string node_id_for(const Config& config) {
  if (!config.client_id.empty()) {
    return config.client_id;
  }
  Result<std::string> name = util::fqdn();
  return name ? *name : "prometheus";
}

Discovery::Discovery(std::string endpoint, std::string node_id, std::chrono::milliseconds timeout,
                     std::unique_ptr<net::HttpClient> client)
    : m_endpoint(std::move(endpoint)), m_node_id(std::move(node_id)), m_timeout(timeout), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, std::string node_id) {
  model::Url server;
  if (std::string message = model::parse_url(config.server, server); !message.empty()) {
    return fail("kuma_sd: " + message);
  }
  if (server.scheme.empty() || server.host.empty()) {
    return fail("kuma_sd: invalid xDS server URL");
  }
  if (server.scheme != "http" && server.scheme != "https") {
    return fail("kuma_sd: invalid xDS server URL protocol. must be either 'http' or 'https'");
  }
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail("kuma_sd: " + client.error());
  }
  std::string endpoint = server.scheme + "://" + userinfo_of(config.server) + server.host + endpoint_path(server.path) +
                         "?fetch-timeout=" + util::query_escape(model::format_text(config.fetch_timeout));
  auto timeout = std::chrono::milliseconds(config.fetch_timeout.ms) + k_timeout_slack;
  return std::unique_ptr<Discovery>(new Discovery(std::move(endpoint), std::move(node_id), timeout, std::move(*client)));
}

Result<std::optional<std::vector<model::Labels>>> Discovery::fetch(std::stop_token stop) {
  net::HttpHeaders headers = {
      {"User-Agent", std::string(k_user_agent)},
      {"Content-Type", "application/json"},
      {"Accept", "application/json"},
  };
  Result<net::HttpResponse> response =
      m_client->post(m_endpoint, headers, request_body(m_version_info, m_nonce, m_node_id), m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status == 304) {
    return std::optional<std::vector<model::Labels>>(); // already up to date
  }
  if (response->status != 200) {
    return fail(fmt::format("non 200 status '{}' response during xDS fetch", response->status));
  }
  Result<DiscoveryResponse> decoded = parse_response(response->body);
  if (!decoded) {
    return fail(decoded.error());
  }
  // Remembered once decoded, even if the resources then fail to parse.
  m_version_info = decoded->version_info;
  m_nonce = decoded->nonce;
  Result<std::vector<model::Labels>> targets = targets_from_response(*decoded);
  if (!targets) {
    return fail(targets.error());
  }
  return std::optional<std::vector<model::Labels>>(std::move(*targets));
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  Result<std::unique_ptr<Discovery>> discovery = Discovery::make(*this, node_id_for(*this));
  if (!discovery) {
    return fail(discovery.error());
  }
  return std::unique_ptr<Discoverer>(std::make_unique<KumaDiscoverer>(std::move(*discovery), refresh_interval.ms));
}

} // namespace sdscope::discovery::kuma
