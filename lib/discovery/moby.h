#pragma once

// What docker_sd and dockerswarm_sd share: a Docker Engine API client that
// behaves like the docker/docker v24.0.2 client v2.45 builds (host forms,
// API version negotiation, headers, error texts), the `filters` query, the
// network labels and Go's decoding helpers for the API's structs.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/docker.h"
#include "discovery/go_json.h"
#include "net/http_client.h"
#include "net/http_config.h"
#include "util/result.h"

namespace sdscope::discovery::moby {

using LabelMap = std::map<std::string, std::string>;

// The newest API version the v24 client speaks, and the one it assumes
// when the daemon names none (or the ping fails).
inline constexpr std::string_view k_max_api_version = "1.43";
inline constexpr std::string_view k_fallback_api_version = "1.24";

// Docker's versions.LessThan: dotted numbers compared piece by piece (a
// piece that is not a number counts as 0).
bool version_less(std::string_view a, std::string_view b);


// The `filters` query value the client sends: the filters as a JSON map
// name -> {value: true} (keys sorted, as Go's encoding/json writes maps);
// "" when no filter has a value (then no filters parameter is sent).
std::string filters_json(const std::vector<docker::Filter>& filters);

// The IP of a CIDR address as Go's net.ParseCIDR returns it, printed as
// ip.String() does; fails with `invalid CIDR address: <text>`.
Result<std::string> cidr_ip(std::string_view cidr);

// Maps the body of GET /networks to the labels of each network, by network
// id: <prefix>network_id, _name, _scope, _internal, _ingress ("true" or
// "false") and _label_<sanitized key> (getNetworksLabels in network.go).
Result<std::map<std::string, LabelMap>> network_labels(std::string_view body, std::string_view prefix);

// Go's encoding/json into the API's structs, for the decoders of the
// mechanisms: null leaves the zero value, a mismatch is recorded as Go
// words it (the first one wins) and decoding goes on.
struct ApiDecoder {
  GoDecoder d;
  // An unsigned integer field of Go type `type` ("uint16", "uint32",
  // "uint64") no larger than max.
  void unsigned_int(const Json& v, uint64_t& out, uint64_t max, std::string_view where, std::string_view type);
  void boolean(const Json& v, bool& out, std::string_view where);
  // A struct (or pointer to one): fn(key, value) for each member; returns
  // whether the value was an object (null: false, nothing recorded).
  template <class Fn> bool object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return false;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), where, type);
      return false;
    }
    d.fields(v, fn);
    return true;
  }
  // A slice of structs: fn(element_json, element) for each object element.
  template <class T, class Fn>
  void list(const Json& v, std::vector<T>& out, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      out.clear();
      return;
    }
    if (!v.is_array()) {
      d.mismatch(json_kind(v), where, "[]" + std::string(type));
      return;
    }
    out.clear();
    for (const Json& item : v) {
      T& element = out.emplace_back();
      if (!item.is_null()) {
        object(item, where, type, [&](const std::string& key, const Json& value) { fn(key, value, element); });
      }
    }
  }
};

// Parses a list body as Go's json.Decoder reads one value; `type` is the
// Go type of the list ("[]types.Container") for a top-level mismatch.
// Fails on an empty body with "EOF".
Result<Json> parse_list_body(std::string_view body, ApiDecoder& decoder, std::string_view type);

// A Docker Engine API client for one `host`, as v2.45 sets up
// client.NewClientWithOpts: unix:///path talks HTTP over that socket,
// tcp://addr[/base] plain HTTP, http:// and https:// (whose whole
// remainder is the address, as in Docker's client) use the HTTP client
// config and send User-Agent Prometheus/<version>. The first request pings
// the daemon (HEAD /_ping, then GET /_ping) and settles the API version
// for the client's lifetime: the daemon's API-Version header capped at
// 1.43, or 1.24 when there is none or the ping fails.
class Client {
public:
  // Fails as NewClientWithOpts does (`unable to parse docker host ...`).
  // timeout bounds every request.
  static Result<std::unique_ptr<Client>> make(const std::string& host, const net::HttpClientConfig& http_config,
                                              std::chrono::milliseconds timeout);

  // GET /v<version><path>[?query] and its body; fails with the Docker
  // client's texts on transport errors and on statuses of 400 and more.
  Result<std::string> get(std::string_view path, std::string_view query, std::stop_token stop);

  // The labels of every network (GET /networks).
  Result<std::map<std::string, LabelMap>> network_labels(std::string_view prefix, std::stop_token stop);

  // The negotiated API version ("1.43" until the first request).
  const std::string& version() const { return m_version; }

private:
  Client() = default;
  void negotiate(std::stop_token stop);
  // HEAD or GET of a path under the daemon's address.
  Result<net::HttpResponse> send(bool head, const std::string& target, std::stop_token stop);
  net::HttpHeaders headers() const;
  std::string request_url(std::string_view path) const;
  std::string shown_url(std::string_view path) const;
  std::string transport_error(const std::string& error) const;
  std::string status_error(const net::HttpResponse& response, const std::string& url) const;

  std::string m_host;      // as configured, for "Cannot connect" errors
  std::string m_proto;     // unix, tcp, http, https, ...
  std::string m_addr;      // host:port, or the socket path
  std::string m_base_path; // tcp:// only
  std::string m_scheme = "http";
  bool m_prometheus_headers = false; // http:// and https:// hosts
  std::chrono::milliseconds m_timeout{0};
  std::unique_ptr<net::HttpClient> m_http;
  std::string m_version{k_max_api_version};
  bool m_negotiated = false;
};

} // namespace sdscope::discovery::moby
