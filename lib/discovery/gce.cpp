// gce_sd: Compute Engine instances of one project and zone
// (discovery/gce/gce.go in Prometheus v2.45; spec/sd-cloud.md §4).
//
// Each refresh lists the zone's instances with the Compute API v1,
// GET https://compute.googleapis.com/compute/v1/projects/<project>/zones/
// <zone>/instances?alt=json[&filter=<filter>][&pageToken=<t>]&prettyPrint=false
// (the query sorted as google-api-go-client's url.Values writes it), page
// after page while the answer carries a nextPageToken, with
// "Authorization: Bearer <token>" from Application Default Credentials
// (gce_auth.cpp). Every instance with a network interface becomes a
// target at <networkIP of the first interface>:<port>, concatenated
// without brackets as v2.45 does. All targets make one group,
// Source GCE_<project>_<zone>.
// API: https://cloud.google.com/compute/docs/reference/rest/v1/instances/list
//
// v2.45 sets no request timeout (a hung API stalls its discoverer for
// good); here each request gets the refresh interval, then fails and the
// next tick retries (targets are kept meanwhile, as on any failure).
#include "discovery/gce.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "net/jwt.h"
#include "util/strings.h"

namespace sdscope::discovery::gce {

namespace {

constexpr std::string_view k_project_label = "__meta_gce_project";
constexpr std::string_view k_zone_label = "__meta_gce_zone";
constexpr std::string_view k_network_label = "__meta_gce_network";
constexpr std::string_view k_subnetwork_label = "__meta_gce_subnetwork";
constexpr std::string_view k_public_ip_label = "__meta_gce_public_ip";
constexpr std::string_view k_private_ip_label = "__meta_gce_private_ip";
constexpr std::string_view k_instance_id_label = "__meta_gce_instance_id";
constexpr std::string_view k_instance_name_label = "__meta_gce_instance_name";
constexpr std::string_view k_instance_status_label = "__meta_gce_instance_status";
constexpr std::string_view k_tags_label = "__meta_gce_tags";
constexpr std::string_view k_metadata_prefix = "__meta_gce_metadata_";
constexpr std::string_view k_label_prefix = "__meta_gce_label_";
constexpr std::string_view k_machine_type_label = "__meta_gce_machine_type";
constexpr std::string_view k_interface_ipv4_prefix = "__meta_gce_interface_ipv4_";

// google-api-go-client's request headers (v0.126, as in v2.45).
constexpr std::string_view k_user_agent = "google-api-go-client/0.5";
constexpr std::string_view k_api_client = "gl-go/1.20.5 gdcl/0.126.0";

// compute.Instance as far as the labels use it.
struct NetworkInterface {
  std::string name, network, subnetwork, network_ip;
  std::string first_access_type, first_nat_ip;
  bool has_access_config = false;
};

struct Instance {
  uint64_t id = 0;
  std::string name, zone, status, machine_type;
  std::vector<NetworkInterface> interfaces;
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> metadata; // items with a value
  std::vector<std::pair<std::string, std::string>> labels;
};

// RFC 6570 simple expansion, as googleapi.Expand fills a path variable.
std::string expand_path_variable(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", b);
    }
  }
  return out;
}

// Go's ",string" uint64: a quoted decimal number.
void decode_id(GoDecoder& d, const Json& v, uint64_t& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_string()) {
    if (d.error.empty()) {
      d.error = "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into uint64";
    }
    return;
  }
  const std::string& s = v.get_ref<const std::string&>();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if ((ec != std::errc() || end != s.data() + s.size()) && d.error.empty()) {
    d.error = fmt::format("json: invalid use of ,string struct tag, trying to unmarshal {} into uint64",
                          go_json_string(s));
  }
}

template <class Fn> void each_object(GoDecoder& d, const Json& v, std::string_view where, std::string_view type,
                                     Fn fn) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    d.mismatch(json_kind(v), where, type);
    return;
  }
  for (const Json& item : v) {
    if (item.is_null()) {
      continue; // a nil pointer in Go's slice
    }
    if (!item.is_object()) {
      d.mismatch(json_kind(item), where, type.substr(3)); // "[]*T" -> "T"
      continue;
    }
    fn(item);
  }
}

NetworkInterface decode_interface(GoDecoder& d, const Json& object) {
  NetworkInterface nic;
  d.fields(object, [&](const std::string& key, const Json& v) {
    if (equal_fold(key, "name")) {
      d.string(v, nic.name, "NetworkInterface.items.networkInterfaces.name");
    } else if (equal_fold(key, "network")) {
      d.string(v, nic.network, "NetworkInterface.items.networkInterfaces.network");
    } else if (equal_fold(key, "subnetwork")) {
      d.string(v, nic.subnetwork, "NetworkInterface.items.networkInterfaces.subnetwork");
    } else if (equal_fold(key, "networkIP")) {
      d.string(v, nic.network_ip, "NetworkInterface.items.networkInterfaces.networkIP");
    } else if (equal_fold(key, "accessConfigs")) {
      nic.has_access_config = false;
      bool first = true;
      if (v.is_array() && !v.empty() && v[0].is_null()) {
        first = false; // Go would dereference nil here; treat as no NAT
      }
      each_object(d, v, "NetworkInterface.items.networkInterfaces.accessConfigs", "[]*compute.AccessConfig",
                  [&](const Json& config) {
                    if (!first) {
                      return;
                    }
                    first = false;
                    nic.has_access_config = true;
                    d.fields(config, [&](const std::string& k, const Json& value) {
                      if (equal_fold(k, "type")) {
                        d.string(value, nic.first_access_type, "AccessConfig.items.networkInterfaces.accessConfigs.type");
                      } else if (equal_fold(k, "natIP")) {
                        d.string(value, nic.first_nat_ip, "AccessConfig.items.networkInterfaces.accessConfigs.natIP");
                      }
                    });
                  });
    }
  });
  return nic;
}

Instance decode_instance(GoDecoder& d, const Json& object) {
  Instance inst;
  d.fields(object, [&](const std::string& key, const Json& v) {
    if (equal_fold(key, "id")) {
      decode_id(d, v, inst.id);
    } else if (equal_fold(key, "name")) {
      d.string(v, inst.name, "Instance.items.name");
    } else if (equal_fold(key, "zone")) {
      d.string(v, inst.zone, "Instance.items.zone");
    } else if (equal_fold(key, "status")) {
      d.string(v, inst.status, "Instance.items.status");
    } else if (equal_fold(key, "machineType")) {
      d.string(v, inst.machine_type, "Instance.items.machineType");
    } else if (equal_fold(key, "networkInterfaces")) {
      inst.interfaces.clear();
      each_object(d, v, "Instance.items.networkInterfaces", "[]*compute.NetworkInterface",
                  [&](const Json& nic) { inst.interfaces.push_back(decode_interface(d, nic)); });
    } else if (equal_fold(key, "tags") && v.is_object()) {
      d.fields(v, [&](const std::string& k, const Json& items) {
        if (equal_fold(k, "items")) {
          inst.tags.clear();
          d.string_list(items, inst.tags, "Tags.items.tags.items");
        }
      });
    } else if (equal_fold(key, "metadata") && v.is_object()) {
      d.fields(v, [&](const std::string& k, const Json& items) {
        if (!equal_fold(k, "items")) {
          return;
        }
        inst.metadata.clear();
        each_object(d, items, "Metadata.items.metadata.items", "[]*compute.MetadataItems", [&](const Json& item) {
          std::string item_key, value;
          bool has_value = false;
          d.fields(item, [&](const std::string& f, const Json& fv) {
            if (equal_fold(f, "key")) {
              d.string(fv, item_key, "MetadataItems.items.metadata.items.key");
            } else if (equal_fold(f, "value")) {
              has_value = !fv.is_null();
              d.string(fv, value, "MetadataItems.items.metadata.items.value");
            }
          });
          if (has_value) {
            inst.metadata.emplace_back(item_key, value);
          }
        });
      });
    } else if (equal_fold(key, "labels")) {
      std::map<std::string, std::string> labels;
      d.string_map(v, labels, "Instance.items.labels");
      inst.labels.assign(labels.begin(), labels.end());
    } else if ((equal_fold(key, "tags") || equal_fold(key, "metadata")) && !v.is_null()) {
      d.mismatch(json_kind(v), fmt::format("Instance.items.{}", key),
                 equal_fold(key, "tags") ? "compute.Tags" : "compute.Metadata");
    }
  });
  return inst;
}

model::Labels target_of(const Instance& inst, const Config& config) {
  model::Labels labels;
  labels.set(k_project_label, config.project);
  labels.set(k_zone_label, inst.zone);
  labels.set(k_instance_id_label, std::to_string(inst.id));
  labels.set(k_instance_name_label, inst.name);
  labels.set(k_instance_status_label, inst.status);
  labels.set(k_machine_type_label, inst.machine_type);
  const NetworkInterface& primary = inst.interfaces.front();
  labels.set(k_network_label, primary.network);
  labels.set(k_subnetwork_label, primary.subnetwork);
  labels.set(k_private_ip_label, primary.network_ip);
  labels.set("__address__", fmt::format("{}:{}", primary.network_ip, config.port));
  for (const NetworkInterface& nic : inst.interfaces) {
    labels.set(std::string(k_interface_ipv4_prefix) + util::sanitize_label_name(nic.name), nic.network_ip);
  }
  if (!inst.tags.empty()) {
    std::string tags = config.tag_separator;
    for (size_t i = 0; i < inst.tags.size(); ++i) {
      tags += (i == 0 ? "" : config.tag_separator) + inst.tags[i];
    }
    labels.set(k_tags_label, tags + config.tag_separator);
  }
  for (const auto& [key, value] : inst.metadata) {
    labels.set(std::string(k_metadata_prefix) + util::sanitize_label_name(key), value);
  }
  for (const auto& [key, value] : inst.labels) {
    labels.set(std::string(k_label_prefix) + util::sanitize_label_name(key), value);
  }
  if (primary.has_access_config && primary.first_access_type == "ONE_TO_ONE_NAT") {
    labels.set(k_public_ip_label, primary.first_nat_ip);
  }
  return labels;
}

} // namespace

void Config::validate(yaml::Checker& c) const {
  if (project.empty()) {
    c.error("GCE SD configuration requires a project");
    return;
  }
  if (zone.empty()) {
    c.error("GCE SD configuration requires a zone");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<InstancePage> instances_to_targets(std::string_view body, const Config& config) {
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  if (!json->is_object()) {
    if (json->is_null()) {
      return InstancePage{};
    }
    return fail(fmt::format("json: cannot unmarshal {} into Go value of type compute.InstanceList", json_kind(*json)));
  }
  InstancePage page;
  std::vector<Instance> instances;
  GoDecoder d;
  d.fields(*json, [&](const std::string& key, const Json& v) {
    if (equal_fold(key, "items")) {
      instances.clear();
      each_object(d, v, "InstanceList.items", "[]*compute.Instance",
                  [&](const Json& item) { instances.push_back(decode_instance(d, item)); });
    } else if (equal_fold(key, "nextPageToken")) {
      d.string(v, page.next_page_token, "InstanceList.nextPageToken");
    }
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  for (const Instance& inst : instances) {
    if (!inst.interfaces.empty()) {
      page.targets.push_back(target_of(inst, config));
    }
  }
  return page;
}

std::string google_api_error(long status, std::string_view body) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  const Json* error = nullptr;
  if (json && json->is_object() && json->contains("error") && (*json)["error"].is_object()) {
    error = &(*json)["error"];
  }
  if (error == nullptr) {
    return fmt::format("googleapi: got HTTP response code {} with body: {}", status, body);
  }
  long code = error->contains("code") && (*error)["code"].is_number_integer() ? (*error)["code"].get<long>() : 0;
  std::string message = error->contains("message") && (*error)["message"].is_string()
                            ? (*error)["message"].get<std::string>()
                            : "";
  std::vector<std::pair<std::string, std::string>> items; // reason, message
  if (error->contains("errors") && (*error)["errors"].is_array()) {
    for (const Json& item : (*error)["errors"]) {
      if (!item.is_object()) {
        continue;
      }
      auto text = [&](const char* name) {
        return item.contains(name) && item[name].is_string() ? item[name].get<std::string>() : std::string();
      };
      items.emplace_back(text("reason"), text("message"));
    }
  }
  if (items.empty() && message.empty()) {
    return fmt::format("googleapi: got HTTP response code {} with body: {}", status, body);
  }
  std::string out = fmt::format("googleapi: Error {}: {}", code != 0 ? code : status, message);
  if (error->contains("details") && (*error)["details"].is_array() && !(*error)["details"].empty()) {
    out += "\nDetails:\n" + (*error)["details"].dump(2) + "\n";
  }
  if (items.empty()) {
    return util::trim_space(out);
  }
  if (items.size() == 1 && items[0].second == message) {
    return out + ", " + items[0].first;
  }
  out += "\nMore details:\n";
  for (const auto& [reason, item_message] : items) {
    out += fmt::format("Reason: {}, Message: {}\n", reason, item_message);
  }
  return out;
}

Discovery::Discovery(const Config& config, std::string base_url, std::unique_ptr<AccessTokens> tokens,
                     std::unique_ptr<net::HttpClient> client)
    : m_config(config), m_base_url(std::move(base_url)),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_tokens(std::move(tokens)),
      m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, const DiscovererOptions& options,
                                                   const AdcEnvironment& environment) {
  std::chrono::milliseconds timeout(std::max<int64_t>(config.refresh_interval.ms, 1));
  Result<std::unique_ptr<AccessTokens>> tokens =
      AccessTokens::find(environment, std::string(k_compute_readonly_scope), timeout);
  if (!tokens) {
    return fail("error setting up communication with GCE service: " + tokens.error());
  }
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make({});
  if (!client) {
    return fail("error setting up communication with GCE service: " + client.error());
  }
  auto it = options.endpoints.find("gce");
  std::string base = it == options.endpoints.end() ? std::string(k_compute_base_url) : it->second;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(base), std::move(*tokens), std::move(*client)));
}

// The body of one page, or the error as the compute client words it.
Result<std::string> Discovery::fetch_page(const std::string& page_token, std::stop_token stop) {
  std::vector<std::pair<std::string, std::string>> query = {{"alt", "json"}, {"prettyPrint", "false"}};
  if (!m_config.filter.empty()) {
    query.emplace_back("filter", m_config.filter);
  }
  if (!page_token.empty()) {
    query.emplace_back("pageToken", page_token);
  }
  std::string url = fmt::format("{}/compute/v1/projects/{}/zones/{}/instances?{}", m_base_url,
                                expand_path_variable(m_config.project), expand_path_variable(m_config.zone),
                                net::form_encode(query));
  Result<std::string> authorization = m_tokens->authorization(*m_client, stop);
  if (!authorization) { // oauth2.Transport fails inside client.Do
    return fail(fmt::format("Get {}: {}", util::go_quote(url), authorization.error()));
  }
  net::HttpHeaders headers = {{"Authorization", *authorization},
                              {"User-Agent", std::string(k_user_agent)},
                              {"X-Goog-Api-Client", std::string(k_api_client)}};
  Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status > 299) {
    return fail(google_api_error(response->status, response->body));
  }
  return std::move(response->body);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  model::TargetGroup group;
  group.source = fmt::format("GCE_{}_{}", m_config.project, m_config.zone);
  std::string page_token;
  do {
    Result<std::string> body = fetch_page(page_token, stop);
    Result<InstancePage> page = body ? instances_to_targets(*body, m_config) : fail(body.error());
    if (!page) {
      return fail("error retrieving refresh targets from gce: " + page.error());
    }
    std::move(page->targets.begin(), page->targets.end(), std::back_inserter(group.targets));
    page_token = std::move(page->next_page_token);
  } while (!page_token.empty());
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer_in(const DiscovererOptions& options,
                                                               AdcEnvironment environment) const {
  if (auto it = options.endpoints.find("gce_token"); it != options.endpoints.end()) {
    environment.token_url_override = it->second;
  }
  if (auto it = options.endpoints.find("gce_metadata"); it != options.endpoints.end()) {
    environment.metadata_url_override = it->second;
  }
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, options, environment);
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  return make_discoverer_in(options, AdcEnvironment::process());
}

} // namespace sdscope::discovery::gce
