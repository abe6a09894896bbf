// consul_sd's HTTP side: the endpoint NewClient derives from the config,
// URLs as Go's net/url encodes them, and one blocking-query call
// (hashicorp/consul/api v1.21.0, https://developer.hashicorp.com/consul/api-docs).
//
// Every request carries dc/ns/partition when configured and the
// X-Consul-Token header when a token is set; the answer's X-Consul-Index
// (a missing or bad header reads as 0) is what the next blocking query
// waits past. Anything but HTTP 200 is an error.
#include "discovery/consul_client.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::consul {

namespace {

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

// url.Values.Encode: keys sorted, values of one key in the order added.
std::string encode_query(Params params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, value] : params) {
    out += (out.empty() ? "" : "&") + util::query_escape(key) + "=" + util::query_escape(value);
  }
  return out;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

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

} // namespace

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
  Result<net::HttpResponse> response = client.get(url, headers, e.request_timeout, std::move(stop));
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

} // namespace sdscope::discovery::consul
