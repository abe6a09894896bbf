// ionos_sd: servers of one IONOS Cloud data center from the Cloud API v6
// (credentials only from the HTTP client block), in Prometheus v2.45
// discovery/ionos/ionos.go and server.go with ionos-cloud/sdk-go v6;
// spec/sd-cloud.md §10.
//
// A refresh is one GET <base>/datacenters/<id>/servers with the SDK's query
// depth=3&limit=1000&offset=0&pretty=true (no paging: at most 1000
// servers), headers Accept: application/json and User-Agent
// Prometheus/2.45.0, and the HTTP block's basic_auth or authorization (the
// SDK itself is given no credentials). A status >= 300 fails with
// `<status>: <body>` when the body decodes as the API's JSON error, else
// with the decoding error; a 2xx body must have a JSON content type. The
// HTTP client timeout is refresh_interval, as upstream sets it.
// API: https://api.ionos.com/docs/cloud/v6/#tag/Servers/operation/datacentersServersGet
#include "discovery/ionos.h"


#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::ionos {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_nic_default_name = "unnamed";

// The SDK's jsonCheck: (?i:(?:application|text)/(?:vnd\.[^;]+\+)?json).
bool json_content_type(std::string_view content_type) {
  std::string lower = util::to_lower_ascii(content_type);
  for (std::string_view kind : {"application/", "text/"}) {
    for (size_t at = lower.find(kind); at != std::string::npos; at = lower.find(kind, at + 1)) {
      std::string_view rest = std::string_view(lower).substr(at + kind.size());
      if (rest.starts_with("json")) {
        return true;
      }
      if (rest.starts_with("vnd.")) {
        size_t plus = rest.find("+json");
        if (plus != std::string_view::npos && plus > 4 && rest.substr(4, plus - 4).find(';') == std::string_view::npos) {
          return true;
        }
      }
    }
  }
  return false;
}

// The capacity Go 1.20's encoding/json leaves on a decoded slice of n
// elements (it grows by half, at least to 4).
size_t go_decoded_capacity(size_t n) {
  size_t cap = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i >= cap) {
      cap = std::max<size_t>(cap + cap / 2, 4);
    }
  }
  return cap;
}

// A Go slice: a view of a shared backing array.
struct Slice {
  std::shared_ptr<std::vector<std::string>> array;
  size_t len = 0;
  std::vector<std::string> values() const {
    return array ? std::vector<std::string>(array->begin(), array->begin() + static_cast<ptrdiff_t>(len))
                 : std::vector<std::string>();
  }
};

// Go's append(base, tail...): in place when the base array has room (so
// an earlier slice of that array sees the writes), else into a new array.
Slice go_append(const Slice& base, const std::vector<std::string>& tail) {
  if (tail.empty()) {
    return base;
  }
  if (base.array && base.len + tail.size() <= base.array->size()) {
    std::copy(tail.begin(), tail.end(), base.array->begin() + static_cast<ptrdiff_t>(base.len));
    return {base.array, base.len + tail.size()};
  }
  std::vector<std::string> joined = base.values();
  joined.insert(joined.end(), tail.begin(), tail.end());
  size_t len = joined.size();
  return {std::make_shared<std::vector<std::string>>(std::move(joined)), len};
}

std::string comma_wrapped(const std::vector<std::string>& items) {
  std::string out = ",";
  for (const std::string& item : items) {
    out += item + ",";
  }
  return out;
}

// encoding/json into the SDK's structs of pointers: `where` is Go's error
// context; null leaves the field unset.
class Decoder {
public:
  GoDecoder d;

  template <class Fn> bool object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    return d.object(v, where, type, fn);
  }
  template <class Fn> bool array(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return false;
    }
    if (!v.is_array()) {
      d.mismatch(json_kind(v), where, type);
      return false;
    }
    for (const Json& item : v) {
      fn(item);
    }
    return true;
  }
  void optional(const Json& v, std::optional<std::string>& out, const std::string& where) {
    if (v.is_null()) {
      out.reset();
      return;
    }
    std::string text;
    d.string(v, text, where);
    out = text;
  }
  // A reference {"id": ...} (bootCdrom, bootVolume).
  void reference(const Json& v, std::optional<std::string>& out, const std::string& where) {
    std::string id;
    bool set = object(v, where, "ionoscloud.ResourceReference", [&](const std::string& k, const Json& x) {
      if (equal_fold(k, "id")) {
        d.string(x, id, "ResourceReference." + where.substr(where.find('.') + 1) + ".id");
      }
    });
    out = set ? std::optional(id) : std::nullopt;
  }

  void nic(const Json& item, Server::Nic& nic) {
    object(item, "Server.items.entities.nics.items", "ionoscloud.Nic", [&](const std::string& k, const Json& v) {
      if (!equal_fold(k, "properties")) {
        return;
      }
      object(v, "Nic.items.entities.nics.items.properties", "ionoscloud.NicProperties",
             [&](const std::string& pk, const Json& pv) {
               if (equal_fold(pk, "name")) {
                 optional(pv, nic.name, "NicProperties.items.entities.nics.items.properties.name");
               } else if (equal_fold(pk, "ips")) {
                 nic.ips.clear();
                 d.string_list(pv, nic.ips, "NicProperties.items.entities.nics.items.properties.ips");
               }
             });
    });
  }

  void entities(const Json& v, Server& s) {
    object(v, "Server.items.entities", "ionoscloud.ServerEntities", [&](const std::string& k, const Json& e) {
      if (equal_fold(k, "nics")) {
        object(e, "ServerEntities.items.entities.nics", "ionoscloud.Nics", [&](const std::string& nk, const Json& nv) {
          if (equal_fold(nk, "items")) {
            s.nics.clear();
            array(nv, "Nics.items.entities.nics.items", "[]ionoscloud.Nic",
                  [&](const Json& item) { nic(item, s.nics.emplace_back()); });
          }
        });
      } else if (equal_fold(k, "volumes")) {
        object(e, "ServerEntities.items.entities.volumes", "ionoscloud.AttachedVolumes",
               [&](const std::string& vk, const Json& vv) {
                 if (!equal_fold(vk, "items")) {
                   return;
                 }
                 s.boot_image_id.reset();
                 bool first = true;
                 array(vv, "AttachedVolumes.items.entities.volumes.items", "[]ionoscloud.Volume", [&](const Json& volume) {
                   std::optional<std::string> image;
                   object(volume, "AttachedVolumes.items.entities.volumes.items", "ionoscloud.Volume",
                          [&](const std::string& ok, const Json& ov) {
                            if (!equal_fold(ok, "properties")) {
                              return;
                            }
                            object(ov, "Volume.items.entities.volumes.items.properties", "ionoscloud.VolumeProperties",
                                   [&](const std::string& pk, const Json& pv) {
                                     if (equal_fold(pk, "image")) {
                                       optional(pv, image,
                                                "VolumeProperties.items.entities.volumes.items.properties.image");
                                     }
                                   });
                          });
                   if (first) {
                     s.boot_image_id = image; // only the first volume counts
                     first = false;
                   }
                 });
               });
      }
    });
  }

  void server(const Json& item, Server& s) {
    object(item, "Servers.items", "ionoscloud.Server", [&](const std::string& k, const Json& v) {
      if (equal_fold(k, "id")) {
        d.string(v, s.id, "Server.items.id");
      } else if (equal_fold(k, "metadata")) {
        object(v, "Server.items.metadata", "ionoscloud.DatacenterElementMetadata",
               [&](const std::string& mk, const Json& mv) {
                 if (equal_fold(mk, "state")) {
                   d.string(mv, s.lifecycle, "DatacenterElementMetadata.items.metadata.state");
                 }
               });
      } else if (equal_fold(k, "properties")) {
        object(v, "Server.items.properties", "ionoscloud.ServerProperties", [&](const std::string& pk, const Json& pv) {
          const std::string w = "ServerProperties.items.properties.";
          if (equal_fold(pk, "name")) {
            d.string(pv, s.name, w + "name");
          } else if (equal_fold(pk, "availabilityZone")) {
            d.string(pv, s.availability_zone, w + "availabilityZone");
          } else if (equal_fold(pk, "cpuFamily")) {
            d.string(pv, s.cpu_family, w + "cpuFamily");
          } else if (equal_fold(pk, "vmState")) {
            d.string(pv, s.vm_state, w + "vmState");
          } else if (equal_fold(pk, "type")) {
            d.string(pv, s.type, w + "type");
          } else if (equal_fold(pk, "bootCdrom")) {
            reference(pv, s.boot_cdrom_id, "ServerProperties.items.properties.bootCdrom");
          } else if (equal_fold(pk, "bootVolume")) {
            reference(pv, s.boot_volume_id, "ServerProperties.items.properties.bootVolume");
          }
        });
      } else if (equal_fold(k, "entities")) {
        entities(v, s);
      }
    });
  }
};

} // namespace

void Config::validate(yaml::Checker& c) {
  if (datacenter_id.empty()) {
    c.error("datacenter id can't be empty");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<ServersPage> parse_servers(std::string_view body) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  Decoder dec;
  ServersPage page;
  bool have_items = false;
  dec.object(*json, "", "ionoscloud.Servers", [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "id")) {
      dec.d.string(value, page.id, "Servers.id");
    } else if (equal_fold(key, "items")) {
      page.items.clear();
      have_items = dec.array(value, "Servers.items", "[]ionoscloud.Server",
                             [&](const Json& item) { dec.server(item, page.items.emplace_back()); });
    }
  });
  if (!dec.d.error.empty()) {
    return fail(dec.d.error);
  }
  if (!have_items) {
    return fail("ionos API response without items (Prometheus v2.45 crashes on it)");
  }
  return page;
}

model::TargetGroup group_from_servers(const ServersPage& page, int port) {
  const std::string p = "__meta_ionos_server_";
  model::TargetGroup group;
  group.source = "ionos";
  for (const Server& s : page.items) {
    // v2.45 prepends each NIC's decoded IP slice to the IPs so far with
    // append(nicIPs, ips...), for the whole list and per NIC name; both
    // appends may write into the NIC's own array, so they are replayed
    // with Go's slice semantics (a repeated NIC name can overwrite entries
    // of the whole list, as upstream does).
    Slice ips;
    std::map<std::string, Slice> ips_by_nic;
    for (const Server::Nic& nic : s.nics) {
      auto array = std::make_shared<std::vector<std::string>>(nic.ips);
      array->resize(std::max(nic.ips.size(), go_decoded_capacity(nic.ips.size())));
      Slice nic_ips{array, nic.ips.size()};
      std::string name = nic.name.value_or(std::string(k_nic_default_name));
      ips = go_append(nic_ips, ips.values());
      Slice& named = ips_by_nic[name];
      named = go_append(nic_ips, named.values());
    }
    std::vector<std::string> all = ips.values();
    if (all.empty()) {
      continue; // servers without IPs are dropped
    }
    model::Labels& t = group.targets.emplace_back();
    t.set("__address__", util::join_host_port(all[0], std::to_string(port)));
    t.set(p + "availability_zone", s.availability_zone);
    t.set(p + "cpu_family", s.cpu_family);
    t.set(p + "servers_id", page.id);
    t.set(p + "id", s.id);
    t.set(p + "ip", comma_wrapped(all));
    t.set(p + "lifecycle", s.lifecycle);
    t.set(p + "name", s.name);
    t.set(p + "state", s.vm_state);
    t.set(p + "type", s.type);
    for (const auto& [name, slice] : ips_by_nic) {
      t.set(p + "nic_ip_" + util::sanitize_label_name(name), comma_wrapped(slice.values()));
    }
    if (s.boot_cdrom_id) {
      t.set(p + "boot_cdrom_id", *s.boot_cdrom_id);
    }
    if (s.boot_volume_id) {
      t.set(p + "boot_volume_id", *s.boot_volume_id);
    }
    if (s.boot_image_id) {
      t.set(p + "boot_image_id", *s.boot_image_id);
    }
  }
  return group;
}

Discovery::Discovery(const Config& config, std::string base_url, std::unique_ptr<net::HttpClient> client)
    : m_url(base_url + "/datacenters/" + util::path_escape(config.datacenter_id) +
            "/servers?depth=3&limit=1000&offset=0&pretty=true"),
      m_port(config.port), m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, std::string base_url) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(base_url), std::move(*client)));
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  net::HttpHeaders headers = {{"Accept", "application/json"}, {"User-Agent", std::string(k_user_agent)}};
  Result<net::HttpResponse> response = m_client->get(m_url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  // The SDK's decode: an empty body decodes to nothing, JSON by content
  // type, anything else is "undefined response type".
  auto decode_error = [&]() -> std::string {
    if (response->body.empty()) {
      return "";
    }
    if (!json_content_type(response->content_type)) {
      return "undefined response type";
    }
    Result<Json> json = parse_json(response->body, k_unmarshal_eof);
    return json ? "" : json.error();
  };
  if (response->status >= 300) {
    std::string error = decode_error();
    if (!error.empty()) {
      return fail(error);
    }
    return fail(fmt::format("{}: {}", response->status_line(), response->body));
  }
  if (response->body.empty()) {
    return fail("ionos API response without items (Prometheus v2.45 crashes on it)");
  }
  if (!json_content_type(response->content_type)) {
    return fail("undefined response type");
  }
  Result<ServersPage> page = parse_servers(response->body);
  if (!page) {
    return fail(page.error());
  }
  return std::vector<model::TargetGroup>{group_from_servers(*page, m_port)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  auto it = options.endpoints.find("ionos");
  Result<std::unique_ptr<Discovery>> discovery =
      Discovery::make(*this, it == options.endpoints.end() ? std::string(k_default_base_url) : it->second);
  if (!discovery) {
    return fail(discovery.error());
  }
  std::shared_ptr<Discovery> shared = std::move(*discovery);
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      refresh_interval.ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
}

} // namespace sdscope::discovery::ionos
