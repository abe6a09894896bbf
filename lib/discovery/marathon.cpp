// marathon_sd: tasks of the applications of a Marathon (Mesos) cluster
// (discovery/marathon/marathon.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §9.
#include "discovery/marathon.h"

namespace sdscope::discovery::marathon {

void Config::validate(yaml::Checker& c) {
  if (servers.empty()) {
    c.error("marathon_sd: must contain at least one Marathon server");
    return;
  }
  bool token = !auth_token.empty() || !auth_token_file.empty();
  if (!auth_token.empty() && !auth_token_file.empty()) {
    c.error_at("auth_token_file", "marathon_sd: at most one of auth_token & auth_token_file must be configured");
    return;
  }
  if (http_client.basic_auth && token) {
    c.error_at("basic_auth", "marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured");
    return;
  }
  if ((!http_client.bearer_token.empty() || !http_client.bearer_token_file.empty()) && token) {
    c.error("marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be "
            "configured");
    return;
  }
  if (http_client.authorization && token) {
    c.error_at("authorization", "marathon_sd: at most one of auth_token, auth_token_file & authorization must be "
                                "configured");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::marathon
