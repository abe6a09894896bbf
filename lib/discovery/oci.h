#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::oci {

// oci_sd_configs (Prometheus 3.14+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "oci";
  static constexpr std::string_view k_go_type = "oci.plain";
  std::string auth = "api_key"; // api_key or instance_principal
  std::string tenancy;
  std::string user;
  std::string fingerprint;
  std::string key_file; // PEM private key
  yaml::Secret key_passphrase;
  std::string key_passphrase_file;
  std::string region;
  std::vector<std::string> compartments; // empty: walk every compartment
  net::HttpClientConfig http_client;
  int port = 80;
  model::Duration refresh_interval = model::Duration::seconds(60);

  template <class V> void fields(V& v) {
    v("auth", auth);
    v("tenancy", tenancy);
    v("user", user);
    v("fingerprint", fingerprint);
    v.path("key_file", key_file);
    v("key_passphrase", key_passphrase);
    v.path("key_passphrase_file", key_passphrase_file);
    v("region", region);
    v("compartments", compartments);
    v.inline_(http_client);
    v("port", port);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::oci
