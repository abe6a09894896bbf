// http_sd: target groups fetched as JSON from a URL (discovery/http/http.go
// in Prometheus v2.45; spec/sd-platforms.md §5, spec/core.md §6.5).
//
// Each refresh is one GET of the configured URL with Accept:
// application/json, User-Agent Prometheus/<version> and
// X-Prometheus-Refresh-Interval-Seconds; the client timeout is the refresh
// interval. Anything but 200 with a JSON content type is a failed refresh.
// The body is the file_sd JSON group list. Sources are positional
// ("<url>:<index>"), so a shorter list than last time means the trailing
// groups vanished: they are sent empty so the manager drops them.
#include "discovery/http.h"

#include "discovery/target_groups.h"
#include "util/strings.h"

namespace sdscope::discovery::http {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr std::string_view k_url_label = "__meta_url";

// strconv.FormatFloat(seconds, 'f', -1, 64) for a whole number of ms.
std::string format_seconds(int64_t ms) {
  std::string text = std::to_string(ms / 1000);
  if (int64_t fraction = ms % 1000; fraction != 0) {
    std::string digits = std::to_string(1000 + fraction).substr(1);
    digits.erase(digits.find_last_not_of('0') + 1);
    text += "." + digits;
  }
  return text;
}

std::string source_of(const std::string& url, size_t index) { return url + ":" + std::to_string(index); }

} // namespace

bool is_json_content_type(std::string_view content_type) {
  std::string text = util::to_lower_ascii(content_type);
  constexpr std::string_view k_json = "application/json";
  if (!util::starts_with(text, k_json)) {
    return false;
  }
  std::string_view rest = std::string_view(text).substr(k_json.size());
  if (rest.empty()) {
    return true;
  }
  if (rest.front() != ';') {
    return false;
  }
  rest.remove_prefix(1);
  while (!rest.empty() && std::string_view(" \t\n\f\r").find(rest.front()) != std::string_view::npos) {
    rest.remove_prefix(1);
  }
  return rest == "charset=utf-8" || rest == "charset=\"utf-8\"";
}

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (!check_http_url(c, url)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<model::TargetGroup>> groups_from_response(const net::HttpResponse& response,
                                                             const std::string& url) {
  if (response.status != 200) {
    return fail("server returned HTTP status " + response.status_line());
  }
  if (!is_json_content_type(util::trim_space(response.content_type))) {
    return fail("unsupported content type " + util::go_quote(response.content_type));
  }
  Result<std::vector<model::TargetGroup>> groups = parse_groups_json(response.body);
  if (!groups) {
    return groups;
  }
  for (size_t i = 0; i < groups->size(); ++i) {
    model::TargetGroup& group = (*groups)[i];
    group.source = source_of(url, i);
    group.labels.set(k_url_label, url);
  }
  return groups;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_url(config.url), m_refresh_interval(config.refresh_interval), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  net::HttpHeaders headers = {
      {"User-Agent", std::string(k_user_agent)},
      {"Accept", "application/json"},
      {"X-Prometheus-Refresh-Interval-Seconds", format_seconds(m_refresh_interval.ms)},
  };
  Result<net::HttpResponse> response =
      m_client->get(m_url, headers, std::chrono::milliseconds(m_refresh_interval.ms), std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  Result<std::vector<model::TargetGroup>> groups = groups_from_response(*response, m_url);
  if (!groups) {
    return groups;
  }
  size_t count = groups->size();
  for (size_t i = count; i < m_last_group_count; ++i) {
    model::TargetGroup vanished;
    vanished.source = source_of(m_url, i);
    groups->push_back(std::move(vanished));
  }
  m_last_group_count = count;
  return groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::http
