// eureka_sd: instances registered in a Netflix Eureka server
// (discovery/eureka/{eureka,client}.go in Prometheus v2.45; spec/sd-platforms.md
// §8).
//
// Each refresh is one GET <server>/apps (the path appended as text, so a
// server ending in "/" asks for "//apps") with User-Agent Prometheus/<version>
// and no Accept header, so Eureka answers in XML. Any 2xx is accepted. The
// body is read the way Go's encoding/xml fills v2.45's structs: the root's
// name is not checked, unknown elements are ignored, numbers and booleans
// must parse, and the children of a <metadata> element are kept by name
// with their raw inner markup. All instances of all applications make one
// group, Source "eureka". Eureka REST API:
// https://github.com/Netflix/eureka/wiki/Eureka-REST-operations
//
// v2.45 sets no request timeout; here a request gets the refresh interval,
// then fails and is retried at the next tick (targets are kept meanwhile).
// Go's decoder lets a <!DOCTYPE> through (without expanding anything); the
// XML reader here rejects it, which no Eureka server sends anyway.
#include "discovery/eureka.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "discovery/go_strconv.h"
#include "model/url.h"
#include "util/strings.h"
#include "util/xml.h"

namespace sdscope::discovery::eureka {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_source = "eureka";

constexpr std::string_view k_app_name_label = "__meta_eureka_app_name";
constexpr std::string_view k_hostname_label = "__meta_eureka_app_instance_hostname";
constexpr std::string_view k_homepage_url_label = "__meta_eureka_app_instance_homepage_url";
constexpr std::string_view k_statuspage_url_label = "__meta_eureka_app_instance_statuspage_url";
constexpr std::string_view k_healthcheck_url_label = "__meta_eureka_app_instance_healthcheck_url";
constexpr std::string_view k_ip_addr_label = "__meta_eureka_app_instance_ip_addr";
constexpr std::string_view k_vip_address_label = "__meta_eureka_app_instance_vip_address";
constexpr std::string_view k_secure_vip_address_label = "__meta_eureka_app_instance_secure_vip_address";
constexpr std::string_view k_status_label = "__meta_eureka_app_instance_status";
constexpr std::string_view k_port_label = "__meta_eureka_app_instance_port";
constexpr std::string_view k_port_enabled_label = "__meta_eureka_app_instance_port_enabled";
constexpr std::string_view k_secure_port_label = "__meta_eureka_app_instance_secure_port";
constexpr std::string_view k_secure_port_enabled_label = "__meta_eureka_app_instance_secure_port_enabled";
constexpr std::string_view k_datacenterinfo_name_label = "__meta_eureka_app_instance_datacenterinfo_name";
constexpr std::string_view k_datacenterinfo_metadata_prefix = "__meta_eureka_app_instance_datacenterinfo_metadata_";
constexpr std::string_view k_country_id_label = "__meta_eureka_app_instance_country_id";
constexpr std::string_view k_id_label = "__meta_eureka_app_instance_id";
constexpr std::string_view k_metadata_prefix = "__meta_eureka_app_instance_metadata_";

// v2.45's structs, as far as the labels use them.
struct Port {
  int64_t port = 0;
  bool enabled = false;
};

struct MetadataItem {
  std::string name; // the element's local name
  std::string content; // its raw inner XML
};

struct DataCenterInfo {
  std::string name;
  std::optional<std::vector<MetadataItem>> metadata;
};

struct Instance {
  std::string host_name;
  std::string home_page_url;
  std::string status_page_url;
  std::string health_check_url;
  std::string ip_addr;
  std::string vip_address;
  std::string secure_vip_address;
  std::string status;
  std::string instance_id;
  int64_t country_id = 0;
  std::optional<Port> port;
  std::optional<Port> secure_port;
  std::optional<DataCenterInfo> data_center_info;
  std::optional<std::vector<MetadataItem>> metadata;
};

struct Application {
  std::string name;
  std::vector<Instance> instances;
};

// encoding/xml's number and boolean fields: empty text is the zero value,
// anything else is trimmed and must parse.
Result<int64_t> int_from(const std::string& text) {
  if (text.empty()) {
    return 0;
  }
  return go_parse_int(util::trim_space(text), 64);
}

Result<bool> bool_from(const std::string& text) {
  if (text.empty()) {
    return false;
  }
  return go_parse_bool(util::trim_space(text));
}

// A repeated element fills the same struct again (Go reuses the pointer):
// the attribute only when present, the number always.
Result<void> decode_port(const util::xml::Element& e, std::optional<Port>& port) {
  if (!port) {
    port.emplace();
  }
  if (const std::string* enabled = e.attribute("enabled")) {
    Result<bool> value = bool_from(*enabled);
    if (!value) {
      return fail(value.error());
    }
    port->enabled = *value;
  }
  Result<int64_t> number = int_from(e.text);
  if (!number) {
    return fail(number.error());
  }
  port->port = *number;
  return {};
}

void decode_metadata(const util::xml::Element& e, std::optional<std::vector<MetadataItem>>& metadata) {
  if (!metadata) {
    metadata.emplace();
  }
  for (const util::xml::Element& item : e.children) {
    metadata->push_back({std::string(item.local_name()), item.inner_xml});
  }
}

Result<Instance> decode_instance(const util::xml::Element& e) {
  Instance instance;
  for (const util::xml::Element& field : e.children) {
    std::string_view name = field.local_name();
    if (name == "hostName") {
      instance.host_name = field.text;
    } else if (name == "homePageUrl") {
      instance.home_page_url = field.text;
    } else if (name == "statusPageUrl") {
      instance.status_page_url = field.text;
    } else if (name == "healthCheckUrl") {
      instance.health_check_url = field.text;
    } else if (name == "ipAddr") {
      instance.ip_addr = field.text;
    } else if (name == "vipAddress") {
      instance.vip_address = field.text;
    } else if (name == "secureVipAddress") {
      instance.secure_vip_address = field.text;
    } else if (name == "status") {
      instance.status = field.text;
    } else if (name == "instanceId") {
      instance.instance_id = field.text;
    } else if (name == "countryId") {
      Result<int64_t> id = int_from(field.text);
      if (!id) {
        return fail(id.error());
      }
      instance.country_id = *id;
    } else if (name == "isCoordinatingDiscoveryServer") {
      if (Result<bool> flag = bool_from(field.text); !flag) { // unused, but Go fails on it
        return fail(flag.error());
      }
    } else if (name == "port" || name == "securePort") {
      if (Result<void> ok = decode_port(field, name == "port" ? instance.port : instance.secure_port); !ok) {
        return fail(ok.error());
      }
    } else if (name == "dataCenterInfo") {
      if (!instance.data_center_info) {
        instance.data_center_info.emplace();
      }
      for (const util::xml::Element& info : field.children) {
        if (info.local_name() == "name") {
          instance.data_center_info->name = info.text;
        } else if (info.local_name() == "metadata") {
          decode_metadata(info, instance.data_center_info->metadata);
        }
      }
    } else if (name == "metadata") {
      decode_metadata(field, instance.metadata);
    }
  }
  return instance;
}

Result<std::vector<Application>> decode_applications(std::string_view body) {
  if (util::trim_space(body).empty()) {
    return fail("EOF"); // what Go's decoder says when there is no element
  }
  Result<util::xml::Element> root = util::xml::parse(body);
  if (!root) {
    return fail(root.error());
  }
  std::vector<Application> applications;
  for (const util::xml::Element& child : root->children) {
    if (child.local_name() == "versions__delta") {
      if (Result<int64_t> delta = int_from(child.text); !delta) { // unused, but Go fails on it
        return fail(delta.error());
      }
      continue;
    }
    if (child.local_name() != "application") {
      continue;
    }
    Application& app = applications.emplace_back();
    for (const util::xml::Element& field : child.children) {
      if (field.local_name() == "name") {
        app.name = field.text;
      } else if (field.local_name() == "instance") {
        Result<Instance> instance = decode_instance(field);
        if (!instance) {
          return fail(instance.error());
        }
        app.instances.push_back(std::move(*instance));
      }
    }
  }
  return applications;
}

void add_metadata(model::Labels& target, std::string_view prefix, const std::vector<MetadataItem>& items) {
  for (const MetadataItem& item : items) {
    target.set(std::string(prefix) + util::sanitize_label_name(item.name), item.content);
  }
}

model::Labels target_for_instance(const Application& app, const Instance& instance) {
  model::Labels target;
  std::string port = instance.port ? std::to_string(instance.port->port) : "80";
  target.set("__address__", util::join_host_port(instance.host_name, port));
  target.set("instance", instance.instance_id);
  target.set(k_app_name_label, app.name);
  target.set(k_hostname_label, instance.host_name);
  target.set(k_homepage_url_label, instance.home_page_url);
  target.set(k_statuspage_url_label, instance.status_page_url);
  target.set(k_healthcheck_url_label, instance.health_check_url);
  target.set(k_ip_addr_label, instance.ip_addr);
  target.set(k_vip_address_label, instance.vip_address);
  target.set(k_secure_vip_address_label, instance.secure_vip_address);
  target.set(k_status_label, instance.status);
  target.set(k_country_id_label, std::to_string(instance.country_id));
  target.set(k_id_label, instance.instance_id);
  if (instance.port) {
    target.set(k_port_label, std::to_string(instance.port->port));
    target.set(k_port_enabled_label, instance.port->enabled ? "true" : "false");
  }
  if (instance.secure_port) {
    target.set(k_secure_port_label, std::to_string(instance.secure_port->port));
    target.set(k_secure_port_enabled_label, instance.secure_port->enabled ? "true" : "false");
  }
  if (instance.data_center_info) {
    target.set(k_datacenterinfo_name_label, instance.data_center_info->name);
    if (instance.data_center_info->metadata) {
      add_metadata(target, k_datacenterinfo_metadata_prefix, *instance.data_center_info->metadata);
    }
  }
  if (instance.metadata) {
    add_metadata(target, k_metadata_prefix, *instance.metadata);
  }
  return target;
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (server.empty()) {
    c.error("eureka_sd: empty or null eureka server");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(server, parsed); !message.empty()) {
    c.error_at("server", message);
    return;
  }
  if (parsed.scheme.empty() || parsed.host.empty()) {
    c.error_at("server", "eureka_sd: invalid eureka server URL");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<model::TargetGroup>> groups_from_apps(std::string_view body) {
  Result<std::vector<Application>> applications = decode_applications(body);
  if (!applications) {
    return fail(applications.error());
  }
  model::TargetGroup group;
  group.source = std::string(k_source);
  for (const Application& app : *applications) {
    for (const Instance& instance : app.instances) {
      group.targets.push_back(target_for_instance(app, instance));
    }
  }
  std::vector<model::TargetGroup> groups;
  groups.push_back(std::move(group));
  return groups;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_url(config.server + std::string(k_apps_path)), m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)),
      m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<net::HttpResponse> response =
      m_client->get(m_url, {{"User-Agent", std::string(k_user_agent)}}, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(fmt::format("non 2xx status '{}' response during eureka service discovery", response->status));
  }
  Result<std::vector<model::TargetGroup>> groups = groups_from_apps(response->body);
  if (!groups) {
    return fail(fmt::format("{}: {}", util::go_quote(m_url), groups.error()));
  }
  return groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::eureka
