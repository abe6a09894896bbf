// scaleway_sd: Scaleway Instances (role instance) and Elastic Metal servers
// (role baremetal) of one zone, X-Auth-Token with the secret key, in
// Prometheus v2.45 discovery/scaleway/scaleway.go. Upstream builds an SDK
// client while loading the config, so scaleway-sdk-go's format checks are
// config errors too. Config block only; see spec/sd-cloud.md §9.
#include "discovery/scaleway.h"

#include <fmt/format.h>

#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::scaleway {

namespace {

bool known_role(std::string_view r) { return r == "instance" || r == "baremetal"; }

bool is_hex(char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }
bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }

// ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
bool is_uuid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

// ^SCW[A-Z0-9]{17}$
bool is_access_key(std::string_view s) {
  if (s.size() != 20 || s.substr(0, 3) != "SCW") {
    return false;
  }
  for (char ch : s.substr(3)) {
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
      return false;
    }
  }
  return true;
}

// ^[a-z]{2}-[a-z]{3}-[1-9]$ (the SDK release bundled with v2.45)
bool is_zone(std::string_view s) {
  return s.size() == 8 && is_lower(s[0]) && is_lower(s[1]) && s[2] == '-' && is_lower(s[3]) && is_lower(s[4]) &&
         is_lower(s[5]) && s[6] == '-' && s[7] >= '1' && s[7] <= '9';
}

// scw.AllZones, listed in the zone format error.
constexpr std::string_view k_all_zones = "fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, pl-waw-1, pl-waw-2";

// The stand-in secret upstream gives the SDK when the key comes from a file.
constexpr std::string_view k_file_secret = "00000000-0000-0000-0000-000000000000";

} // namespace

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.written = true;
  if (!known_role(text)) {
    return fmt::format("unknown role {}", util::go_quote(text));
  }
  return "";
}

SdkError sdk_client_error(const Config& c) {
  std::string_view secret = c.secret_key_file.empty() ? std::string_view(c.secret_key.value) : k_file_secret;
  if (c.access_key.empty()) {
    return {"access_key", "scaleway-sdk-go: access key cannot be empty"};
  }
  if (!is_access_key(c.access_key)) {
    return {"access_key",
            fmt::format("scaleway-sdk-go: invalid access key format '{}', expected SCWXXXXXXXXXXXXXXXXX format",
                        c.access_key)};
  }
  if (secret.empty()) {
    return {c.secret_key_file.empty() ? "secret_key" : "secret_key_file",
            "scaleway-sdk-go: secret key cannot be empty"};
  }
  if (!is_uuid(secret)) {
    return {c.secret_key_file.empty() ? "secret_key" : "secret_key_file",
            // Prometheus quotes the key itself here; we never print secrets.
            "scaleway-sdk-go: invalid secret key format '<secret>', expected a UUID: "
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"};
  }
  if (c.project_id.empty()) {
    return {"project_id", "scaleway-sdk-go: default project ID cannot be empty"};
  }
  if (!is_uuid(c.project_id)) {
    return {"project_id", fmt::format("scaleway-sdk-go: invalid project ID format '{}', expected a UUID: "
                                      "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                                      c.project_id)};
  }
  if (c.zone.empty()) {
    return {"zone", "scaleway-sdk-go: default zone cannot be empty"};
  }
  if (!is_zone(c.zone)) {
    return {"zone", fmt::format("scaleway-sdk-go: invalid default zone format '{}', available zones are: {}", c.zone,
                                k_all_zones)};
  }
  model::Url parsed;
  if (!model::parse_url(c.api_url, parsed).empty()) {
    return {"api_url", fmt::format("scaleway-sdk-go: invalid url {}", c.api_url)};
  }
  if (c.api_url.empty()) {
    // The SDK then reads apiURL[len-1:] and Prometheus crashes.
    return {"api_url", "empty api_url: Prometheus v2.45 crashes on it (slice bounds out of range in scaleway-sdk-go)"};
  }
  if (c.api_url.back() == '/') {
    return {"api_url", fmt::format("scaleway-sdk-go: invalid url {} it should not have a trailing slash", c.api_url)};
  }
  return {};
}

void Config::validate(yaml::Checker& c) {
  if (!role.written) {
    c.error("role missing (one of: instance, baremetal)");
    return;
  }
  if (!known_role(role.value)) {
    return; // already reported while decoding, which stops Prometheus there
  }
  if (project_id.empty()) {
    c.error_at("project_id", "project_id is mandatory");
    return;
  }
  if (secret_key.empty() && secret_key_file.empty()) {
    c.error("one of secret_key & secret_key_file must be configured");
    return;
  }
  if (!secret_key.empty() && !secret_key_file.empty()) {
    c.error_at("secret_key_file", "at most one of secret_key & secret_key_file must be configured");
    return;
  }
  if (access_key.empty()) {
    c.error_at("access_key", "access_key is mandatory");
    return;
  }
  if (SdkError e = sdk_client_error(*this); !e.message.empty()) {
    c.error_at(e.field, std::move(e.message));
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::scaleway
