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
#include "discovery/consul.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "util/strings.h"

namespace sdscope::discovery::consul {

namespace {

constexpr std::string_view k_address_label = "__meta_consul_address";
constexpr std::string_view k_datacenter_label = "__meta_consul_dc";
constexpr std::string_view k_health_label = "__meta_consul_health";
constexpr std::string_view k_metadata_prefix = "__meta_consul_metadata_";
constexpr std::string_view k_namespace_label = "__meta_consul_namespace";
constexpr std::string_view k_node_label = "__meta_consul_node";
constexpr std::string_view k_partition_label = "__meta_consul_partition";
constexpr std::string_view k_service_label = "__meta_consul_service";
constexpr std::string_view k_service_address_label = "__meta_consul_service_address";
constexpr std::string_view k_service_id_label = "__meta_consul_service_id";
constexpr std::string_view k_service_metadata_prefix = "__meta_consul_service_metadata_";
constexpr std::string_view k_service_port_label = "__meta_consul_service_port";
constexpr std::string_view k_tagged_address_prefix = "__meta_consul_tagged_address_";
constexpr std::string_view k_tags_label = "__meta_consul_tags";

constexpr std::string_view k_wait = "120000ms";                 // watchTimeout, 2 min
constexpr std::chrono::milliseconds k_request_timeout{135000}; // watchTimeout + 15 s

using Json = nlohmann::ordered_json;

// ---- JSON as Go's encoding/json decodes it into consul's API structs ----

bool equal_fold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string json_kind(const Json& v) {
  if (v.is_string()) {
    return "string";
  }
  if (v.is_boolean()) {
    return "bool";
  }
  if (v.is_array()) {
    return "array";
  }
  if (v.is_object()) {
    return "object";
  }
  return "number";
}

// Records the first type mismatch the way Go words it; decoding goes on.
class GoDecoder {
public:
  std::string error;

  // A struct field: later keys win, names match case-insensitively.
  template <class Fn> void fields(const Json& object, Fn fn) {
    for (const auto& [key, value] : object.items()) {
      fn(key, value);
    }
  }
  void string(const Json& v, std::string& out, std::string_view where) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_string()) {
      mismatch(json_kind(v), where, "string");
      return;
    }
    out = v.get<std::string>();
  }
  void integer(const Json& v, int64_t& out, std::string_view where) {
    if (v.is_null()) {
      return;
    }
    if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) {
      out = v.get<int64_t>();
      return;
    }
    mismatch(v.is_number() ? "number " + v.dump() : json_kind(v), where, "int");
  }
  void string_map(const Json& v, std::map<std::string, std::string>& out, std::string_view where) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_object()) {
      mismatch(json_kind(v), where, "map[string]string");
      return;
    }
    for (const auto& [key, value] : v.items()) {
      string(value, out[key], where);
    }
  }
  void string_list(const Json& v, std::vector<std::string>& out, std::string_view where) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_array()) {
      mismatch(json_kind(v), where, "[]string");
      return;
    }
    for (const Json& item : v) {
      string(item, out.emplace_back(), where);
    }
  }
  // `where` is "Struct.Field.Path" inside a struct, "" for a bare value.
  void mismatch(const std::string& kind, std::string_view where, std::string_view type) {
    if (!error.empty()) {
      return;
    }
    if (where.empty()) {
      error = fmt::format("json: cannot unmarshal {} into Go value of type {}", kind, type);
    } else {
      error = fmt::format("json: cannot unmarshal {} into Go struct field {} of type {}", kind, where, type);
    }
  }
};

Result<Json> parse_json(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail("EOF");
  }
  Json json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    return fail("invalid JSON in response body");
  }
  return json;
}

struct Node {
  std::string name;
  std::string address;
  std::map<std::string, std::string> tagged_addresses;
  std::map<std::string, std::string> meta;
};

struct Service {
  std::string id;
  std::string address;
  int64_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  std::string namespace_;
  std::string partition;
};

struct Entry {
  Node node;
  Service service;
  std::vector<std::pair<std::string, std::string>> checks; // CheckID, Status
};

void decode_node(GoDecoder& d, const Json& v, Node& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_object()) {
    d.mismatch(json_kind(v), "ServiceEntry.Node", "api.Node");
    return;
  }
  d.fields(v, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "Node")) {
      d.string(value, out.name, "Node.Node.Node");
    } else if (equal_fold(key, "Address")) {
      d.string(value, out.address, "Node.Node.Address");
    } else if (equal_fold(key, "TaggedAddresses")) {
      d.string_map(value, out.tagged_addresses, "Node.Node.TaggedAddresses");
    } else if (equal_fold(key, "Meta")) {
      d.string_map(value, out.meta, "Node.Node.Meta");
    }
  });
}

void decode_service(GoDecoder& d, const Json& v, Service& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_object()) {
    d.mismatch(json_kind(v), "ServiceEntry.Service", "api.AgentService");
    return;
  }
  d.fields(v, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "ID")) {
      d.string(value, out.id, "AgentService.Service.ID");
    } else if (equal_fold(key, "Address")) {
      d.string(value, out.address, "AgentService.Service.Address");
    } else if (equal_fold(key, "Port")) {
      d.integer(value, out.port, "AgentService.Service.Port");
    } else if (equal_fold(key, "Tags")) {
      d.string_list(value, out.tags, "AgentService.Service.Tags");
    } else if (equal_fold(key, "Meta")) {
      d.string_map(value, out.meta, "AgentService.Service.Meta");
    } else if (equal_fold(key, "Namespace")) {
      d.string(value, out.namespace_, "AgentService.Service.Namespace");
    } else if (equal_fold(key, "Partition")) {
      d.string(value, out.partition, "AgentService.Service.Partition");
    }
  });
}

void decode_checks(GoDecoder& d, const Json& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    d.mismatch(json_kind(v), "ServiceEntry.Checks", "api.HealthChecks");
    return;
  }
  for (const Json& check : v) {
    auto& [id, status] = out.emplace_back();
    if (check.is_null()) {
      continue; // a nil *HealthCheck; Go would crash on it later
    }
    if (!check.is_object()) {
      d.mismatch(json_kind(check), "ServiceEntry.Checks", "api.HealthCheck");
      continue;
    }
    d.fields(check, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "CheckID")) {
        d.string(value, id, "HealthCheck.Checks.CheckID");
      } else if (equal_fold(key, "Status")) {
        d.string(value, status, "HealthCheck.Checks.Status");
      }
    });
  }
}

Result<std::vector<Entry>> parse_entries(std::string_view body) {
  Result<Json> json = parse_json(body);
  if (!json) {
    return fail(json.error());
  }
  std::vector<Entry> entries;
  if (json->is_null()) {
    return entries;
  }
  GoDecoder d;
  if (!json->is_array()) {
    d.mismatch(json_kind(*json), "", "[]*api.ServiceEntry");
    return fail(d.error);
  }
  for (const Json& item : *json) {
    if (item.is_null()) {
      continue; // Go keeps a nil entry and would crash on it; skip it
    }
    if (!item.is_object()) {
      d.mismatch(json_kind(item), "", "api.ServiceEntry");
      continue;
    }
    Entry& entry = entries.emplace_back();
    d.fields(item, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "Node")) {
        decode_node(d, value, entry.node);
      } else if (equal_fold(key, "Service")) {
        decode_service(d, value, entry.service);
      } else if (equal_fold(key, "Checks")) {
        decode_checks(d, value, entry.checks);
      }
    });
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return entries;
}

// Go's fmt %v of a decoded interface{} value (for the datacenter error).
std::string go_value(const Json& v) {
  if (v.is_null()) {
    return "<nil>";
  }
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      out += (i == 0 ? "" : " ") + go_value(v[i]);
    }
    return out + "]";
  }
  if (v.is_object()) {
    std::map<std::string, std::string> sorted; // %v prints maps sorted by key
    for (const auto& [key, value] : v.items()) {
      sorted[key] = go_value(value);
    }
    std::string out = "map[";
    bool first = true;
    for (const auto& [key, value] : sorted) {
      out += (first ? "" : " ") + key + ":" + value;
      first = false;
    }
    return out + "]";
  }
  return v.dump();
}

// ---- label helpers ----

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
      return 0;
    }
  }
  auto b1 = static_cast<unsigned char>(s[i + 1]);
  if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 > 0x8F)) {
    return 0; // overlong, surrogate or beyond U+10FFFF
  }
  return n;
}

// strutil.SanitizeLabelName: one '_' per code point (or invalid byte)
// outside [a-zA-Z0-9_].
std::string sanitize_label_name(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
      ++i;
      continue;
    }
    out += '_';
    size_t n = static_cast<unsigned char>(c) < 0x80 ? 1 : utf8_length(s, i);
    i += n == 0 ? 1 : n;
  }
  return out;
}

// net.JoinHostPort.
std::string join_host_port(std::string_view host, int64_t port) {
  if (host.find(':') != std::string_view::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

// ---- URLs as Go's net/url encodes them ----

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

// url.URL.EscapedPath for a path without RawPath.
std::string escape_path(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (is_unreserved(c) || std::string_view("$&+,/:;=@").find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// url.QueryEscape.
std::string escape_query(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (is_unreserved(c)) {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

// url.Values.Encode: keys sorted, values of one key in the order added.
std::string encode_query(Params params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, value] : params) {
    out += (out.empty() ? "" : "&") + escape_query(key) + "=" + escape_query(value);
  }
  return out;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// The consul API client settings that NewClient derives from the config.
struct Endpoint {
  std::string scheme;
  std::string address;
  std::string path_prefix;
  std::string datacenter; // configured only
  std::string namespace_;
  std::string partition;
  std::string token;
};

Result<Endpoint> endpoint_of(const Config& config) {
  Endpoint e;
  e.scheme = config.scheme.empty() ? "http" : config.scheme;
  e.address = config.server.empty() ? "127.0.0.1:8500" : config.server;
  e.path_prefix = config.path_prefix;
  e.datacenter = config.datacenter;
  e.namespace_ = config.namespace_.empty() ? env("CONSUL_NAMESPACE") : config.namespace_;
  e.partition = config.partition.empty() ? env("CONSUL_PARTITION") : config.partition;
  e.token = config.token.empty() ? env("CONSUL_HTTP_TOKEN") : config.token.value;
  if (size_t at = e.address.find("://"); at != std::string::npos) {
    std::string scheme = e.address.substr(0, at);
    std::string rest = e.address.substr(at + 3);
    if (scheme == "https") {
      e.scheme = "https";
    } else if (scheme == "unix") {
      return fail("unix socket addresses (" + e.address + ") are not supported by this build");
    } else if (scheme != "http") {
      return fail("Unknown protocol scheme: " + scheme);
    }
    e.address = rest;
    // A path after the host is a reverse proxy prefix.
    if (size_t slash = rest.find('/'); slash != std::string::npos) {
      e.address = rest.substr(0, slash);
      e.path_prefix = rest.substr(slash);
    }
  }
  return e;
}

struct Answer {
  uint64_t index = 0; // X-Consul-Index, 0 when absent or unparseable
  std::string body;
};

// Go's strconv.ParseUint(s, 10, 64); 0 on any error, as the client ignores it.
uint64_t parse_index(std::string_view s) {
  if (s.empty() || s.size() > 20) {
    return 0;
  }
  unsigned long long value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return 0;
    }
    unsigned long long next = value * 10 + static_cast<unsigned long long>(c - '0');
    if (next / 10 != value) {
      return 0;
    }
    value = next;
  }
  return value;
}

// One consul API call: GET <path> with the endpoint's common parameters.
Result<Answer> call(net::HttpClient& client, const Endpoint& e, const std::string& path, Params params,
                    std::stop_token stop) {
  if (!e.datacenter.empty()) {
    params.emplace_back("dc", e.datacenter);
  }
  if (!e.namespace_.empty()) {
    params.emplace_back("ns", e.namespace_);
  }
  if (!e.partition.empty()) {
    params.emplace_back("partition", e.partition);
  }
  std::string url = e.scheme + "://" + e.address + escape_path(e.path_prefix + path);
  if (std::string query = encode_query(std::move(params)); !query.empty()) {
    url += "?" + query;
  }
  net::HttpHeaders headers;
  if (!e.token.empty()) {
    headers.emplace_back("X-Consul-Token", e.token);
  }
  Result<net::HttpResponse> response = client.get(url, headers, k_request_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200) {
    std::string body = response->body;
    size_t b = body.find_first_not_of(" \t\r\n\v\f");
    body = b == std::string::npos ? "" : body.substr(b, body.find_last_not_of(" \t\r\n\v\f") - b + 1);
    return fail(fmt::format("Unexpected response code: {} ({})", response->status, body));
  }
  return Answer{parse_index(response->header("X-Consul-Index")), std::move(response->body)};
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
    net::BasicAuth auth;
    auth.username = username;
    auth.password = password;
    http_client.basic_auth = auth;
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

std::string aggregated_status(const std::vector<std::pair<std::string, std::string>>& checks) {
  bool warning = false;
  bool critical = false;
  bool maintenance = false;
  for (const auto& [id, status] : checks) {
    if (id == "_node_maintenance" || id.starts_with("_service_maintenance:")) {
      maintenance = true;
      continue;
    }
    if (status == "warning") {
      warning = true;
    } else if (status == "critical") {
      critical = true;
    } else if (status != "passing") {
      return "";
    }
  }
  if (maintenance) {
    return "maintenance";
  }
  if (critical) {
    return "critical";
  }
  return warning ? "warning" : "passing";
}

Result<std::map<std::string, std::vector<std::string>>> parse_catalog(std::string_view body) {
  Result<Json> json = parse_json(body);
  if (!json) {
    return fail(json.error());
  }
  std::map<std::string, std::vector<std::string>> services;
  if (json->is_null()) {
    return services;
  }
  GoDecoder d;
  if (!json->is_object()) {
    d.mismatch(json_kind(*json), "", "map[string][]string");
    return fail(d.error);
  }
  for (const auto& [name, tags] : json->items()) {
    std::vector<std::string>& out = services[name];
    out.clear(); // a repeated key replaces the earlier list
    d.string_list(tags, out, "");
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return services;
}

Result<model::TargetGroup> service_group(std::string_view body, const std::string& service,
                                         const std::string& datacenter, const std::string& tag_separator) {
  Result<std::vector<Entry>> entries = parse_entries(body);
  if (!entries) {
    return fail(entries.error());
  }
  model::TargetGroup group;
  group.source = service;
  group.labels.set(k_service_label, service);
  group.labels.set(k_datacenter_label, datacenter);
  group.targets.reserve(entries->size());
  for (const Entry& entry : *entries) {
    const Service& s = entry.service;
    // sep + join(tags, sep) + sep, so ",,", for no tags.
    std::string tags = tag_separator;
    for (size_t i = 0; i < s.tags.size(); ++i) {
      tags += (i == 0 ? "" : tag_separator) + s.tags[i];
    }
    tags += tag_separator;
    model::Labels& target = group.targets.emplace_back();
    target.set("__address__", join_host_port(s.address.empty() ? entry.node.address : s.address, s.port));
    target.set(k_address_label, entry.node.address);
    target.set(k_node_label, entry.node.name);
    target.set(k_namespace_label, s.namespace_);
    target.set(k_partition_label, s.partition);
    target.set(k_tags_label, tags);
    target.set(k_service_address_label, s.address);
    target.set(k_service_port_label, std::to_string(s.port));
    target.set(k_service_id_label, s.id);
    target.set(k_health_label, aggregated_status(entry.checks));
    for (const auto& [key, value] : entry.node.meta) {
      target.set(std::string(k_metadata_prefix) + sanitize_label_name(key), value);
    }
    for (const auto& [key, value] : s.meta) {
      target.set(std::string(k_service_metadata_prefix) + sanitize_label_name(key), value);
    }
    for (const auto& [key, value] : entry.node.tagged_addresses) {
      target.set(std::string(k_tagged_address_prefix) + sanitize_label_name(key), value);
    }
  }
  return group;
}

namespace {

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

  static Result<std::string> datacenter_of(std::string_view body) {
    Result<Json> json = parse_json(body);
    if (!json) {
      return fail(json.error());
    }
    Json value;
    if (!json->is_null()) {
      if (!json->is_object()) {
        return fail("json: cannot unmarshal " + json_kind(*json) +
                    " into Go value of type map[string]map[string]interface {}");
      }
      for (const auto& [section, fields] : json->items()) {
        if (!fields.is_null() && !fields.is_object()) {
          return fail("json: cannot unmarshal " + json_kind(fields) + " into Go value of type map[string]interface {}");
        }
        if (section == "Config") {
          value = fields.is_object() && fields.contains("Datacenter") ? fields["Datacenter"] : Json();
        }
      }
    }
    if (!value.is_string()) {
      return fail("invalid value '" + go_value(value) + "' for Config.Datacenter");
    }
    return value.get<std::string>();
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
    net::BasicAuth auth; // validate() does this for configs from a file
    auth.username = config.username;
    auth.password = config.password;
    http_config.basic_auth = auth;
  }
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http_config);
  if (!client) {
    return fail(client.error());
  }
  Result<Endpoint> endpoint = endpoint_of(config);
  if (!endpoint) {
    return fail(endpoint.error());
  }
  return std::unique_ptr<Discoverer>(
      std::make_unique<Discovery>(config, std::move(http_config), std::move(*endpoint), std::move(*client), timing));
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_discovery(*this, Timing{});
}

} // namespace sdscope::discovery::consul
