// linode_sd: Linode instances from the Linode API v4, as Prometheus v2.45
// discovery/linode/linode.go lists them through linodego v1.17: exactly
// v2.45's requests and labels (not the gpus label of 2.49 nor the IPv6
// ranges of 2.52), plus the 2.52 `region` filter when configured.
// spec/sd-cloud.md §7.
//
// A full refresh lists every page of GET linode/instances and
// networking/ips, each with page_size=500 (the first request without `page`, pages 2..N with
// page=<k>, N from the first answer's `pages`), and with `region` set an
// X-Filter {"region": "<region>"} header. After the first success a
// refresh first asks GET account/events?page=1&page_size=25 with X-Filter
// {"created": {"+gte": "<previous refresh, UTC>"}}: no events (and fewer
// than 10 such polls in a row) reuses the last groups; a 401 there turns
// event polling off for good (the token lacks events:read_only).
//
// The token is the HTTP client block's only. Requests carry linodego's
// headers (Accept and Content-Type application/json, User-Agent
// "Prometheus/2.45.0") and the refresh interval as timeout, as v2.45 sets
// it. Errors are worded as linodego's Error, "[<code>] <message>": the
// API's {"errors":[{"reason":...}]} for a 4xx/5xx, "[002] <error>" for
// transport and decoding failures. linodego (resty) decodes only bodies
// whose Content-Type is JSON, and treats an error answer without `errors`
// as an empty success; both are kept. It also retries 408, 429 and 503
// after Retry-After (default 3s) for up to 30s; here the retries stop once
// their waits would pass the request timeout. API reference:
// https://techdocs.akamai.com/linode-api/reference/get-linode-instances
#include "discovery/linode.h"

#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "discovery/go_ip.h"
#include "discovery/go_json.h"
#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::linode {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_default_host = "api.linode.com";
constexpr std::string_view k_default_version = "v4";
constexpr std::string_view k_source = "Linode";
constexpr int k_list_page_size = 500;
constexpr int k_events_page_size = 25;
constexpr int k_full_refresh_every = 10; // polls without events before a full refresh anyway
constexpr int k_error_from_error = 2;    // linodego's code for errors that are not API answers

constexpr std::string_view k_instance_id_label = "__meta_linode_instance_id";
constexpr std::string_view k_instance_label_label = "__meta_linode_instance_label";
constexpr std::string_view k_image_label = "__meta_linode_image";
constexpr std::string_view k_private_ipv4_label = "__meta_linode_private_ipv4";
constexpr std::string_view k_public_ipv4_label = "__meta_linode_public_ipv4";
constexpr std::string_view k_public_ipv6_label = "__meta_linode_public_ipv6";
constexpr std::string_view k_private_ipv4_rdns_label = "__meta_linode_private_ipv4_rdns";
constexpr std::string_view k_public_ipv4_rdns_label = "__meta_linode_public_ipv4_rdns";
constexpr std::string_view k_public_ipv6_rdns_label = "__meta_linode_public_ipv6_rdns";
constexpr std::string_view k_region_label = "__meta_linode_region";
constexpr std::string_view k_type_label = "__meta_linode_type";
constexpr std::string_view k_status_label = "__meta_linode_status";
constexpr std::string_view k_tags_label = "__meta_linode_tags";
constexpr std::string_view k_group_label = "__meta_linode_group";
constexpr std::string_view k_hypervisor_label = "__meta_linode_hypervisor";
constexpr std::string_view k_backups_label = "__meta_linode_backups";
constexpr std::string_view k_specs_disk_label = "__meta_linode_specs_disk_bytes";
constexpr std::string_view k_specs_memory_label = "__meta_linode_specs_memory_bytes";
constexpr std::string_view k_specs_vcpus_label = "__meta_linode_specs_vcpus";
constexpr std::string_view k_specs_transfer_label = "__meta_linode_specs_transfer_bytes";
constexpr std::string_view k_extra_ips_label = "__meta_linode_extra_ips";

struct Instance {
  int64_t id = 0;
  std::string label, image, region, type, status, group, hypervisor, ipv6;
  std::vector<std::string> ipv4; // canonical, as net.IP prints them
  std::vector<std::string> tags;
  bool backups = false;
  int64_t disk = 0, memory = 0, vcpus = 0, transfer = 0, gpus = 0; // gpus: decoded, no label in v2.45
};
struct IpAddress {
  std::string address, rdns;
  bool is_public = false;
};

// Go's decoding into linodego's structs.
class LinodeDecoder {
public:
  GoDecoder d;

  void boolean(const Json& v, bool& out, std::string_view where) {
    if (v.is_boolean()) {
      out = v.get<bool>();
    } else if (!v.is_null()) {
      d.mismatch(json_kind(v), where, "bool");
    }
  }
  template <class Fn> void object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), where, "linodego." + std::string(type));
      return;
    }
    d.fields(v, fn);
  }
  // The `data` list of one page: fn(key, value, element) per member.
  template <class T, class Fn>
  void page(std::string_view body, std::string_view type, std::vector<T>& out, Fn fn) {
    if (body.empty()) { // not decoded (no JSON content type): an empty page
      return;
    }
    Result<Json> json = parse_json(body, k_unmarshal_eof);
    if (!json) {
      d.error = json.error();
      return;
    }
    if (!json->is_object()) {
      if (!json->is_null()) {
        d.mismatch(json_kind(*json), "", "linodego." + std::string(type) + "sPagedResponse");
      }
      return;
    }
    d.fields(*json, [&](const std::string& key, const Json& data) {
      if (!equal_fold(key, "data") || data.is_null()) {
        return;
      }
      std::string where = std::string(type) + "sPagedResponse.data";
      if (!data.is_array()) {
        d.mismatch(json_kind(data), where, "[]linodego." + std::string(type));
        return;
      }
      for (const Json& item : data) {
        T& element = out.emplace_back();
        object(item, where, type, [&](const std::string& k, const Json& x) { fn(k, x, element); });
      }
    });
  }

  void instance(const std::string& key, const Json& v, Instance& out) {
    const std::string w = "Instance.";
    if (equal_fold(key, "id")) {
      d.integer(v, out.id, w + "id");
    } else if (equal_fold(key, "label")) {
      d.string(v, out.label, w + "label");
    } else if (equal_fold(key, "image")) {
      d.string(v, out.image, w + "image");
    } else if (equal_fold(key, "region")) {
      d.string(v, out.region, w + "region");
    } else if (equal_fold(key, "type")) {
      d.string(v, out.type, w + "type");
    } else if (equal_fold(key, "status")) {
      d.string(v, out.status, w + "status");
    } else if (equal_fold(key, "group")) {
      d.string(v, out.group, w + "group");
    } else if (equal_fold(key, "hypervisor")) {
      d.string(v, out.hypervisor, w + "hypervisor");
    } else if (equal_fold(key, "ipv6")) {
      d.string(v, out.ipv6, w + "ipv6");
    } else if (equal_fold(key, "tags")) {
      d.string_list(v, out.tags, w + "tags");
    } else if (equal_fold(key, "ipv4")) {
      std::vector<std::string> texts;
      d.string_list(v, texts, w + "ipv4");
      out.ipv4.clear();
      for (const std::string& text : texts) {
        std::string ip = go_ip_string(text); // net.IP's UnmarshalText
        if (ip == "<nil>" && d.error.empty()) {
          d.error = "invalid IP address: " + text;
        }
        out.ipv4.push_back(ip);
      }
    } else if (equal_fold(key, "backups")) {
      object(v, w + "backups", "InstanceBackup", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "enabled")) {
          boolean(x, out.backups, "InstanceBackup.backups.enabled");
        }
      });
    } else if (equal_fold(key, "specs")) {
      object(v, w + "specs", "InstanceSpec", [&](const std::string& k, const Json& x) {
        const std::pair<std::string_view, int64_t*> specs[] = {
            {"disk", &out.disk}, {"memory", &out.memory}, {"vcpus", &out.vcpus}, {"transfer", &out.transfer},
            {"gpus", &out.gpus}};
        for (const auto& [name, field] : specs) {
          if (equal_fold(k, name)) {
            d.integer(x, *field, "InstanceSpec.specs." + std::string(name));
          }
        }
      });
    }
  }
};

// linodego's list of addresses: rDNS values of "null" count as none.
std::string rdns_of(const IpAddress& ip) { return ip.rdns == "null" ? "" : ip.rdns; }

std::string wrapped_list(const std::vector<std::string>& items, std::string_view separator) {
  return std::string(separator) + fmt::format("{}", fmt::join(items, separator)) + std::string(separator);
}

model::Labels instance_labels(const Instance& instance, const std::vector<IpAddress>& ips, int port,
                              std::string_view separator) {
  std::string private_ipv4, public_ipv4, public_ipv6, private_rdns, public_rdns, public_ipv6_rdns;
  std::vector<std::string> extra_ips;
  for (const std::string& address : instance.ipv4) {
    for (const IpAddress& ip : ips) {
      if (ip.address != address) {
        continue;
      }
      if (ip.is_public && public_ipv4.empty()) {
        public_ipv4 = ip.address;
        public_rdns = rdns_of(ip);
      } else if (!ip.is_public && private_ipv4.empty()) {
        private_ipv4 = ip.address;
        private_rdns = rdns_of(ip);
      } else {
        extra_ips.push_back(ip.address);
      }
    }
  }
  if (!instance.ipv6.empty()) {
    std::string slaac = instance.ipv6.substr(0, instance.ipv6.find('/'));
    for (const IpAddress& ip : ips) {
      if (ip.address == slaac) {
        public_ipv6 = ip.address;
        public_ipv6_rdns = rdns_of(ip);
      }
    }
  }

  model::Labels labels;
  labels.set("__address__", util::join_host_port(public_ipv4, std::to_string(port)));
  labels.set(k_instance_id_label, std::to_string(instance.id));
  labels.set(k_instance_label_label, instance.label);
  labels.set(k_image_label, instance.image);
  labels.set(k_private_ipv4_label, private_ipv4);
  labels.set(k_public_ipv4_label, public_ipv4);
  labels.set(k_public_ipv6_label, public_ipv6);
  labels.set(k_private_ipv4_rdns_label, private_rdns);
  labels.set(k_public_ipv4_rdns_label, public_rdns);
  labels.set(k_public_ipv6_rdns_label, public_ipv6_rdns);
  labels.set(k_region_label, instance.region);
  labels.set(k_type_label, instance.type);
  labels.set(k_status_label, instance.status);
  labels.set(k_group_label, instance.group);
  labels.set(k_hypervisor_label, instance.hypervisor);
  labels.set(k_backups_label, instance.backups ? "enabled" : "disabled");
  // MB values; Go shifts int64(v) << 20.
  labels.set(k_specs_disk_label, std::to_string(static_cast<int64_t>(static_cast<uint64_t>(instance.disk) << 20)));
  labels.set(k_specs_memory_label, std::to_string(static_cast<int64_t>(static_cast<uint64_t>(instance.memory) << 20)));
  labels.set(k_specs_vcpus_label, std::to_string(instance.vcpus));
  labels.set(k_specs_transfer_label,
             std::to_string(static_cast<int64_t>(static_cast<uint64_t>(instance.transfer) << 20)));
  if (!instance.tags.empty()) {
    labels.set(k_tags_label, wrapped_list(instance.tags, separator));
  }
  if (!extra_ips.empty()) {
    labels.set(k_extra_ips_label, wrapped_list(extra_ips, separator));
  }
  return labels;
}

// A linodego Error, "[<code>] <message>" (the code zero-padded to 3).
struct ApiError {
  long code = 0;
  std::string message;
  std::string text() const { return fmt::format("[{:03}] {}", code, message); }
};

// resty's IsJSONType: (application|text)/(json|*+json|json-*) followed by
// ';' or the end, case-insensitively.
bool is_json_type(std::string_view content_type) {
  std::string type = util::to_lower_ascii(content_type);
  for (std::string_view family : {"application/", "text/"}) {
    for (size_t at = type.find(family); at != std::string::npos; at = type.find(family, at + 1)) {
      std::string_view subtype = std::string_view(type).substr(at + family.size());
      subtype = subtype.substr(0, subtype.find(';'));
      if (subtype == "json" || subtype.ends_with("+json") || subtype.starts_with("json-")) {
        return true;
      }
    }
  }
  return false;
}

// What linodego makes of an answer: an error, or the body it decoded ("" when
// it decoded none).
Result<std::string> interpret(net::HttpResponse& response, ApiError& error) {
  std::string content_type = response.header("Content-Type");
  if (response.status > 399) {
    if (response.status == 502 && content_type == "text/html") {
      error = {502, "Bad Gateway"};
      return fail(error.text());
    }
    if (content_type != "application/json") {
      error = {response.status, fmt::format("Unexpected Content-Type: Expected: application/json, Received: "
                                            "{}\nResponse body: {}",
                                            content_type, response.body)};
      return fail(error.text());
    }
    Result<Json> json = parse_json(response.body, k_unmarshal_eof);
    if (!json) {
      error = {k_error_from_error, json.error()};
      return fail(error.text());
    }
    std::vector<std::string> reasons;
    if (json->is_object() && json->contains("errors") && (*json)["errors"].is_array()) {
      for (const Json& e : (*json)["errors"]) {
        if (!e.is_object()) {
          continue;
        }
        std::string reason = e.value("reason", Json("")).is_string() ? e.value("reason", "") : "";
        std::string field = e.value("field", Json("")).is_string() ? e.value("field", "") : "";
        reasons.push_back(field.empty() ? reason : fmt::format("[{}] {}", field, reason));
      }
    }
    if (reasons.empty()) {
      return std::string(); // linodego lets an error answer without errors through, undecoded
    }
    error = {response.status, fmt::format("{}", fmt::join(reasons, "; "))};
    return fail(error.text());
  }
  if (response.status < 200 || response.status > 299 || !is_json_type(content_type)) {
    return std::string();
  }
  return std::move(response.body);
}

// The `pages` count of a page body (0 when absent or undecodable; the
// decoding error is the mapping's to report).
int64_t page_count(std::string_view body) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json || !json->is_object() || !json->contains("pages") || !(*json)["pages"].is_number_integer()) {
    return 0;
  }
  return (*json)["pages"].get<int64_t>();
}

std::string utc_timestamp(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return text;
}

const char* env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

} // namespace

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

std::string api_base_url(std::string_view url, std::string_view api_version) {
  std::string scheme = "https";
  std::string host_and_path(k_default_host);
  if (!url.empty()) {
    // linodego: path.Join(u.Host, u.Path) after url.Parse, scheme kept.
    std::string_view rest = url;
    size_t colon = rest.find("://");
    scheme = colon == std::string_view::npos ? "" : std::string(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? rest : rest.substr(colon + 3);
    rest = rest.substr(0, rest.find_first_of("?#"));
    host_and_path = util::clean_path(rest);
  }
  std::string version = api_version.empty() ? std::string(k_default_version) : util::path_escape(api_version);
  return fmt::format("{}://{}/{}", scheme, host_and_path, version);
}

Result<model::TargetGroup> linode_group(const Pages& pages, int port, std::string_view tag_separator) {
  LinodeDecoder decoder;
  std::vector<Instance> instances;
  for (const std::string& body : pages.instances) {
    decoder.page(body, "Instance", instances,
                 [&](const std::string& k, const Json& x, Instance& i) { decoder.instance(k, x, i); });
  }
  std::vector<IpAddress> ips;
  for (const std::string& body : pages.ips) {
    decoder.page(body, "InstanceIP", ips, [&](const std::string& k, const Json& x, IpAddress& ip) {
      if (equal_fold(k, "address")) {
        decoder.d.string(x, ip.address, "InstanceIP.address");
      } else if (equal_fold(k, "rdns")) {
        decoder.d.string(x, ip.rdns, "InstanceIP.rdns");
      } else if (equal_fold(k, "public")) {
        decoder.boolean(x, ip.is_public, "InstanceIP.public");
      }
    });
  }
  if (!decoder.d.error.empty()) {
    return fail(decoder.d.error);
  }
  model::TargetGroup group;
  group.source = std::string(k_source);
  for (const Instance& instance : instances) {
    if (!instance.ipv4.empty()) {
      group.targets.push_back(instance_labels(instance, ips, port, tag_separator));
    }
  }
  return group;
}

Discovery::Discovery(const Config& config, std::string base_url, std::unique_ptr<net::HttpClient> client,
                     Clock clock)
    : m_base_url(std::move(base_url)), m_port(config.port), m_tag_separator(config.tag_separator),
      m_region(config.region), m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)),
      m_client(std::move(client)), m_clock(std::move(clock)), m_last_refresh(m_clock()) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, std::string base_url, Clock clock) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(
      new Discovery(config, std::move(base_url), std::move(*client), std::move(clock)));
}

Result<std::vector<std::string>> Discovery::list(std::string_view resource, int page_size, const std::string& filter,
                                                 int single_page, const std::stop_token& stop) {
  net::HttpHeaders headers = {{"Accept", "application/json"},
                              {"Content-Type", "application/json"},
                              {"User-Agent", std::string(k_user_agent)}};
  if (!filter.empty()) {
    headers.emplace_back("X-Filter", filter);
  }
  std::vector<std::string> pages;
  int64_t last_page = 1;
  for (int64_t page = single_page; page == single_page || page <= last_page; ++page) {
    std::string url = fmt::format("{}/{}?{}page_size={}", m_base_url, resource,
                                  page == 0 ? "" : fmt::format("page={}&", page), page_size);
    std::chrono::milliseconds waited{0};
    Result<std::string> body = fail("");
    while (true) {
      Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, stop);
      if (!response) {
        return fail(ApiError{k_error_from_error, response.error()}.text());
      }
      if (response->status == 408 || response->status == 429 || response->status == 503) {
        long retry_after = std::atol(response->header("Retry-After").c_str());
        std::chrono::milliseconds wait = std::chrono::seconds(retry_after > 0 ? retry_after : 3);
        if (waited + wait <= m_timeout) {
          if (!sleep_for(stop, wait)) {
            return fail(ApiError{k_error_from_error, fmt::format("Get {}: context canceled", util::go_quote(url))}.text());
          }
          waited += wait;
          continue;
        }
      }
      ApiError error;
      body = interpret(*response, error);
      break;
    }
    if (!body) {
      return fail(body.error());
    }
    if (single_page == 0 && page == 0) {
      last_page = page_count(*body);
      page = 1; // the next one asked is page 2
    }
    pages.push_back(std::move(*body));
    if (single_page != 0) {
      break;
    }
  }
  return pages;
}

Result<std::vector<model::TargetGroup>> Discovery::full_refresh(const std::stop_token& stop) {
  std::string filter = m_region.empty() ? "" : fmt::format(R"({{"region": "{}"}})", m_region);
  Pages pages;
  Result<std::vector<std::string>> instances = list("linode/instances", k_list_page_size, filter, 0, stop);
  if (!instances) {
    return fail(instances.error());
  }
  pages.instances = std::move(*instances);
  Result<std::vector<std::string>> ips = list("networking/ips", k_list_page_size, filter, 0, stop);
  if (!ips) {
    return fail(ips.error());
  }
  pages.ips = std::move(*ips);
  Result<model::TargetGroup> group = linode_group(pages, m_port, m_tag_separator);
  if (!group) {
    return fail(ApiError{k_error_from_error, group.error()}.text()); // resty's decoding error
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  bool needs_refresh = true;
  std::chrono::system_clock::time_point now = m_clock();
  if (m_last_groups && m_event_polling) {
    std::string filter = fmt::format(R"({{"created": {{"+gte": "{}"}}}})", utc_timestamp(m_last_refresh));
    Result<std::vector<std::string>> events = list("account/events", k_events_page_size, filter, 1, stop);
    if (!events) {
      if (!util::starts_with(events.error(), "[401] ")) {
        return fail(events.error());
      }
      m_event_polling = false; // the token lacks the events:read_only scope
    } else {
      ++m_poll_count;
      LinodeDecoder decoder;
      std::vector<int> items;
      decoder.page(events->front(), "Event", items, [](const std::string&, const Json&, int&) {});
      if (!decoder.d.error.empty()) {
        return fail(ApiError{k_error_from_error, decoder.d.error}.text());
      }
      needs_refresh = !items.empty() || m_poll_count >= k_full_refresh_every;
    }
  }
  if (needs_refresh) {
    Result<std::vector<model::TargetGroup>> groups = full_refresh(stop);
    if (!groups) {
      return fail(groups.error());
    }
    m_poll_count = 0;
    m_last_groups = std::move(*groups);
  }
  m_last_refresh = now;
  return *m_last_groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  // linodego reads its environment when the client is made.
  auto it = options.endpoints.find(std::string(k_endpoint_key));
  std::string url = it != options.endpoints.end() ? it->second : env_or_empty("LINODE_URL");
  Result<std::unique_ptr<Discovery>> made =
      Discovery::make(*this, api_base_url(url, env_or_empty("LINODE_API_VERSION")));
  if (!made) {
    return fail(made.error());
  }
  std::shared_ptr<Discovery> shared = std::move(*made);
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      refresh_interval.ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
}

} // namespace sdscope::discovery::linode
