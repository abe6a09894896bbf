#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::hetzner {

// Go: hetzner.role, a string whose own UnmarshalYAML rejects unknown values
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
  static constexpr std::string_view k_mechanism = "hetzner";
  static constexpr std::string_view k_go_type = "hetzner.plain";
  net::HttpClientConfig http_client; // hcloud: authorization; robot: basic_auth
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  Role role;
  std::string label_selector; // 3.5, hcloud only

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("role", role);
    v.since("3.5", "label_selector", label_selector);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::hetzner
