#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::docker {

// One Docker API list filter (moby.Filter), shared with dockerswarm.
struct Filter {
  static constexpr std::string_view k_go_type = "moby.Filter";
  std::string name;
  std::vector<std::string> values;

  template <class V> void fields(V& v) {
    v("name", name);
    v("values", values);
  }
  bool operator==(const Filter&) const = default;
};

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "docker";
  static constexpr std::string_view k_go_type = "moby.plain";
  net::HttpClientConfig http_client;
  std::string host; // unix://, tcp://, http:// or https:// daemon address
  int port = 80;
  std::vector<Filter> filters;
  std::string host_networking_host = "localhost";
  bool match_first_network = true; // 2.54
  model::Duration refresh_interval = model::Duration::seconds(60);

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("host", host);
    v("port", port);
    v("filters", filters);
    v("host_networking_host", host_networking_host);
    v.since("2.54", "match_first_network", match_first_network);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::docker
