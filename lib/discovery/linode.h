#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::linode {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "linode";
  static constexpr std::string_view k_go_type = "linode.plain";
  net::HttpClientConfig http_client; // carries the API token
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string tag_separator = ",";
  std::string region; // 2.52

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("tag_separator", tag_separator);
    v.since("2.52", "region", region);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer; fails when the HTTP client cannot be built. The
  // API base is options.endpoints[k_endpoint_key] (tests only; the config
  // has no such field), else the LINODE_URL environment variable as
  // linodego reads it, else https://api.linode.com; either way the API
  // version path (LINODE_API_VERSION, default v4) is appended.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

inline constexpr std::string_view k_endpoint_key = "linode";

// linodego's base URL from a LINODE_URL-style value (scheme://host[/path],
// "" for https://api.linode.com) and a LINODE_API_VERSION value ("" for
// v4), e.g. "http://127.0.0.1:8080/v4".
std::string api_base_url(std::string_view url, std::string_view api_version);

// The bodies of every page of the two lists a full refresh reads.
struct Pages {
  std::vector<std::string> instances; // GET linode/instances
  std::vector<std::string> ips;       // GET networking/ips
};

// Maps a full refresh's pages to the one group (pure), Source "Linode".
// Fails where a body does not fit linodego's structs.
Result<model::TargetGroup> linode_group(const Pages& pages, int port, std::string_view tag_separator);

// One linode_sd config. After the first full refresh, a refresh first asks
// for account events since the previous refresh and reuses the last groups
// when there are none (at most 9 times in a row).
class Discovery {
public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  static Result<std::unique_ptr<Discovery>> make(const Config& config, std::string base_url,
                                                 Clock clock = std::chrono::system_clock::now);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::string base_url, std::unique_ptr<net::HttpClient> client, Clock clock);
  // The bodies of every page of GET <base>/<resource>?page_size=N (pages
  // 2.. with page=k); only page `single_page` when it is non-zero.
  Result<std::vector<std::string>> list(std::string_view resource, int page_size, const std::string& filter,
                                        int single_page, const std::stop_token& stop);
  Result<std::vector<model::TargetGroup>> full_refresh(const std::stop_token& stop);

  std::string m_base_url;
  int m_port;
  std::string m_tag_separator;
  std::string m_region;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
  Clock m_clock;
  std::chrono::system_clock::time_point m_last_refresh;
  int m_poll_count = 0;
  bool m_event_polling = true;
  std::optional<std::vector<model::TargetGroup>> m_last_groups;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::linode
