// The Docker Engine API as docker_sd and dockerswarm_sd use it: the client
// v2.45 builds in discovery/moby/docker.go and dockerswarm.go
// (github.com/docker/docker/client v24.0.2 with API version negotiation)
// and the network labels of discovery/moby/network.go. Docker Engine API:
// https://docs.docker.com/engine/api/v1.43/
//
// Requests: the first one of a client is preceded by the ping (HEAD /_ping,
// falling back to GET /_ping) whose API-Version header fixes the version
// prefix of every later path, once and for good, even when the ping failed
// (then 1.24, as the v24 client does). Headers: http:// and https:// hosts
// send User-Agent Prometheus/<version>, except while the version is below
// 1.25 (the client drops a custom User-Agent then), where Go's default
// User-Agent goes out, as it does for unix:// and tcp:// hosts.
//
// v2.45 bounds requests only on http:// and https:// hosts (the HTTP
// client's timeout, the refresh interval); unix:// and tcp:// requests have
// no timeout there, so a hung daemon stalls discovery for good. Here every
// request gets the refresh interval.
#include "discovery/moby.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::moby {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_go_user_agent = "Go-http-client/1.1";

std::vector<long> version_pieces(std::string_view v) {
  std::vector<long> pieces;
  for (const std::string& piece : util::split(v, '.')) {
    long n = 0;
    bool digits = !piece.empty() && piece.size() < 10;
    for (char c : piece) {
      digits = digits && c >= '0' && c <= '9';
    }
    if (digits) {
      n = std::stol(piece);
    }
    pieces.push_back(n);
  }
  return pieces;
}

// Go's url.URL.String() escaping of a host: the socket path of a unix://
// host shows as %2Fvar%2Frun%2Fdocker.sock.
std::string escape_host(std::string_view host) {
  std::string out;
  for (unsigned char c : host) {
    if (std::isalnum(c) || std::strchr("-._~!$&'()*+,;=:[]<>\"", c) != nullptr) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string join_base(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') {
    base.remove_suffix(1);
  }
  return std::string(base) + std::string(path);
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

} // namespace

bool version_less(std::string_view a, std::string_view b) {
  std::vector<long> left = version_pieces(a);
  std::vector<long> right = version_pieces(b);
  size_t n = std::max(left.size(), right.size());
  left.resize(n, 0);
  right.resize(n, 0);
  return left < right;
}

std::string filters_json(const std::vector<docker::Filter>& filters) {
  std::map<std::string, std::map<std::string, bool>> fields; // sorted, as Go writes maps
  for (const docker::Filter& filter : filters) {
    for (const std::string& value : filter.values) {
      fields[filter.name][value] = true;
    }
  }
  if (fields.empty()) {
    return {};
  }
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, values] : fields) {
    nlohmann::json set = nlohmann::json::object();
    for (const auto& [value, yes] : values) {
      set[value] = yes;
    }
    json[name] = std::move(set);
  }
  // Go escapes <, > and & in JSON strings; nlohmann does not.
  std::string text = json.dump();
  std::string out;
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> cidr_ip(std::string_view cidr) {
  auto invalid = [&] { return fail(fmt::format("invalid CIDR address: {}", cidr)); };
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    return invalid();
  }
  std::string address(cidr.substr(0, slash));
  std::string_view mask = cidr.substr(slash + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (mask.empty() || mask.size() > 3 || !std::all_of(mask.begin(), mask.end(), digit)) {
    return invalid();
  }
  int bits = std::stoi(std::string(mask));
  char text[INET6_ADDRSTRLEN] = {};
  unsigned char v4[4];
  unsigned char v6[16];
  if (inet_pton(AF_INET, address.c_str(), v4) == 1) {
    if (bits > 32) {
      return invalid();
    }
    inet_ntop(AF_INET, v4, text, sizeof text);
    return std::string(text);
  }
  if (address.find('%') != std::string::npos || inet_pton(AF_INET6, address.c_str(), v6) != 1 || bits > 128) {
    return invalid();
  }
  static constexpr unsigned char k_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6, k_v4_prefix, sizeof k_v4_prefix) == 0) { // Go prints a v4-in-v6 address as IPv4
    inet_ntop(AF_INET, v6 + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, v6, text, sizeof text);
  }
  return std::string(text);
}

void ApiDecoder::unsigned_int(const Json& v, uint64_t& out, uint64_t max, std::string_view where,
                              std::string_view type) {
  if (v.is_null()) {
    return;
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() <= max) {
    out = v.get<uint64_t>();
    return;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0 && static_cast<uint64_t>(v.get<int64_t>()) <= max) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return;
  }
  d.mismatch(v.is_number() ? "number " + v.dump() : json_kind(v), where, type);
}

void ApiDecoder::boolean(const Json& v, bool& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_boolean()) {
    d.mismatch(v.is_number() ? "number" : json_kind(v), where, "bool");
    return;
  }
  out = v.get<bool>();
}

Result<Json> parse_list_body(std::string_view body, ApiDecoder& decoder, std::string_view type) {
  Result<Json> parsed = parse_json(body, k_decoder_eof);
  if (!parsed) {
    return fail(parsed.error());
  }
  Json& json = *parsed;
  if (!json.is_null() && !json.is_array()) {
    decoder.d.mismatch(json_kind(json), "", type);
    return fail(decoder.d.error);
  }
  return json;
}

Result<std::map<std::string, LabelMap>> network_labels(std::string_view body, std::string_view prefix) {
  ApiDecoder decoder;
  Result<Json> json = parse_list_body(body, decoder, "[]types.NetworkResource");
  if (!json) {
    return fail(json.error());
  }
  struct Network {
    std::string id, name, scope;
    bool internal = false, ingress = false;
    LabelMap labels;
  };
  std::vector<Network> networks;
  decoder.list(*json, networks, "", "types.NetworkResource",
               [&](const std::string& key, const Json& value, Network& n) {
                 if (equal_fold(key, "Id")) {
                   decoder.d.string(value, n.id, "NetworkResource.Id");
                 } else if (equal_fold(key, "Name")) {
                   decoder.d.string(value, n.name, "NetworkResource.Name");
                 } else if (equal_fold(key, "Scope")) {
                   decoder.d.string(value, n.scope, "NetworkResource.Scope");
                 } else if (equal_fold(key, "Driver")) {
                   std::string ignored;
                   decoder.d.string(value, ignored, "NetworkResource.Driver");
                 } else if (equal_fold(key, "Internal")) {
                   decoder.boolean(value, n.internal, "NetworkResource.Internal");
                 } else if (equal_fold(key, "Ingress")) {
                   decoder.boolean(value, n.ingress, "NetworkResource.Ingress");
                 } else if (equal_fold(key, "Labels")) {
                   decoder.d.string_map(value, n.labels, "NetworkResource.Labels");
                 }
               });
  if (!decoder.d.error.empty()) {
    return fail(decoder.d.error);
  }
  std::string p(prefix);
  std::map<std::string, LabelMap> labels;
  for (const Network& n : networks) {
    LabelMap& set = labels[n.id]; // a later network with the same id replaces the earlier
    set = {{p + "network_id", n.id},
           {p + "network_name", n.name},
           {p + "network_scope", n.scope},
           {p + "network_internal", n.internal ? "true" : "false"},
           {p + "network_ingress", n.ingress ? "true" : "false"}};
    for (const auto& [key, value] : n.labels) {
      set[p + "network_label_" + util::sanitize_label_name(key)] = value;
    }
  }
  return labels;
}

Result<std::unique_ptr<Client>> Client::make(const std::string& host, const net::HttpClientConfig& http_config,
                                             std::chrono::milliseconds timeout) {
  std::unique_ptr<Client> client(new Client());
  client->m_host = host;
  client->m_timeout = timeout;
  size_t separator = host.find("://");
  if (separator == std::string::npos) {
    return fail(fmt::format("unable to parse docker host `{}`", host));
  }
  client->m_proto = host.substr(0, separator);
  client->m_addr = host.substr(separator + 3);
  if (client->m_proto == "tcp") { // only tcp:// splits off a base path
    model::Url parsed;
    if (std::string message = model::parse_url("tcp://" + client->m_addr, parsed); !message.empty()) {
      return fail(message);
    }
    client->m_addr = parsed.host;
    client->m_base_path = parsed.path;
  }
  net::HttpClientConfig config;
  if (client->m_proto == "unix") {
    if (client->m_addr.size() > sizeof(sockaddr_un::sun_path)) {
      return fail(fmt::format("unix socket path {} is too long", util::go_quote(client->m_addr)));
    }
  } else if (client->m_proto == "npipe") {
    return fail("protocol not available");
  } else if (client->m_proto == "http" || client->m_proto == "https") {
    // The HTTP client config applies to these only (other schemes would
    // break under it, says v2.45).
    config = http_config;
    client->m_scheme = client->m_proto;
    client->m_prometheus_headers = true;
  } else {
    config.proxy.proxy_from_environment = true; // the Docker client's own transport
  }
  Result<std::unique_ptr<net::HttpClient>> http = net::HttpClient::make(config);
  if (!http) {
    return fail(http.error());
  }
  client->m_http = std::move(*http);
  if (client->m_proto == "unix") {
    client->m_http->set_unix_socket(client->m_addr);
  }
  return client;
}

net::HttpHeaders Client::headers() const {
  bool custom = m_prometheus_headers && !version_less(m_version, "1.25");
  return {{"User-Agent", std::string(custom ? k_user_agent : k_go_user_agent)}};
}

std::string Client::request_url(std::string_view path) const {
  if (m_proto == "unix") {
    return "http://docker" + std::string(path); // the v24 client's Host for local sockets
  }
  return m_scheme + "://" + m_addr + std::string(path);
}

std::string Client::shown_url(std::string_view path) const {
  return m_scheme + "://" + escape_host(m_addr) + std::string(path);
}

// Docker's doRequest: refused, timed out and unix-socket connections are
// "Cannot connect to the Docker daemon"; other transport errors are
// "error during connect"; a cancellation is passed on as is.
std::string Client::transport_error(const std::string& error) const {
  if (error.ends_with("context canceled")) {
    return error;
  }
  if (m_proto == "unix" || contains(error, "Couldn't connect") || contains(error, "onnection refused") ||
      contains(error, "Client.Timeout exceeded while awaiting headers")) {
    return fmt::format("Cannot connect to the Docker daemon at {}. Is the docker daemon running?", m_host);
  }
  return "error during connect: " + error;
}

// Docker's checkResponseErr.
std::string Client::status_error(const net::HttpResponse& response, const std::string& url) const {
  std::string status_text = response.status_line();
  if (size_t space = status_text.find(' '); space != std::string::npos) {
    status_text = status_text.substr(space + 1);
  }
  if (response.body.empty()) {
    return fmt::format("request returned {} for API route and version {}, check if the server supports the requested "
                       "API version",
                       status_text, url);
  }
  std::string message;
  if (!version_less(m_version, "1.24") && response.content_type == "application/json") {
    Json json = Json::parse(response.body, nullptr, false);
    if (json.is_discarded()) {
      return "Error reading JSON: invalid JSON in response body";
    }
    if (json.is_object()) {
      for (const auto& [key, value] : json.items()) {
        if (equal_fold(key, "message") && value.is_string()) {
          message = value.get<std::string>();
        }
      }
    }
  } else {
    message = response.body;
  }
  return "Error response from daemon: " + util::trim_space(message);
}

Result<net::HttpResponse> Client::send(bool head, const std::string& target, std::stop_token stop) {
  if (m_prometheus_headers && m_addr.find('/') != std::string::npos) {
    // Go dials the whole remainder of an http(s):// host, path included.
    std::string shown = shown_url(target);
    std::string host = m_addr;
    return fail(fmt::format("{} {}: dial tcp: lookup {}: no such host", head ? "Head" : "Get", util::go_quote(shown),
                            host));
  }
  std::string url = request_url(target);
  return head ? m_http->head(url, headers(), m_timeout, std::move(stop))
              : m_http->get(url, headers(), m_timeout, std::move(stop));
}

void Client::negotiate(std::stop_token stop) {
  m_negotiated = true; // once per client, whatever the outcome
  std::string ping = join_base(m_base_path, "/_ping");
  std::string api_version;
  Result<net::HttpResponse> head = send(true, ping, stop);
  bool ask_again = true;
  if (head) {
    if (head->status == 200 || head->status == 500) {
      api_version = head->header("API-Version");
      ask_again = false;
    }
  } else if (transport_error(head.error()).starts_with("Cannot connect")) {
    ask_again = false;
  }
  if (ask_again) {
    if (Result<net::HttpResponse> get = send(false, ping, stop); get) {
      api_version = get->header("API-Version");
    }
  }
  if (api_version.empty()) {
    api_version = k_fallback_api_version;
  }
  if (version_less(api_version, m_version)) {
    m_version = api_version;
  }
}

Result<std::string> Client::get(std::string_view path, std::string_view query, std::stop_token stop) {
  if (!m_negotiated) {
    negotiate(stop);
  }
  std::string target = join_base(m_base_path, "/v" + m_version + std::string(path));
  if (!query.empty()) {
    target += "?" + std::string(query);
  }
  Result<net::HttpResponse> response = send(false, target, std::move(stop));
  if (!response) {
    return fail(transport_error(response.error()));
  }
  if (response->status < 200 || response->status >= 400) {
    return fail(status_error(*response, shown_url(target)));
  }
  return std::move(response->body);
}

Result<std::map<std::string, LabelMap>> Client::network_labels(std::string_view prefix, std::stop_token stop) {
  Result<std::string> body = get("/networks", "", std::move(stop));
  if (!body) {
    return fail(body.error());
  }
  return moby::network_labels(*body, prefix);
}

} // namespace sdscope::discovery::moby
