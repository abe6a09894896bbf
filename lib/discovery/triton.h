#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::triton {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "triton";
  static constexpr std::string_view k_go_type = "triton.plain";
  std::string account;
  std::string role = "container"; // or "cn"
  std::string dns_suffix;
  std::string endpoint;
  std::vector<std::string> groups;
  int port = 9163; // of the discovery endpoint and of the targets
  model::Duration refresh_interval = model::Duration::seconds(60);
  net::TlsConfig tls_config;
  int version = 1;

  template <class V> void fields(V& v) {
    v("account", account);
    v("role", role);
    v("dns_suffix", dns_suffix);
    v("endpoint", endpoint);
    v("groups", groups);
    v("port", port);
    v("refresh_interval", refresh_interval);
    v("tls_config", tls_config);
    v("version", version);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::triton
