#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::scaleway {

// Go: scaleway.role, a string whose own UnmarshalYAML rejects unknown values
// while decoding (so an explicit "" is "unknown role", a null is missing).
struct Role {
  std::string value;
  bool written = false; // a non-null value went through the hook
  bool empty() const { return value.empty(); }
  bool operator==(const Role&) const = default;
};
std::string parse_text(std::string_view text, Role& out);
inline std::string format_text(const Role& r) { return r.value; }

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "scaleway";
  static constexpr std::string_view k_go_type = "scaleway.plain";
  std::string project_id;
  std::string api_url = "https://api.scaleway.com";
  std::string zone = "fr-par-1";
  std::string access_key;
  yaml::Secret secret_key;
  std::string secret_key_file;
  std::string name_filter;
  std::vector<std::string> tags_filter;
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  Role role;

  template <class V> void fields(V& v) {
    v("project_id", project_id);
    v("api_url", api_url);
    v("zone", zone);
    v("access_key", access_key);
    v("secret_key", secret_key);
    v.path("secret_key_file", secret_key_file);
    v("name_filter", name_filter);
    v("tags_filter", tags_filter);
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("role", role);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The first failed check of scaleway-sdk-go's NewClient on the profile built
// from the config (checked in the SDK's order), with the field it concerns;
// an empty message when the client would be built.
struct SdkError {
  std::string_view field;
  std::string message; // "scaleway-sdk-go: ..."
};
SdkError sdk_client_error(const Config& c);

} // namespace sdscope::discovery::scaleway
