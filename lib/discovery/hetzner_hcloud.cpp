// hetzner_sd role hcloud: servers of the Hetzner Cloud API, as Prometheus
// v2.45 discovery/hetzner/hcloud.go lists them through hcloud-go
// (spec/sd-cloud.md §6).
//
// Each refresh lists every page of GET <endpoint>/servers and then of
// GET <endpoint>/networks (`page` from 1, `per_page=50`, `label_selector`
// on servers since 3.5), following meta.pagination.next_page until it is
// null or 0. The token is the HTTP client block's (hcloud-go gets none);
// the request carries hcloud-go's User-Agent. A 4xx/5xx with Hetzner's
// error JSON fails as hcloud-go words it, "<message> (<code>)"; the codes
// rate_limit_exceeded and conflict are retried with hcloud-go's backoff
// (500ms doubling). hcloud-go retries those for as long as the API sends
// them; here the retries stop once their waits would pass the request
// timeout, and the last error is returned. API reference:
// https://docs.hetzner.cloud/#servers-get-all-servers
//
// Labels are exactly v2.45's: the datacenter and its location come from the
// server's `datacenter` (the server's own `location`, which 3.11 reads, is
// not read).
#include "discovery/hetzner.h"

#include <map>
#include <optional>

#include <fmt/format.h>

#include "discovery/go_ip.h"
#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::hetzner {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0 hcloud-go/1.45.1";
constexpr int k_per_page = 50;

constexpr std::string_view k_role_label = "__meta_hetzner_role";
constexpr std::string_view k_server_id_label = "__meta_hetzner_server_id";
constexpr std::string_view k_server_name_label = "__meta_hetzner_server_name";
constexpr std::string_view k_server_status_label = "__meta_hetzner_server_status";
constexpr std::string_view k_datacenter_label = "__meta_hetzner_datacenter";
constexpr std::string_view k_public_ipv4_label = "__meta_hetzner_public_ipv4";
constexpr std::string_view k_public_ipv6_network_label = "__meta_hetzner_public_ipv6_network";
constexpr std::string_view k_datacenter_location_label = "__meta_hetzner_hcloud_datacenter_location";
constexpr std::string_view k_datacenter_location_network_zone_label =
    "__meta_hetzner_hcloud_datacenter_location_network_zone";
constexpr std::string_view k_server_type_label = "__meta_hetzner_hcloud_server_type";
constexpr std::string_view k_cpu_cores_label = "__meta_hetzner_hcloud_cpu_cores";
constexpr std::string_view k_cpu_type_label = "__meta_hetzner_hcloud_cpu_type";
constexpr std::string_view k_memory_label = "__meta_hetzner_hcloud_memory_size_gb";
constexpr std::string_view k_disk_label = "__meta_hetzner_hcloud_disk_size_gb";
constexpr std::string_view k_image_name_label = "__meta_hetzner_hcloud_image_name";
constexpr std::string_view k_image_description_label = "__meta_hetzner_hcloud_image_description";
constexpr std::string_view k_image_os_version_label = "__meta_hetzner_hcloud_image_os_version";
constexpr std::string_view k_image_os_flavor_label = "__meta_hetzner_hcloud_image_os_flavor";
constexpr std::string_view k_private_ipv4_prefix = "__meta_hetzner_hcloud_private_ipv4_";
constexpr std::string_view k_label_prefix = "__meta_hetzner_hcloud_label_";
constexpr std::string_view k_label_present_prefix = "__meta_hetzner_hcloud_labelpresent_";

struct PrivateNet {
  int64_t network = 0;
  std::string ip;
};
struct Image {
  std::string name, description, os_version, os_flavor;
};
struct Server {
  int64_t id = 0;
  std::string name, status, public_ipv4, public_ipv6;
  std::vector<PrivateNet> private_nets;
  std::string type_name, cpu_type;
  int64_t cores = 0, disk = 0;
  double memory = 0;
  std::string datacenter, datacenter_location, datacenter_network_zone;
  std::optional<Image> image;
  std::map<std::string, std::string> labels;
};
struct Network {
  int64_t id = 0;
  std::string name;
};

// Go's decoding into hcloud-go's schema structs; `where` is Go's error
// context "<Struct>.<json path>".
class SchemaDecoder {
public:
  GoDecoder d;

  // A nested struct (pointer or not: null leaves it unset).
  template <class Fn> bool object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    return d.object(v, where, "schema." + std::string(type), fn);
  }
  template <class T, class Fn>
  void list(const Json& v, std::vector<T>& out, std::string_view where, std::string_view type, Fn fn) {
    d.list(v, out, where, "schema." + std::string(type), fn);
  }
  void float32(const Json& v, double& out, std::string_view where) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_number()) {
      d.mismatch(json_kind(v), where, "float32");
      return;
    }
    out = v.get<double>();
  }

  void location(const Json& v, std::string_view path, std::string& name, std::string& zone) {
    std::string where = "Location." + std::string(path);
    object(v, where, "Location", [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "name")) {
        d.string(value, name, where + ".name");
      } else if (equal_fold(key, "network_zone")) {
        d.string(value, zone, where + ".network_zone");
      }
    });
  }

  void public_net(const Json& v, Server& s) {
    object(v, "Server.servers.public_net", "ServerPublicNet", [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "ipv4") || equal_fold(key, "ipv6")) {
        bool v4 = equal_fold(key, "ipv4");
        std::string type = v4 ? "ServerPublicNetIPv4" : "ServerPublicNetIPv6";
        std::string where = type + ".servers.public_net." + (v4 ? "ipv4" : "ipv6");
        object(value, where, type, [&](const std::string& k, const Json& x) {
          if (equal_fold(k, "ip")) {
            d.string(x, v4 ? s.public_ipv4 : s.public_ipv6, where + ".ip");
          }
        });
      }
    });
  }

  void server_type(const Json& v, Server& s) {
    const std::string where = "ServerType.servers.server_type";
    object(v, where, "ServerType", [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "name")) {
        d.string(value, s.type_name, where + ".name");
      } else if (equal_fold(key, "cores")) {
        d.integer(value, s.cores, where + ".cores");
      } else if (equal_fold(key, "cpu_type")) {
        d.string(value, s.cpu_type, where + ".cpu_type");
      } else if (equal_fold(key, "memory")) {
        float32(value, s.memory, where + ".memory");
      } else if (equal_fold(key, "disk")) {
        d.integer(value, s.disk, where + ".disk");
      }
    });
  }

  void image(const Json& v, Server& s) {
    const std::string where = "Image.servers.image";
    Image image;
    bool present = object(v, where, "Image", [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "name")) {
        d.string(value, image.name, where + ".name");
      } else if (equal_fold(key, "description")) {
        d.string(value, image.description, where + ".description");
      } else if (equal_fold(key, "os_version")) {
        d.string(value, image.os_version, where + ".os_version");
      } else if (equal_fold(key, "os_flavor")) {
        d.string(value, image.os_flavor, where + ".os_flavor");
      }
    });
    s.image = present ? std::optional<Image>(image) : std::nullopt;
  }

  void server(const std::string& key, const Json& value, Server& s) {
    const std::string where = "Server.servers";
    if (equal_fold(key, "id")) {
      d.integer(value, s.id, where + ".id");
    } else if (equal_fold(key, "name")) {
      d.string(value, s.name, where + ".name");
    } else if (equal_fold(key, "status")) {
      d.string(value, s.status, where + ".status");
    } else if (equal_fold(key, "public_net")) {
      public_net(value, s);
    } else if (equal_fold(key, "private_net")) {
      list(value, s.private_nets, "Server.servers.private_net", "ServerPrivateNet",
           [&](const std::string& k, const Json& x, PrivateNet& net) {
             if (equal_fold(k, "network")) {
               d.integer(x, net.network, "ServerPrivateNet.servers.private_net.network");
             } else if (equal_fold(k, "ip")) {
               d.string(x, net.ip, "ServerPrivateNet.servers.private_net.ip");
             }
           });
    } else if (equal_fold(key, "server_type")) {
      server_type(value, s);
    } else if (equal_fold(key, "datacenter")) {
      object(value, "Datacenter.servers.datacenter", "Datacenter", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "name")) {
          d.string(x, s.datacenter, "Datacenter.servers.datacenter.name");
        } else if (equal_fold(k, "location")) {
          location(x, "servers.datacenter.location", s.datacenter_location, s.datacenter_network_zone);
        }
      });
    } else if (equal_fold(key, "image")) {
      image(value, s);
    } else if (equal_fold(key, "labels")) {
      d.string_map(value, s.labels, where + ".labels");
    }
  }
};

// Decodes one page's list field (`servers` or `networks`) of a
// <type>ListResponse body into out.
template <class T, class Fn>
Result<void> decode_page(std::string_view body, std::string_view field, std::string_view type, std::vector<T>& out,
                         Fn fn) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  SchemaDecoder s;
  if (!json->is_object()) {
    if (!json->is_null()) {
      s.d.mismatch(json_kind(*json), "", "schema." + std::string(type) + "ListResponse");
    }
  } else {
    s.d.fields(*json, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, field)) {
        s.list(value, out, std::string(type) + "ListResponse." + std::string(field), type,
               [&](const std::string& k, const Json& x, T& item) { fn(s, k, x, item); });
      }
    });
  }
  if (!s.d.error.empty()) {
    return fail(s.d.error);
  }
  return {};
}

model::Labels server_labels(const Server& s, const std::vector<Network>& networks, int port) {
  std::string ipv4 = go_ip_string(s.public_ipv4);
  model::Labels labels;
  labels.set("__address__", util::join_host_port(ipv4, std::to_string(port)));
  labels.set(k_role_label, "hcloud");
  labels.set(k_server_id_label, std::to_string(s.id));
  labels.set(k_server_name_label, s.name);
  labels.set(k_server_status_label, s.status);
  labels.set(k_datacenter_label, s.datacenter);
  labels.set(k_public_ipv4_label, ipv4);
  labels.set(k_public_ipv6_network_label, go_cidr_network_string(s.public_ipv6));
  labels.set(k_datacenter_location_label, s.datacenter_location);
  labels.set(k_datacenter_location_network_zone_label, s.datacenter_network_zone);
  labels.set(k_server_type_label, s.type_name);
  labels.set(k_cpu_cores_label, std::to_string(s.cores));
  labels.set(k_cpu_type_label, s.cpu_type);
  // Go: int(float32 memory), truncated.
  labels.set(k_memory_label, std::to_string(static_cast<int64_t>(static_cast<float>(s.memory))));
  labels.set(k_disk_label, std::to_string(s.disk));
  if (s.image) {
    labels.set(k_image_name_label, s.image->name);
    labels.set(k_image_description_label, s.image->description);
    labels.set(k_image_os_version_label, s.image->os_version);
    labels.set(k_image_os_flavor_label, s.image->os_flavor);
  }
  for (const PrivateNet& net : s.private_nets) {
    for (const Network& network : networks) {
      if (net.network == network.id) {
        labels.set(std::string(k_private_ipv4_prefix) + util::sanitize_label_name(network.name), go_ip_string(net.ip));
      }
    }
  }
  for (const auto& [key, value] : s.labels) {
    labels.set(std::string(k_label_present_prefix) + util::sanitize_label_name(key), "true"); // even for ""
    labels.set(std::string(k_label_prefix) + util::sanitize_label_name(key), value);
  }
  return labels;
}

// hcloud-go's error for a 4xx/5xx answer: the API's error object as
// "<message> (<code>)" when the body is JSON and has one; code is set to
// the API's error code ("" otherwise).
std::string api_error(const net::HttpResponse& response, std::string& code) {
  code.clear();
  if (util::starts_with(response.content_type, "application/json")) {
    Result<Json> json = parse_json(response.body, k_unmarshal_eof);
    if (json && json->is_object() && json->contains("error") && (*json)["error"].is_object()) {
      const Json& error = (*json)["error"];
      std::string message;
      GoDecoder d;
      d.string(error.value("code", Json()), code, "");
      d.string(error.value("message", Json()), message, "");
      if (d.error.empty() && (!code.empty() || !message.empty())) {
        return fmt::format("{} ({})", message, code);
      }
      code.clear();
    }
  }
  return fmt::format("hcloud: server responded with status code {}", response.status);
}

// meta.pagination.next_page of a JSON answer (hcloud-go reads it before
// looking at the status); 0 when there is none.
Result<int64_t> next_page_of(const net::HttpResponse& response) {
  if (!util::starts_with(response.content_type, "application/json")) {
    return 0;
  }
  Result<Json> json = parse_json(response.body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  SchemaDecoder s;
  int64_t next = 0;
  if (json->is_object()) {
    s.d.fields(*json, [&](const std::string& key, const Json& meta) {
      if (!equal_fold(key, "meta")) {
        return;
      }
      s.object(meta, "MetaResponse.meta", "Meta", [&](const std::string& k, const Json& pagination) {
        if (!equal_fold(k, "pagination")) {
          return;
        }
        s.object(pagination, "Meta.meta.pagination", "MetaPagination", [&](const std::string& f, const Json& x) {
          int64_t ignored = 0;
          std::string where = "MetaPagination.meta.pagination." + f;
          s.d.integer(x, equal_fold(f, "next_page") ? next : ignored, where);
        });
      });
    });
  } else if (!json->is_null()) {
    s.d.mismatch(json_kind(*json), "", "schema.MetaResponse");
  }
  if (!s.d.error.empty()) {
    return fail(s.d.error);
  }
  return next;
}

} // namespace

Result<model::TargetGroup> hcloud_group(std::span<const std::string> server_pages,
                                        std::span<const std::string> network_pages, int port) {
  std::vector<Server> servers;
  for (const std::string& page : server_pages) {
    Result<void> r = decode_page(page, "servers", "Server", servers,
                                 [](SchemaDecoder& s, const std::string& k, const Json& x, Server& server) {
                                   s.server(k, x, server);
                                 });
    if (!r) {
      return fail(r.error());
    }
  }
  std::vector<Network> networks;
  for (const std::string& page : network_pages) {
    Result<void> r = decode_page(page, "networks", "Network", networks,
                                 [](SchemaDecoder& s, const std::string& k, const Json& x, Network& network) {
                                   if (equal_fold(k, "id")) {
                                     s.d.integer(x, network.id, "Network.networks.id");
                                   } else if (equal_fold(k, "name")) {
                                     s.d.string(x, network.name, "Network.networks.name");
                                   }
                                 });
    if (!r) {
      return fail(r.error());
    }
  }
  model::TargetGroup group;
  group.source = "hetzner";
  for (const Server& server : servers) {
    group.targets.push_back(server_labels(server, networks, port));
  }
  return group;
}

HcloudDiscovery::HcloudDiscovery(const Config& config, std::string endpoint, std::unique_ptr<net::HttpClient> client)
    : m_endpoint(std::move(endpoint)), m_label_selector(config.label_selector), m_port(config.port),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {
  while (!m_endpoint.empty() && m_endpoint.back() == '/') { // hcloud-go's WithEndpoint trims them
    m_endpoint.pop_back();
  }
}

Result<std::unique_ptr<HcloudDiscovery>> HcloudDiscovery::make(const Config& config, std::string endpoint) {
  net::HttpClientConfig http = config.http_client;
  http.enable_http2 = false; // v2.45 builds this round tripper WithHTTP2Disabled
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<HcloudDiscovery>(new HcloudDiscovery(config, std::move(endpoint), std::move(*client)));
}

Result<std::string> HcloudDiscovery::fetch_page(const std::string& url, const std::stop_token& stop, int& next_page) {
  const net::HttpHeaders headers = {{"User-Agent", std::string(k_user_agent)}};
  std::chrono::milliseconds waited{0};
  for (int retries = 0;; ++retries) {
    Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, stop);
    if (!response) {
      return fail(response.error());
    }
    Result<int64_t> next = next_page_of(*response);
    if (!next) {
      return fail("hcloud: error reading response meta data: " + next.error());
    }
    if (response->status >= 400 && response->status <= 599) {
      std::string code;
      std::string error = api_error(*response, code);
      std::chrono::milliseconds backoff(500LL << std::min(retries, 20));
      bool retryable = code == "rate_limit_exceeded" || code == "conflict";
      if (!retryable || waited + backoff > m_timeout) {
        return fail(error);
      }
      if (!sleep_for(stop, backoff)) {
        return fail(fmt::format("Get {}: context canceled", util::go_quote(url)));
      }
      waited += backoff;
      continue;
    }
    next_page = static_cast<int>(*next);
    return std::move(response->body);
  }
}

Result<std::vector<std::string>> HcloudDiscovery::fetch_all(std::string_view resource, std::string_view selector,
                                                            const std::stop_token& stop) {
  std::vector<std::string> pages;
  int page = 1;
  while (true) {
    // Go's url.Values.Encode: keys sorted.
    std::string url = fmt::format("{}/{}?{}page={}&per_page={}", m_endpoint, resource,
                                  selector.empty() ? "" : "label_selector=" + util::query_escape(selector) + "&",
                                  page, k_per_page);
    int next = 0;
    Result<std::string> body = fetch_page(url, stop, next);
    if (!body) {
      return fail(body.error());
    }
    pages.push_back(std::move(*body));
    if (next == 0) {
      return pages;
    }
    page = next;
  }
}

Result<std::vector<model::TargetGroup>> HcloudDiscovery::refresh(std::stop_token stop) {
  Result<std::vector<std::string>> servers = fetch_all("servers", m_label_selector, stop);
  if (!servers) {
    return fail(servers.error());
  }
  Result<std::vector<std::string>> networks = fetch_all("networks", "", stop);
  if (!networks) {
    return fail(networks.error());
  }
  Result<model::TargetGroup> group = hcloud_group(*servers, *networks, m_port);
  if (!group) {
    return fail(group.error());
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

} // namespace sdscope::discovery::hetzner
