// scaleway_sd: Scaleway Instances (role instance) and Elastic Metal servers
// (role baremetal) of one zone, X-Auth-Token with the secret key, in
// Prometheus v2.45 discovery/scaleway/scaleway.go, instance.go and
// baremetal.go. Upstream builds an SDK client while loading the config, so
// scaleway-sdk-go's format checks are config errors too; spec/sd-cloud.md
// §9.
//
// A refresh pages through one list call as scaleway-sdk-go's WithAllPages
// does (page=1,2,... until an empty page or ceil(total / first page size),
// the total from the body's total_count or, on the Instance API, the
// X-Total-Count header):
//   instance:  GET <api_url>/instance/v1/zones/<zone>/servers
//              ?name=<name_filter>&order=creation_date_desc&page=<n>&tags=<t1,t2>
//   baremetal: GET <api_url>/baremetal/v1/zones/<zone>/servers
//              ?name=<name_filter>&order_by=created_at_asc&page=<n>&tags=<t1>&tags=<t2>
//              GET .../offers?page=<n>&subscription_period=unknown_subscription_period
//              GET .../os?page=<n>
// (query keys sorted, as Go's url.Values encodes them). Every request has
// X-Auth-Token (secret_key, or secret_key_file's trimmed contents re-read
// per request) and the HTTP block's auth; the client timeout is
// refresh_interval, as upstream sets it. Responses must be exactly
// `application/json`; errors are worded as the SDK words them. API:
// https://www.scaleway.com/en/developers/api/
#include "discovery/scaleway.h"

#include <fmt/format.h>

#include "discovery/scaleway_api.h"
#include "model/url.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::scaleway {

namespace {

bool known_role(std::string_view r) { return r == "instance" || r == "baremetal"; }

bool is_hex(char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }
bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }

// ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
bool is_uuid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

// ^SCW[A-Z0-9]{17}$
bool is_access_key(std::string_view s) {
  if (s.size() != 20 || s.substr(0, 3) != "SCW") {
    return false;
  }
  for (char ch : s.substr(3)) {
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
      return false;
    }
  }
  return true;
}

// ^[a-z]{2}-[a-z]{3}-[1-9]$ (the SDK release bundled with v2.45)
bool is_zone(std::string_view s) {
  return s.size() == 8 && is_lower(s[0]) && is_lower(s[1]) && s[2] == '-' && is_lower(s[3]) && is_lower(s[4]) &&
         is_lower(s[5]) && s[6] == '-' && s[7] >= '1' && s[7] <= '9';
}

// scw.AllZones, listed in the zone format error.
constexpr std::string_view k_all_zones = "fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, pl-waw-1, pl-waw-2";

// The stand-in secret upstream gives the SDK when the key comes from a file.
constexpr std::string_view k_file_secret = "00000000-0000-0000-0000-000000000000";

} // namespace

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.written = true;
  if (!known_role(text)) {
    return fmt::format("unknown role {}", util::go_quote(text));
  }
  return "";
}

SdkError sdk_client_error(const Config& c) {
  std::string_view secret = c.secret_key_file.empty() ? std::string_view(c.secret_key.value) : k_file_secret;
  if (c.access_key.empty()) {
    return {"access_key", "scaleway-sdk-go: access key cannot be empty"};
  }
  if (!is_access_key(c.access_key)) {
    return {"access_key",
            fmt::format("scaleway-sdk-go: invalid access key format '{}', expected SCWXXXXXXXXXXXXXXXXX format",
                        c.access_key)};
  }
  if (secret.empty()) {
    return {c.secret_key_file.empty() ? "secret_key" : "secret_key_file",
            "scaleway-sdk-go: secret key cannot be empty"};
  }
  if (!is_uuid(secret)) {
    return {c.secret_key_file.empty() ? "secret_key" : "secret_key_file",
            // Prometheus quotes the key itself here; we never print secrets.
            "scaleway-sdk-go: invalid secret key format '<secret>', expected a UUID: "
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"};
  }
  if (c.project_id.empty()) {
    return {"project_id", "scaleway-sdk-go: default project ID cannot be empty"};
  }
  if (!is_uuid(c.project_id)) {
    return {"project_id", fmt::format("scaleway-sdk-go: invalid project ID format '{}', expected a UUID: "
                                      "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                                      c.project_id)};
  }
  if (c.zone.empty()) {
    return {"zone", "scaleway-sdk-go: default zone cannot be empty"};
  }
  if (!is_zone(c.zone)) {
    return {"zone", fmt::format("scaleway-sdk-go: invalid default zone format '{}', available zones are: {}", c.zone,
                                k_all_zones)};
  }
  model::Url parsed;
  if (!model::parse_url(c.api_url, parsed).empty()) {
    return {"api_url", fmt::format("scaleway-sdk-go: invalid url {}", c.api_url)};
  }
  if (c.api_url.empty()) {
    // The SDK then reads apiURL[len-1:] and Prometheus crashes.
    return {"api_url", "empty api_url: Prometheus v2.45 crashes on it (slice bounds out of range in scaleway-sdk-go)"};
  }
  if (c.api_url.back() == '/') {
    return {"api_url", fmt::format("scaleway-sdk-go: invalid url {} it should not have a trailing slash", c.api_url)};
  }
  return {};
}

void Config::validate(yaml::Checker& c) {
  if (!role.written) {
    c.error("role missing (one of: instance, baremetal)");
    return;
  }
  if (!known_role(role.value)) {
    return; // already reported while decoding, which stops Prometheus there
  }
  if (project_id.empty()) {
    c.error_at("project_id", "project_id is mandatory");
    return;
  }
  if (secret_key.empty() && secret_key_file.empty()) {
    c.error("one of secret_key & secret_key_file must be configured");
    return;
  }
  if (!secret_key.empty() && !secret_key_file.empty()) {
    c.error_at("secret_key_file", "at most one of secret_key & secret_key_file must be configured");
    return;
  }
  if (access_key.empty()) {
    c.error_at("access_key", "access_key is mandatory");
    return;
  }
  if (SdkError e = sdk_client_error(*this); !e.message.empty()) {
    c.error_at(e.field, std::move(e.message));
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";

using Query = std::vector<std::pair<std::string, std::string>>;

// Go's url.Values.Encode: keys sorted (stable for repeated keys), escaped.
std::string encode_query(Query query) {
  std::stable_sort(query.begin(), query.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, value] : query) {
    out += (out.empty() ? "" : "&") + util::query_escape(key) + "=" + util::query_escape(value);
  }
  return out;
}

// scaleway-sdk-go's internal errors.Wrap wording.
std::string sdk_wrap(std::string_view what, std::string_view inner) {
  return fmt::format("scaleway-sdk-go: {}: {}", what, inner);
}

// Go's strconv.Atoi of an X-Total-Count header value, as the SDK reads it.
Result<uint32_t> parse_total_header(const std::string& text) {
  std::string_view digits = text;
  bool negative = !digits.empty() && digits[0] == '-';
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    digits.remove_prefix(1);
  }
  uint64_t value = 0;
  bool ok = !digits.empty() && digits.size() <= 18;
  for (char ch : digits) {
    ok = ok && ch >= '0' && ch <= '9';
    value = value * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (!ok) {
    return fail(sdk_wrap("could not parse X-Total-Count header",
                         fmt::format("strconv.Atoi: parsing {}: invalid syntax", util::go_quote(text))));
  }
  // UnsafeSetTotalCount converts the int to uint32 (wrapping, as Go does).
  int64_t signed_value = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  return static_cast<uint32_t>(signed_value);
}

} // namespace

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_config(config), m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  std::unique_ptr<Discovery> discovery(new Discovery(config, std::move(*client)));
  if (!config.secret_key_file.empty()) {
    if (Result<std::string> key = discovery->secret_key(); !key) { // fail fast, as v2.45 does
      return fail(key.error());
    }
  }
  return discovery;
}

// The X-Auth-Token value; the key file is read for every request.
Result<std::string> Discovery::secret_key() const {
  if (m_config.secret_key_file.empty()) {
    return m_config.secret_key.value;
  }
  Result<std::string> text = util::os_read_file(m_config.secret_key_file);
  if (!text) {
    return fail(fmt::format("unable to read auth token file {}: {}", m_config.secret_key_file, text.error()));
  }
  return util::trim_space(*text);
}

Result<Discovery::Page> Discovery::get_page(std::stop_token stop, std::string_view path, const Query& query,
                                            uint32_t page) {
  Query with_page = query;
  with_page.emplace_back("page", std::to_string(page));
  std::string url = m_config.api_url + std::string(path) + "?" + encode_query(std::move(with_page));
  Result<std::string> key = secret_key();
  if (!key) { // the token round tripper fails inside client.Do
    return fail(sdk_wrap("error executing request", fmt::format("Get {}: {}", util::go_quote(url), key.error())));
  }
  net::HttpHeaders headers = {{"User-Agent", std::string(k_user_agent)}, {"X-Auth-Token", *key}};
  Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail(sdk_wrap("error executing request", response.error()));
  }
  if (response->status < 200 || response->status > 299) {
    return fail(scaleway::response_error(*response));
  }
  if (response->content_type != "application/json") {
    return fail(fmt::format("scaleway-sdk-go: could not handle {} response body with <nil> result type",
                            response->content_type));
  }
  return Page{std::move(response->body), response->header("X-Total-Count")};
}

template <class Parse>
Result<void> Discovery::list_all(std::stop_token stop, std::string_view path, const Query& query, Parse parse) {
  uint32_t page_count = UINT32_MAX;
  for (uint32_t page = 1; page <= page_count; ++page) {
    Result<Page> got = get_page(stop, path, query, page);
    if (!got) {
      return fail(got.error());
    }
    // parse returns {items on the page, total count}
    Result<std::pair<uint32_t, uint32_t>> counts = parse(*got);
    if (!counts) {
      return fail(counts.error());
    }
    auto [size, total] = *counts;
    if (size == 0) {
      break;
    }
    if (page_count == UINT32_MAX) {
      page_count = static_cast<uint32_t>((static_cast<uint64_t>(total) + size - 1) / size);
    }
    if (page == UINT32_MAX) {
      break;
    }
  }
  return {};
}

Result<model::TargetGroup> Discovery::refresh_instances(std::stop_token stop) {
  Query query = {{"order", "creation_date_desc"}};
  if (!m_config.name_filter.empty()) {
    query.emplace_back("name", m_config.name_filter);
  }
  if (!m_config.tags_filter.empty()) {
    std::string tags;
    for (const std::string& tag : m_config.tags_filter) {
      tags += (tags.empty() ? "" : ",") + tag;
    }
    query.emplace_back("tags", tags);
  }
  std::vector<InstanceServer> servers;
  Result<void> listed = list_all(
      stop, "/instance/v1/zones/" + m_config.zone + "/servers", query,
      [&](const Page& page) -> Result<std::pair<uint32_t, uint32_t>> {
        Result<InstancePage> parsed = parse_instance_page(page.body);
        if (!parsed) {
          return fail(sdk_wrap("could not parse application/json response body", parsed.error()));
        }
        if (!page.total_header.empty()) {
          Result<uint32_t> total = parse_total_header(page.total_header);
          if (!total) {
            return fail(total.error());
          }
          parsed->total_count = *total;
        }
        auto size = static_cast<uint32_t>(parsed->servers.size());
        servers.insert(servers.end(), parsed->servers.begin(), parsed->servers.end());
        return std::pair{size, parsed->total_count};
      });
  if (!listed) {
    return fail(listed.error());
  }
  return instance_group(servers, m_config.port);
}

Result<model::TargetGroup> Discovery::refresh_baremetal(std::stop_token stop) {
  const std::string zone_path = "/baremetal/v1/zones/" + m_config.zone;
  Query query = {{"order_by", "created_at_asc"}};
  if (!m_config.name_filter.empty()) {
    query.emplace_back("name", m_config.name_filter);
  }
  for (const std::string& tag : m_config.tags_filter) {
    query.emplace_back("tags", tag);
  }
  // The SDK's own JSON-decoding wording, for the three calls.
  auto wrap = [](const std::string& error) { return sdk_wrap("could not parse application/json response body", error); };

  std::vector<BaremetalServer> servers;
  Result<void> listed = list_all(stop, zone_path + "/servers", query,
                                 [&](const Page& page) -> Result<std::pair<uint32_t, uint32_t>> {
                                   Result<BaremetalServersPage> parsed = parse_baremetal_servers_page(page.body);
                                   if (!parsed) {
                                     return fail(wrap(parsed.error()));
                                   }
                                   auto size = static_cast<uint32_t>(parsed->servers.size());
                                   servers.insert(servers.end(), parsed->servers.begin(), parsed->servers.end());
                                   return std::pair{size, parsed->total_count};
                                 });
  if (!listed) {
    return fail(listed.error());
  }
  std::vector<BaremetalOffer> offers;
  listed = list_all(stop, zone_path + "/offers", {{"subscription_period", "unknown_subscription_period"}},
                    [&](const Page& page) -> Result<std::pair<uint32_t, uint32_t>> {
                      Result<BaremetalOffersPage> parsed = parse_baremetal_offers_page(page.body);
                      if (!parsed) {
                        return fail(wrap(parsed.error()));
                      }
                      auto size = static_cast<uint32_t>(parsed->offers.size());
                      offers.insert(offers.end(), parsed->offers.begin(), parsed->offers.end());
                      return std::pair{size, parsed->total_count};
                    });
  if (!listed) {
    return fail(listed.error());
  }
  std::vector<BaremetalOs> os;
  listed = list_all(stop, zone_path + "/os", {}, [&](const Page& page) -> Result<std::pair<uint32_t, uint32_t>> {
    Result<BaremetalOsPage> parsed = parse_baremetal_os_page(page.body);
    if (!parsed) {
      return fail(wrap(parsed.error()));
    }
    auto size = static_cast<uint32_t>(parsed->os.size());
    os.insert(os.end(), parsed->os.begin(), parsed->os.end());
    return std::pair{size, parsed->total_count};
  });
  if (!listed) {
    return fail(listed.error());
  }
  return baremetal_group(servers, offers, os, m_config.port);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<model::TargetGroup> group =
      m_config.role.value == "baremetal" ? refresh_baremetal(std::move(stop)) : refresh_instances(std::move(stop));
  if (!group) {
    return fail(group.error());
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::scaleway
