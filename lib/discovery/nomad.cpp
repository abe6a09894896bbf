// nomad_sd: services registered in HashiCorp Nomad's service catalogue
// (discovery/nomad/nomad.go in Prometheus v2.45, through the Nomad API
// client github.com/hashicorp/nomad/api of 2023-06; spec/sd-platforms.md
// §10).
//
// Each refresh lists the services, GET /v1/services, whose body is one stub
// per namespace with its services' names, then asks for every service's
// registrations, GET /v1/service/<path-escaped name>. Both requests carry
// the query the API client builds (url.Values, sorted: namespace, region,
// and "stale=" when allow_stale is on), "Accept-Encoding: gzip" (a gzip
// body is decoded) and Go's default User-Agent; only the scheme, host and
// user:password of `server` are used, its path is not. User:password in the
// server URL is sent as basic auth, ahead of the HTTP client config's auth.
// Anything but 200 fails the request as the client words it; a body is
// read as its json.Decoder does (the first JSON value; the rest unread).
// Any failed request fails the whole refresh. All registrations go into one
// group, Source "Nomad".
// API: https://developer.hashicorp.com/nomad/api-docs/services
//
// v2.45 sets no request timeout (the client has none and the refresh
// context is not passed on), so a hung server stalls its discoverer for
// good; here a whole refresh gets the refresh interval, then fails and is
// retried at the next tick (targets are kept meanwhile, as on any failure).
//
// A null entry in either list makes v2.45 panic on a nil pointer; here it is
// skipped.
#include "discovery/nomad.h"

#include <sstream>

#include <fmt/format.h>

#include "discovery/consul.h"
#include "discovery/go_json.h"
#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::nomad {

namespace {

constexpr std::string_view k_address_label = "__meta_nomad_address";
constexpr std::string_view k_service_label = "__meta_nomad_service";
constexpr std::string_view k_namespace_label = "__meta_nomad_namespace";
constexpr std::string_view k_node_id_label = "__meta_nomad_node_id";
constexpr std::string_view k_datacenter_label = "__meta_nomad_dc";
constexpr std::string_view k_service_address_label = "__meta_nomad_service_address";
constexpr std::string_view k_service_port_label = "__meta_nomad_service_port";
constexpr std::string_view k_service_id_label = "__meta_nomad_service_id";
constexpr std::string_view k_tags_label = "__meta_nomad_tags";

// What Go's http.Client sends when the caller sets no User-Agent.
constexpr std::string_view k_go_user_agent = "Go-http-client/1.1";

// api.ServiceRegistration, the fields the mapping reads.
struct Registration {
  std::string id, service_name, namespace_, node_id, datacenter, address;
  std::vector<std::string> tags;
  int64_t port = 0;
};

// The first JSON value of a body, as the API client's json.Decoder reads
// it: what follows the value is not looked at.
Result<Json> decode_first_value(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail("EOF");
  }
  std::istringstream in{std::string(body)};
  Json json;
  try {
    in >> json;
  } catch (const Json::parse_error& e) {
    // A cut-short body is the one syntax error worded as Go does.
    return fail(std::string_view(e.what()).find("unexpected end of input") != std::string_view::npos
                    ? "unexpected EOF"
                    : "invalid JSON in response body");
  }
  return json;
}

// A uint64 field the mapping does not read: Go still checks its type.
void check_uint64(GoDecoder& d, const Json& v, std::string_view where) {
  if (v.is_null() || v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return;
  }
  d.mismatch(v.is_number() ? "number " + v.dump() : json_kind(v), where, "uint64");
}

// Decodes a JSON array of pointers to structs (a Go []*T): each object
// element goes to fn; null elements are skipped (nil pointers).
template <class Fn>
void decode_pointer_list(GoDecoder& d, const Json& v, std::string_view where, std::string_view type, Fn fn) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    d.mismatch(json_kind(v), where, "[]*api." + std::string(type));
    return;
  }
  for (const Json& item : v) {
    if (item.is_null()) {
      continue;
    }
    if (!item.is_object()) {
      d.mismatch(json_kind(item), where, "api." + std::string(type));
      continue;
    }
    fn(item);
  }
}

Registration decode_registration(GoDecoder& d, const Json& object) {
  Registration r;
  d.fields(object, [&](const std::string& key, const Json& value) {
    auto field = [&](std::string_view name) { return equal_fold(key, name); };
    auto where = [](std::string_view name) { return "ServiceRegistration." + std::string(name); };
    if (field("ID")) {
      d.string(value, r.id, where("ID"));
    } else if (field("ServiceName")) {
      d.string(value, r.service_name, where("ServiceName"));
    } else if (field("Namespace")) {
      d.string(value, r.namespace_, where("Namespace"));
    } else if (field("NodeID")) {
      d.string(value, r.node_id, where("NodeID"));
    } else if (field("Datacenter")) {
      d.string(value, r.datacenter, where("Datacenter"));
    } else if (field("JobID") || field("AllocID")) {
      std::string ignored;
      d.string(value, ignored, where(field("JobID") ? "JobID" : "AllocID"));
    } else if (field("Tags")) {
      r.tags.clear();
      d.string_list(value, r.tags, where("Tags"));
    } else if (field("Address")) {
      d.string(value, r.address, where("Address"));
    } else if (field("Port")) {
      d.integer(value, r.port, where("Port"));
    } else if (field("CreateIndex") || field("ModifyIndex")) {
      check_uint64(d, value, where(field("CreateIndex") ? "CreateIndex" : "ModifyIndex"));
    }
  });
  return r;
}

model::Labels target_of(const Registration& r, std::string_view tag_separator) {
  model::Labels labels;
  std::string port = std::to_string(r.port);
  labels.set("__address__", util::join_host_port(r.address, port));
  labels.set(k_address_label, r.address);
  labels.set(k_datacenter_label, r.datacenter);
  labels.set(k_node_id_label, r.node_id);
  labels.set(k_namespace_label, r.namespace_);
  labels.set(k_service_address_label, r.address);
  labels.set(k_service_id_label, r.id);
  labels.set(k_service_port_label, port);
  labels.set(k_service_label, r.service_name);
  if (!r.tags.empty()) {
    std::string tags(tag_separator);
    for (size_t i = 0; i < r.tags.size(); ++i) {
      tags += (i == 0 ? "" : std::string(tag_separator)) + r.tags[i];
    }
    labels.set(k_tags_label, tags + std::string(tag_separator));
  }
  return labels;
}

// Go's url.Values{namespace, region, stale}.Encode() as the API client
// fills it from the config and the query options.
std::string encode_query(const Config& config) {
  std::string out;
  auto add = [&](std::string_view key, const std::string& value) {
    out += (out.empty() ? "" : "&") + std::string(key) + "=" + util::query_escape(value);
  };
  if (!config.namespace_.empty()) {
    add("namespace", config.namespace_);
  }
  if (!config.region.empty()) {
    add("region", config.region);
  }
  if (config.allow_stale) {
    add("stale", "");
  }
  return out;
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (consul::is_blank(server)) {
    c.error_at("server", "nomad SD configuration requires a server address");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<std::string>> service_names(std::string_view body) {
  Result<Json> json = decode_first_value(body);
  if (!json) {
    return fail(json.error());
  }
  GoDecoder d;
  std::vector<std::string> names;
  auto decode_stub = [&](const Json& stub) {
    d.fields(stub, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "Namespace")) {
        std::string ignored;
        d.string(value, ignored, "ServiceRegistrationListStub.Namespace");
      } else if (equal_fold(key, "Services")) {
        decode_pointer_list(d, value, "ServiceRegistrationListStub.Services", "ServiceRegistrationStub",
                            [&](const Json& service) {
                              std::string name;
                              d.fields(service, [&](const std::string& k, const Json& v) {
                                if (equal_fold(k, "ServiceName")) {
                                  d.string(v, name, "ServiceRegistrationStub.Services.ServiceName");
                                } else if (equal_fold(k, "Tags")) {
                                  std::vector<std::string> ignored;
                                  d.string_list(v, ignored, "ServiceRegistrationStub.Services.Tags");
                                }
                              });
                              names.push_back(std::move(name));
                            });
      }
    });
  };
  decode_pointer_list(d, *json, "", "ServiceRegistrationListStub", decode_stub);
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return names;
}

Result<std::vector<model::Labels>> service_targets(std::string_view body, std::string_view tag_separator) {
  Result<Json> json = decode_first_value(body);
  if (!json) {
    return fail(json.error());
  }
  GoDecoder d;
  std::vector<model::Labels> targets;
  decode_pointer_list(d, *json, "", "ServiceRegistration", [&](const Json& object) {
    targets.push_back(target_of(decode_registration(d, object), tag_separator));
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return targets;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_query(encode_query(config)), m_userinfo_auth(net::userinfo_authorization(config.server)),
      m_tag_separator(config.tag_separator), m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)),
      m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  model::Url server;
  if (std::string message = model::parse_url(config.server, server); !message.empty()) {
    return fail(fmt::format("invalid address '{}': {}", config.server, message));
  }
  std::unique_ptr<Discovery> discovery(new Discovery(config, std::move(*client)));
  discovery->m_base = server.scheme + "://" + server.host;
  return discovery;
}

// GET base+path with the client's query, within what is left until
// deadline; the body of a 200, else the API client's error.
Result<std::string> Discovery::query(const std::string& path, std::chrono::steady_clock::time_point deadline,
                                     const std::stop_token& stop) {
  std::string url = m_base + path + (m_query.empty() ? "" : "?" + m_query);
  net::HttpHeaders headers = {{"User-Agent", std::string(k_go_user_agent)}, {"Accept-Encoding", "gzip"}};
  if (!m_userinfo_auth.empty()) {
    headers.emplace_back("Authorization", m_userinfo_auth);
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  Result<net::HttpResponse> response = m_client->get(url, headers, std::max(left, std::chrono::milliseconds(1)), stop);
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200) {
    return fail(fmt::format("Unexpected response code: {} ({})", response->status, util::trim_space(response->body)));
  }
  if (response->body.empty() && response->header("Content-Length") == "0") {
    return fail("Got 0 byte response with non-nil decode object");
  }
  return std::move(response->body);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  auto deadline = std::chrono::steady_clock::now() + m_timeout;
  Result<std::string> list = query("/v1/services", deadline, stop);
  if (!list) {
    return fail(list.error());
  }
  Result<std::vector<std::string>> names = service_names(*list);
  if (!names) {
    return fail(names.error());
  }
  model::TargetGroup group;
  group.source = std::string(k_source);
  for (const std::string& name : *names) {
    Result<std::string> body = query("/v1/service/" + util::path_escape(name), deadline, stop);
    if (!body) {
      return fail("failed to fetch services: " + body.error());
    }
    Result<std::vector<model::Labels>> targets = service_targets(*body, m_tag_separator);
    if (!targets) {
      return fail("failed to fetch services: " + targets.error());
    }
    for (model::Labels& target : *targets) {
      group.targets.push_back(std::move(target));
    }
  }
  std::vector<model::TargetGroup> groups;
  groups.push_back(std::move(group));
  return groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::nomad
