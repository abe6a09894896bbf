#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::stackit {

// stackit_sd_configs (Prometheus 3.5+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "stackit";
  static constexpr std::string_view k_go_type = "stackit.plain";
  net::HttpClientConfig http_client; // the bearer token without the key flow
  std::string project;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string region = "eu01";
  std::string endpoint; // default https://iaas.api.<region>.stackit.cloud
  yaml::Secret service_account_key;
  yaml::Secret private_key;
  // Files read by the STACKIT SDK as given; upstream does not join them
  // with the config's directory.
  std::string service_account_key_path;
  std::string private_key_path;
  std::string credentials_file_path;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("project", project);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("region", region);
    v("endpoint", endpoint);
    v("service_account_key", service_account_key);
    v("private_key", private_key);
    v("service_account_key_path", service_account_key_path);
    v("private_key_path", private_key_path);
    v("credentials_file_path", credentials_file_path);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::stackit
