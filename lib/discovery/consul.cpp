// consul_sd: services from the Consul catalog and health API
// (discovery/consul/consul.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §2.1.
#include "discovery/consul.h"

namespace sdscope::discovery::consul {

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

} // namespace sdscope::discovery::consul
