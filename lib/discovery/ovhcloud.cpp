// ovhcloud_sd: OVHcloud VPS and dedicated servers from the OVH API 1.0, as
// Prometheus v2.45 discovers them (discovery/ovhcloud/{ovhcloud,vps,
// dedicated_server}.go) through its client go-ovh v1.4; see
// spec/sd-cloud.md §11.
//
// Every refresh: GET <endpoint>/auth/time (unsigned; the server's Unix time
// gives the clock offset), then GETs signed with the application secret and
// consumer key (headers X-Ovh-Application, X-Ovh-Consumer, X-Ovh-Timestamp,
// X-Ovh-Signature): /vps or /dedicated/server, then per name its details
// and .../ips. Targets are the bare IP (no port) plus `instance` = name.
// Each request is bounded by go-ovh's 180 s client timeout.
#include "discovery/ovhcloud.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::ovhcloud {

void Config::validate(yaml::Checker& c) const {
  if (endpoint.empty()) {
    c.error_at("endpoint", "endpoint can not be empty");
    return;
  }
  if (application_key.empty()) {
    c.error_at("application_key", "application key can not be empty");
    return;
  }
  if (application_secret.empty()) {
    c.error_at("application_secret", "application secret can not be empty");
    return;
  }
  if (consumer_key.empty()) {
    c.error_at("consumer_key", "consumer key can not be empty");
    return;
  }
  if (service != "vps" && service != "dedicated_server") {
    c.error_at("service", fmt::format("unknown service: {}", service));
    return;
  }
  // The OVH client is created on every refresh, so a bad endpoint passes the
  // load and then fails each refresh.
  if (Result<std::string> url = endpoint_url(endpoint); !url) {
    c.warning_at("endpoint", "every refresh will fail: " + url.error());
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

// go-ovh v1.4's Endpoints map.
constexpr std::pair<std::string_view, std::string_view> k_endpoint_urls[] = {
    {"ovh-eu", "https://eu.api.ovh.com/1.0"},
    {"ovh-ca", "https://ca.api.ovh.com/1.0"},
    {"ovh-us", "https://api.us.ovhcloud.com/1.0"},
    {"kimsufi-eu", "https://eu.api.kimsufi.com/1.0"},
    {"kimsufi-ca", "https://ca.api.kimsufi.com/1.0"},
    {"soyoustart-eu", "https://eu.api.soyoustart.com/1.0"},
    {"soyoustart-ca", "https://ca.api.soyoustart.com/1.0"},
};

// A net/netip Addr: 4 or 16 bytes, an IPv6 zone.
struct NetipAddr {
  unsigned char bytes[16] = {};
  bool is4 = false;
  std::string zone;
};

// netip.ParseAddr: the first of '.', ':' or '%' decides the family.
bool parse_netip_addr(std::string_view text, NetipAddr& out) {
  size_t special = text.find_first_of(".:%");
  if (special == std::string_view::npos || text[special] == '%') {
    return false;
  }
  if (text[special] == '.') {
    out.is4 = true;
    return inet_pton(AF_INET, std::string(text).c_str(), out.bytes) == 1; // no leading zeros, 4 parts
  }
  std::string_view address = text;
  if (size_t percent = text.find('%'); percent != std::string_view::npos) {
    out.zone = std::string(text.substr(percent + 1));
    address = text.substr(0, percent);
    if (out.zone.empty()) {
      return false;
    }
  }
  return inet_pton(AF_INET6, std::string(address).c_str(), out.bytes) == 1;
}

std::string dotted(const unsigned char* b) { return fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]); }

// Addr.String(): IPv4 dotted, IPv4-mapped IPv6 as ::ffff:a.b.c.d, other
// IPv6 per RFC 5952 (the first longest run of two or more zero groups
// becomes "::"), then any zone.
std::string netip_string(const NetipAddr& a) {
  if (a.is4) {
    return dotted(a.bytes);
  }
  std::string out;
  constexpr unsigned char k_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(a.bytes, a.bytes + 12, k_mapped)) {
    out = "::ffff:" + dotted(a.bytes + 12);
  } else {
    unsigned groups[8];
    for (int i = 0; i < 8; ++i) {
      groups[i] = a.bytes[2 * i] << 8 | a.bytes[2 * i + 1];
    }
    int zero_start = -1, zero_end = -1;
    for (int i = 0; i < 8; ++i) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        ++j;
      }
      if (j - i >= 2 && j - i > zero_end - zero_start) {
        zero_start = i;
        zero_end = j;
      }
    }
    for (int i = 0; i < 8; ++i) {
      if (i == zero_start) {
        out += "::";
        i = zero_end;
        if (i >= 8) {
          break;
        }
      } else if (i > 0) {
        out += ':';
      }
      out += fmt::format("{:x}", groups[i]);
    }
  }
  return a.zone.empty() ? out : out + "%" + a.zone;
}

bool is_unspecified(const NetipAddr& a) {
  size_t length = a.is4 ? 4 : 16;
  return a.zone.empty() && std::all_of(a.bytes, a.bytes + length, [](unsigned char b) { return b == 0; });
}

// netip.ParsePrefix (Go 1.20): the address before the last '/', no zone,
// the bits as strconv.Atoi reads them (a sign and leading zeros pass).
bool parse_netip_prefix(std::string_view text, NetipAddr& address, int& bits) {
  size_t slash = text.rfind('/');
  if (slash == std::string_view::npos || !parse_netip_addr(text.substr(0, slash), address) ||
      !address.zone.empty()) {
    return false;
  }
  std::string_view digits = text.substr(slash + 1);
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  int64_t value = 0;
  for (char c : digits) {
    value = std::min<int64_t>(value * 10 + (c - '0'), 1000); // anything past 128 is out of range
  }
  if (negative && value != 0) {
    return false;
  }
  bits = static_cast<int>(value);
  return bits <= (address.is4 ? 32 : 128);
}

// Go's path.Join: the non-empty elements joined with '/', then cleaned.
std::string join_path(std::initializer_list<std::string_view> elements) {
  std::string joined;
  for (std::string_view e : elements) {
    if (!e.empty()) {
      joined += (joined.empty() ? "" : "/") + std::string(e);
    }
  }
  return joined.empty() ? "" : util::clean_path(joined);
}

int64_t unix_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A 2xx body as go-ovh decodes it: an empty one is null (nothing to
// unmarshal, the result keeps its zero value), else the first JSON value as
// a json.Decoder reads it (trailing data ignored; "EOF" for white space).
Result<Json> decode_body(std::string_view body) {
  if (body.empty()) {
    return Json(nullptr);
  }
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail(std::string(k_decoder_eof));
  }
  std::istringstream in{std::string(body)};
  Json value;
  try {
    in >> value;
  } catch (const nlohmann::json::exception& e) {
    return fail(fmt::format("invalid JSON: {}", e.what()));
  }
  return value;
}

// A bool struct field (GoDecoder has none).
void decode_bool(GoDecoder& d, const Json& v, bool& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_boolean()) {
    d.mismatch(json_kind(v), where, "bool");
    return;
  }
  out = v.get<bool>();
}

// fmt's %+v of a []string: [a b].
std::string go_string_list(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    out += (i > 0 ? " " : "") + list[i];
  }
  return out + "]";
}

constexpr std::string_view k_vps_prefix = "__meta_ovhcloud_vps_";
constexpr std::string_view k_dedicated_prefix = "__meta_ovhcloud_dedicated_server_";

// What a target gets from its IPs, and `instance` = its name label.
model::Labels with_addresses(model::Labels labels, std::string_view prefix, const ServerIps& ips) {
  std::string name(labels.get(std::string(prefix) + "name"));
  labels.set(std::string(prefix) + "ipv4", ips.ipv4);
  labels.set(std::string(prefix) + "ipv6", ips.ipv6);
  labels.set("__address__", ips.ipv4.empty() ? ips.ipv6 : ips.ipv4);
  labels.set("instance", name);
  return labels;
}

// go-ovh's APIError for a non-2xx answer: the body decoded (json.Unmarshal,
// field names matched case-insensitively) or, when that fails, the whole
// body as the message; printed `Error <code>: <quoted message>`.
std::string api_error(long status, const std::string& body) {
  int64_t code = status;
  std::string message;
  GoDecoder d;
  Json json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    d.error = "syntax";
  } else if (!json.is_null() && !json.is_object()) {
    d.mismatch(json_kind(json), "", "ovh.APIError");
  } else if (json.is_object()) {
    std::string ignored;
    std::map<std::string, std::string> details;
    d.fields(json, [&](const std::string& key, const Json& v) {
      if (equal_fold(key, "message")) {
        d.string(v, message, "APIError.Message");
      } else if (equal_fold(key, "code")) {
        d.integer(v, code, "APIError.Code");
      } else if (equal_fold(key, "class") || equal_fold(key, "queryid")) {
        d.string(v, ignored, "APIError." + key);
      } else if (equal_fold(key, "details")) {
        d.string_map(v, details, "APIError.Details");
      }
    });
  }
  if (!d.error.empty()) {
    message = body;
  }
  return fmt::format("Error {}: {}", code, util::go_quote(message));
}

} // namespace

Result<std::string> endpoint_url(std::string_view endpoint) {
  if (!endpoint.empty() && endpoint.back() == '/') {
    return fail("endpoint name cannot have a tailing slash");
  }
  if (endpoint.find('/') != std::string_view::npos) {
    return std::string(endpoint);
  }
  for (const auto& [name, url] : k_endpoint_urls) {
    if (name == endpoint) {
      return std::string(url);
    }
  }
  return fail(fmt::format("unknown endpoint '{}', consider checking 'Endpoints' list of using an URL", endpoint));
}

std::string request_signature(std::string_view application_secret, std::string_view consumer_key,
                              std::string_view method, std::string_view url, std::string_view body, int64_t timestamp) {
  std::string input = fmt::format("{}+{}+{}+{}+{}+{}", application_secret, consumer_key, method, url, body, timestamp);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr);
  OPENSSL_cleanse(input.data(), input.size()); // it holds the secret
  std::string out = "$1$";
  for (unsigned int i = 0; i < length; ++i) {
    out += fmt::format("{:02x}", digest[i]);
  }
  return out;
}

Result<ServerIps> parse_ip_list(const std::vector<std::string>& entries) {
  ServerIps ips;
  bool any = false;
  for (const std::string& entry : entries) {
    NetipAddr address;
    if (!parse_netip_addr(entry, address)) {
      address = NetipAddr{};
      int bits = 0;
      if (!parse_netip_prefix(entry, address, bits)) {
        return fail("could not parse IP addresses from list");
      }
      if (bits != 32) { // an IPv6 /32 is taken as an address too
        continue;
      }
    }
    if (is_unspecified(address)) {
      continue;
    }
    any = true;
    (address.is4 ? ips.ipv4 : ips.ipv6) = netip_string(address);
  }
  if (!any) {
    return fail("could not parse IP addresses from list");
  }
  return ips;
}

namespace {

// The labels of a VPS's details body, without those of its IPs.
Result<model::Labels> decode_vps(std::string_view details) {
  Result<Json> json = decode_body(details);
  if (!json) {
    return fail(json.error());
  }
  std::string name, zone, display_name, cluster, state, netboot_mode, offer_type;
  std::string model_name, offer, version;
  int64_t memory_limit = 0, vcore = 0, model_vcore = 0, disk = 0, memory = 0, maximum_additional_ip = 0;
  std::vector<std::string> datacenter, ignored_list;
  GoDecoder d;
  constexpr std::string_view k_type = "ovhcloud.virtualPrivateServer";
  auto where = [](std::string_view field) { return "virtualPrivateServer." + std::string(field); };
  if (!json->is_null() && !json->is_object()) {
    d.mismatch(json_kind(*json), "", k_type);
  } else if (json->is_object()) {
    d.fields(*json, [&](const std::string& key, const Json& v) {
      if (equal_fold(key, "name")) {
        d.string(v, name, where("name"));
      } else if (equal_fold(key, "zone")) {
        d.string(v, zone, where("zone"));
      } else if (equal_fold(key, "displayName")) {
        d.string(v, display_name, where("displayName"));
      } else if (equal_fold(key, "cluster")) {
        d.string(v, cluster, where("cluster"));
      } else if (equal_fold(key, "state")) {
        d.string(v, state, where("state"));
      } else if (equal_fold(key, "netbootMode")) {
        d.string(v, netboot_mode, where("netbootMode"));
      } else if (equal_fold(key, "offerType")) {
        d.string(v, offer_type, where("offerType"));
      } else if (equal_fold(key, "memoryLimit")) {
        d.integer(v, memory_limit, where("memoryLimit"));
      } else if (equal_fold(key, "vcore")) {
        d.integer(v, vcore, where("vcore"));
      } else if (equal_fold(key, "keymap") || equal_fold(key, "monitoringIpBlocks")) {
        // Read into []string, so a keymap sent as a string fails the server.
        ignored_list.clear();
        d.string_list(v, ignored_list, where(key));
      } else if (equal_fold(key, "model")) {
        d.object(v, where("model"), "ovhcloud.vpsModel", [&](const std::string& mkey, const Json& mv) {
          if (equal_fold(mkey, "name")) {
            d.string(mv, model_name, where("model.name"));
          } else if (equal_fold(mkey, "offer")) {
            d.string(mv, offer, where("model.offer"));
          } else if (equal_fold(mkey, "version")) {
            d.string(mv, version, where("model.version"));
          } else if (equal_fold(mkey, "vcore")) {
            d.integer(mv, model_vcore, where("model.vcore"));
          } else if (equal_fold(mkey, "disk")) {
            d.integer(mv, disk, where("model.disk"));
          } else if (equal_fold(mkey, "memory")) {
            d.integer(mv, memory, where("model.memory"));
          } else if (equal_fold(mkey, "maximumAdditionnalIp")) {
            d.integer(mv, maximum_additional_ip, where("model.maximumAdditionnalIp"));
          } else if (equal_fold(mkey, "datacenter")) {
            if (mv.is_array()) {
              datacenter.clear(); // a later key replaces the slice
            }
            d.string_list(mv, datacenter, where("model.datacenter"));
          }
        });
      }
    });
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  model::Labels labels;
  constexpr std::string_view p = k_vps_prefix;
  auto set = [&](std::string_view label, const std::string& value) {
    labels.set(std::string(p) + std::string(label), value);
  };
  set("offer", offer);
  set("datacenter", go_string_list(datacenter));
  set("model_vcore", std::to_string(model_vcore));
  set("maximum_additional_ip", std::to_string(maximum_additional_ip));
  set("version", version);
  set("model_name", model_name);
  set("disk", std::to_string(disk));
  set("memory", std::to_string(memory));
  set("zone", zone);
  set("display_name", display_name);
  set("cluster", cluster);
  set("state", state);
  set("name", name);
  set("netboot_mode", netboot_mode);
  set("memory_limit", std::to_string(memory_limit));
  set("offer_type", offer_type);
  set("vcore", std::to_string(vcore));
  return labels;
}

// The labels of a dedicated server's details body, without those of its IPs.
Result<model::Labels> decode_dedicated_server(std::string_view details) {
  Result<Json> json = decode_body(details);
  if (!json) {
    return fail(json.error());
  }
  std::string name, state, commercial_range, rack, os, support_level, reverse, datacenter;
  int64_t link_speed = 0, server_id = 0;
  bool no_intervention = false;
  GoDecoder d;
  auto where = [](std::string_view field) { return "dedicatedServer." + std::string(field); };
  if (!json->is_null() && !json->is_object()) {
    d.mismatch(json_kind(*json), "", "ovhcloud.dedicatedServer");
  } else if (json->is_object()) {
    d.fields(*json, [&](const std::string& key, const Json& v) {
      if (equal_fold(key, "name")) {
        d.string(v, name, where("name"));
      } else if (equal_fold(key, "state")) {
        d.string(v, state, where("state"));
      } else if (equal_fold(key, "commercialRange")) {
        d.string(v, commercial_range, where("commercialRange"));
      } else if (equal_fold(key, "rack")) {
        d.string(v, rack, where("rack"));
      } else if (equal_fold(key, "os")) {
        d.string(v, os, where("os"));
      } else if (equal_fold(key, "supportLevel")) {
        d.string(v, support_level, where("supportLevel"));
      } else if (equal_fold(key, "reverse")) {
        d.string(v, reverse, where("reverse"));
      } else if (equal_fold(key, "datacenter")) {
        d.string(v, datacenter, where("datacenter"));
      } else if (equal_fold(key, "linkSpeed")) {
        d.integer(v, link_speed, where("linkSpeed"));
      } else if (equal_fold(key, "serverId")) {
        d.integer(v, server_id, where("serverId"));
      } else if (equal_fold(key, "noIntervention")) {
        decode_bool(d, v, no_intervention, where("noIntervention"));
      }
    });
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  model::Labels labels;
  constexpr std::string_view p = k_dedicated_prefix;
  auto set = [&](std::string_view label, const std::string& value) {
    labels.set(std::string(p) + std::string(label), value);
  };
  set("state", state);
  set("commercial_range", commercial_range);
  set("link_speed", std::to_string(link_speed));
  set("rack", rack);
  set("no_intervention", no_intervention ? "true" : "false");
  set("os", os);
  set("support_level", support_level);
  set("server_id", std::to_string(server_id));
  set("reverse", reverse);
  set("datacenter", datacenter);
  set("name", name);
  return labels;
}

} // namespace

Result<model::Labels> vps_target(std::string_view details, const ServerIps& ips) {
  Result<model::Labels> labels = decode_vps(details);
  if (!labels) {
    return fail(labels.error());
  }
  return with_addresses(std::move(*labels), k_vps_prefix, ips);
}

Result<model::Labels> dedicated_server_target(std::string_view details, const ServerIps& ips) {
  Result<model::Labels> labels = decode_dedicated_server(details);
  if (!labels) {
    return fail(labels.error());
  }
  return with_addresses(std::move(*labels), k_dedicated_prefix, ips);
}

Discovery::Discovery(const Config& config, std::chrono::milliseconds request_timeout,
                     std::unique_ptr<net::HttpClient> client)
    : m_config(config), m_timeout(request_timeout), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, std::chrono::milliseconds request_timeout) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(net::HttpClientConfig{});
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, request_timeout, std::move(*client)));
}

Result<std::string> Discovery::call(const std::string& base, const std::string& path, const int64_t* time_delta_ns,
                                    std::stop_token stop) {
  std::string url = base + path;
  net::HttpHeaders headers = {{"X-Ovh-Application", m_config.application_key},
                              {"Accept", "application/json"},
                              {"User-Agent", "Go-http-client/1.1"}};
  if (time_delta_ns != nullptr) {
    int64_t ns = unix_nanos() - *time_delta_ns; // OVH's clock now
    int64_t timestamp = ns >= 0 ? ns / 1'000'000'000 : -((-ns + 999'999'999) / 1'000'000'000);
    headers.emplace_back("X-Ovh-Timestamp", std::to_string(timestamp));
    headers.emplace_back("X-Ovh-Consumer", m_config.consumer_key.value);
    headers.emplace_back("X-Ovh-Signature", request_signature(m_config.application_secret.value,
                                                              m_config.consumer_key.value, "GET", url, "", timestamp));
  }
  Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status >= 300) {
    return fail(api_error(response->status, response->body));
  }
  return std::move(response->body);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  // v2.45 makes a new client, so the endpoint is resolved and the clock
  // offset asked on every refresh.
  Result<std::string> base = endpoint_url(m_config.endpoint);
  if (!base) {
    return fail(base.error());
  }
  Result<std::string> time_body = call(*base, "/auth/time", nullptr, stop);
  if (!time_body) {
    return fail(time_body.error());
  }
  Result<Json> time_json = decode_body(*time_body);
  if (!time_json) {
    return fail(time_json.error());
  }
  int64_t server_time = 0; // null (or an empty body) leaves it zero
  if (time_json->is_number_integer() &&
      !(time_json->is_number_unsigned() && time_json->get<uint64_t>() > INT64_MAX)) {
    server_time = time_json->get<int64_t>();
  } else if (!time_json->is_null()) {
    GoDecoder d;
    d.mismatch(time_json->is_number() ? "number " + time_json->dump() : json_kind(*time_json), "", "int64");
    return fail(d.error);
  }
  const int64_t time_delta_ns = unix_nanos() - server_time * 1'000'000'000;

  const bool vps = m_config.service == "vps";
  const std::string list_path = vps ? "/vps" : "/dedicated/server";
  Result<std::string> list_body = call(*base, list_path, &time_delta_ns, stop);
  if (!list_body) {
    return fail(list_body.error());
  }
  Result<Json> list = decode_body(*list_body);
  if (!list) {
    return fail(list.error());
  }
  std::vector<std::string> names;
  GoDecoder list_decoder;
  list_decoder.string_list(*list, names, "");
  if (!list_decoder.error.empty()) {
    return fail(list_decoder.error);
  }

  model::TargetGroup group;
  group.source = vps ? "ovhcloud_vps" : "ovhcloud_dedicated_server";
  for (const std::string& name : names) {
    if (stop.stop_requested()) {
      return fail("context canceled");
    }
    std::string details_path = join_path({list_path, util::query_escape(name)});
    Result<std::string> details = call(*base, details_path, &time_delta_ns, stop);
    if (!details) {
      continue;
    }
    // The details are decoded before the IPs are asked for.
    Result<model::Labels> labels = vps ? decode_vps(*details) : decode_dedicated_server(*details);
    if (!labels) {
      continue;
    }
    Result<std::string> ip_body = call(*base, join_path({details_path, "ips"}), &time_delta_ns, stop);
    if (!ip_body) {
      continue;
    }
    Result<Json> ip_json = decode_body(*ip_body);
    std::vector<std::string> entries;
    GoDecoder d;
    if (ip_json) {
      d.string_list(*ip_json, entries, "");
    }
    if (!ip_json || !d.error.empty()) {
      continue;
    }
    Result<ServerIps> ips = parse_ip_list(entries);
    if (!ips) {
      continue;
    }
    group.targets.push_back(with_addresses(std::move(*labels), vps ? k_vps_prefix : k_dedicated_prefix, *ips));
  }
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::ovhcloud
