// puppetdb_sd: resources returned by a PuppetDB PQL query
// (discovery/puppetdb/puppetdb.go and resources.go in Prometheus v2.45;
// spec/sd-platforms.md §12).
//
// Each refresh is one POST <url>/pdb/query/v4 with the body
// {"query":"<query>"} (PuppetDB's query API v4:
// https://www.puppet.com/docs/puppetdb/latest/api/query/v4/overview),
// User-Agent Prometheus/<version>, Accept and Content-Type
// application/json; the client timeout is the refresh interval, as in
// v2.45. Anything but 200 with a JSON content type fails the refresh. The
// answer is a list of resources; every resource is one target at
// <certname>:<port>, all in one group whose Source names the endpoint and
// the query, so a resource gone since the last refresh disappears when the
// group is replaced.
#include "discovery/puppetdb.h"

#include <optional>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "discovery/http.h"
#include "util/go_format.h"
#include "util/strings.h"

namespace sdscope::discovery::puppetdb {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_query_path = "pdb/query/v4";

constexpr std::string_view k_query_label = "__meta_puppetdb_query";
constexpr std::string_view k_certname_label = "__meta_puppetdb_certname";
constexpr std::string_view k_resource_label = "__meta_puppetdb_resource";
constexpr std::string_view k_type_label = "__meta_puppetdb_type";
constexpr std::string_view k_title_label = "__meta_puppetdb_title";
constexpr std::string_view k_exported_label = "__meta_puppetdb_exported";
constexpr std::string_view k_tags_label = "__meta_puppetdb_tags";
constexpr std::string_view k_file_label = "__meta_puppetdb_file";
constexpr std::string_view k_environment_label = "__meta_puppetdb_environment";
constexpr std::string_view k_parameter_label_prefix = "__meta_puppetdb_parameter_";
constexpr std::string_view k_separator = ",";

// The fields of v2.45's Resource struct.
struct Resource {
  std::string certname, resource, type, title, file, environment;
  bool exported = false;
  std::vector<std::string> tags;
  Json parameters; // an object or null: Go's map[string]interface{}
};

// A parameter value that is a single label value (resources.go's scalar
// cases): strings verbatim, booleans, and numbers as the float64 Go decodes
// them into, formatted with 'g'.
std::optional<std::string> scalar_text(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "true" : "false";
  }
  if (value.is_number()) {
    return util::format_float_g(value.get<double>());
  }
  return std::nullopt;
}

// resources.go's toLabels: each parameter named by its sanitized key;
// arrays joined with ',' (elements that are not scalars count as empty),
// objects flattened under "<key>_", null and empty values left out.
void add_parameter_labels(const Json& parameters, std::string_view prefix, model::Labels& out) {
  if (!parameters.is_object()) {
    return;
  }
  for (const auto& [key, value] : parameters.items()) {
    std::string text;
    if (std::optional<std::string> scalar = scalar_text(value)) {
      text = *scalar;
    } else if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        text += (i == 0 ? "" : std::string(k_separator)) + scalar_text(value[i]).value_or("");
      }
    } else if (value.is_object()) {
      add_parameter_labels(value, std::string(prefix) + util::sanitize_label_name(key + "_"), out);
    }
    if (!text.empty()) {
      out.set(std::string(prefix) + util::sanitize_label_name(key), text);
    }
  }
}

void decode_resource(GoDecoder& d, const Json& item, Resource& r) {
  d.fields(item, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "certname")) {
      d.string(value, r.certname, "Resource.certname");
    } else if (equal_fold(key, "resource")) {
      d.string(value, r.resource, "Resource.resource");
    } else if (equal_fold(key, "type")) {
      d.string(value, r.type, "Resource.type");
    } else if (equal_fold(key, "title")) {
      d.string(value, r.title, "Resource.title");
    } else if (equal_fold(key, "exported")) {
      if (value.is_boolean()) {
        r.exported = value.get<bool>();
      } else if (!value.is_null()) {
        d.mismatch(json_kind(value), "Resource.exported", "bool");
      }
    } else if (equal_fold(key, "tags")) {
      r.tags.clear();
      d.string_list(value, r.tags, "Resource.tags");
    } else if (equal_fold(key, "file")) {
      d.string(value, r.file, "Resource.file");
    } else if (equal_fold(key, "environment")) {
      d.string(value, r.environment, "Resource.environment");
    } else if (equal_fold(key, "parameters")) {
      if (value.is_object() || value.is_null()) {
        r.parameters = value;
      } else {
        d.mismatch(json_kind(value), "Resource.parameters", "puppetdb.Parameters");
      }
    }
  });
}

// json.Unmarshal of the body into []Resource.
Result<std::vector<Resource>> parse_resources(std::string_view body) {
  Result<Json> parsed = parse_json(body, k_unmarshal_eof);
  if (!parsed) {
    return fail(parsed.error());
  }
  Json& json = *parsed;
  std::vector<Resource> resources;
  GoDecoder d;
  if (json.is_null()) {
    return resources;
  }
  if (!json.is_array()) {
    d.mismatch(json_kind(json), "", "[]puppetdb.Resource");
    return fail(d.error);
  }
  for (const Json& item : json) {
    Resource& resource = resources.emplace_back();
    if (item.is_object()) {
      decode_resource(d, item, resource);
    } else if (!item.is_null()) {
      d.mismatch(json_kind(item), "", "puppetdb.Resource");
    }
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return resources;
}

model::Labels target_of(const Resource& r, const MappingOptions& options) {
  model::Labels target;
  target.set(k_query_label, options.query);
  target.set(k_certname_label, r.certname);
  target.set(k_resource_label, r.resource);
  target.set(k_type_label, r.type);
  target.set(k_title_label, r.title);
  target.set(k_exported_label, r.exported ? "true" : "false");
  target.set(k_file_label, r.file);
  target.set(k_environment_label, r.environment);
  // v2.45 formats the port as uint64(port): a negative port wraps around.
  auto port = static_cast<uint64_t>(static_cast<int64_t>(options.port));
  target.set("__address__", util::join_host_port(r.certname, std::to_string(port)));
  if (!r.tags.empty()) {
    std::string tags(k_separator);
    for (const std::string& tag : r.tags) {
      tags += tag + std::string(k_separator);
    }
    target.set(k_tags_label, tags);
  }
  // Off by default: parameters may hold secrets.
  if (options.include_parameters) {
    add_parameter_labels(r.parameters, k_parameter_label_prefix, target);
  }
  return target;
}

} // namespace

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (!check_http_url(c, url)) {
    return;
  }
  if (query.empty()) {
    c.error("query missing");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

// Works on the URL text as written (validated: scheme://host...). Go joins
// the decoded path and escapes it again; the two differ only for paths with
// %-escapes that Go would write differently.
std::string query_endpoint(const std::string& url) {
  size_t fragment = url.find('#');
  size_t query = url.substr(0, fragment).find('?');
  size_t rest_at = std::min(query, fragment);
  std::string base = url.substr(0, rest_at);
  std::string rest = rest_at == std::string::npos ? "" : url.substr(rest_at);
  size_t scheme_end = base.find("://");
  size_t path_at = scheme_end == std::string::npos ? std::string::npos : base.find('/', scheme_end + 3);
  std::string path = path_at == std::string::npos ? "" : base.substr(path_at);
  std::string authority = base.substr(0, path_at);
  if (scheme_end != std::string::npos) { // Go lower-cases the scheme
    authority = util::to_lower_ascii(authority.substr(0, scheme_end)) + authority.substr(scheme_end);
  }
  std::string joined = util::clean_path(path.empty() ? std::string(k_query_path) : path + "/" + std::string(k_query_path));
  if (joined.front() != '/') {
    joined.insert(0, "/");
  }
  return authority + joined + rest;
}

std::string request_body(std::string_view query) { return "{\"query\":" + go_json_string(query) + "}"; }

Result<model::TargetGroup> group_from_resources(std::string_view body, const MappingOptions& options) {
  Result<std::vector<Resource>> resources = parse_resources(body);
  if (!resources) {
    return fail(resources.error());
  }
  model::TargetGroup group;
  group.source = options.endpoint + "?query=" + options.query;
  for (const Resource& resource : *resources) {
    group.targets.push_back(target_of(resource, options));
  }
  return group;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_mapping{query_endpoint(config.url), config.query, config.port, config.include_parameters},
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  net::HttpHeaders headers = {
      {"User-Agent", std::string(k_user_agent)},
      {"Accept", "application/json"},
      {"Content-Type", "application/json"},
  };
  Result<net::HttpResponse> response =
      m_client->post(m_mapping.endpoint, headers, request_body(m_mapping.query), m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200) {
    return fail("server returned HTTP status " + response->status_line());
  }
  // Go's header parsing trims the value; v2.45 then matches it as is.
  std::string content_type = util::trim_space(response->content_type);
  if (!http::is_json_content_type(content_type)) {
    return fail("unsupported content type " + content_type);
  }
  Result<model::TargetGroup> group = group_from_resources(response->body, m_mapping);
  if (!group) {
    return fail(group.error());
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::puppetdb
