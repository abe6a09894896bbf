#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
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
  // A RefreshDiscoverer listing the zone's servers of the role every
  // refresh_interval; fails when the HTTP client cannot be built or the
  // secret key file cannot be read.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
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

// One scaleway_sd config. refresh() lists every page of the zone's servers
// (role baremetal: also its offers and OS images) and returns one group.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  struct Page {
    std::string body;
    std::string total_header; // X-Total-Count, "" when absent
  };
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);
  Result<std::string> secret_key() const;
  // One page of a list call (query without page), checked as the SDK does.
  Result<Page> get_page(std::stop_token stop, std::string_view path, const std::vector<std::pair<std::string, std::string>>& query,
                        uint32_t page);
  // Every page of a list call: parse(body, header) gives a page's item
  // count and total; stops at an empty page or at ceil(total / first size).
  template <class Parse>
  Result<void> list_all(std::stop_token stop, std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& query, Parse parse);
  Result<model::TargetGroup> refresh_instances(std::stop_token stop);
  Result<model::TargetGroup> refresh_baremetal(std::stop_token stop);

  Config m_config;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

} // namespace sdscope::discovery::scaleway
