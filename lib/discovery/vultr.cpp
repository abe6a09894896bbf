// vultr_sd: Vultr instances from the Vultr API v2 (bearer API key from the
// HTTP client block, cursor paging), in Prometheus v2.45
// discovery/vultr/vultr.go with govultr v2; spec/sd-cloud.md §8.
//
// A refresh asks GET <base>/v2/instances?per_page=100, then
// ?cursor=<meta.links.next>&per_page=100 while meta.links.next is set, with
// govultr's headers (Accept and Content-Type application/json, User-Agent
// Prometheus/2.45.0); the API key comes only from the HTTP block
// (`authorization`, or `bearer_token`). govultr sends through
// go-retryablehttp: transport errors, 429 and 5xx (but 501) are retried
// three times, 333 ms then 500 ms apart (Retry-After honoured on 429/503),
// then fail with `gave up after 4 attempts, ...`; any other answer outside
// 200-204 fails with its body as the error text, as govultr does. The HTTP
// client timeout is refresh_interval (per attempt), as upstream sets it.
// API: https://www.vultr.com/api/#tag/instances/operation/list-instances
#include "discovery/vultr.h"


#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::vultr {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
constexpr int k_retry_limit = 3;
constexpr std::chrono::milliseconds k_retry_wait_min{333}; // govultr: 2/3 of its 500 ms rate limit
constexpr std::chrono::milliseconds k_retry_wait_max{500};

std::string comma_wrapped(const std::vector<std::string>& items) {
  std::string out = ",";
  for (const std::string& item : items) {
    out += item + ",";
  }
  return out;
}

// go-retryablehttp's DefaultRetryPolicy for an answer.
bool retryable_status(long status) { return status == 429 || status == 0 || (status >= 500 && status != 501); }

// go-retryablehttp's DefaultBackoff: min * 2^attempt capped at max, or a
// numeric Retry-After (seconds) on 429 and 503.
std::chrono::milliseconds backoff(int attempt, const net::HttpResponse* response) {
  if (response && (response->status == 429 || response->status == 503)) {
    std::string after = response->header("Retry-After");
    if (!after.empty() && after.find_first_not_of("0123456789") == std::string::npos && after.size() < 9) {
      return std::chrono::seconds(std::stoll(after));
    }
  }
  auto wait = k_retry_wait_min * (int64_t{1} << attempt);
  return std::min<std::chrono::milliseconds>(wait, k_retry_wait_max);
}

// scheme://host[:port] of a URL: govultr resolves the absolute path
// "/v2/instances" against its base URL, which drops the base's own path.
std::string origin_of(const std::string& url) {
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

} // namespace

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<InstancesPage> parse_instances_page(std::string_view body) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  GoDecoder d;
  InstancesPage page;
  bool have_links = false;
  auto object = [&](const Json& v, std::string_view where, std::string_view type, auto fn) {
    if (v.is_null()) {
      return false;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), where, type);
      return false;
    }
    d.fields(v, fn);
    return true;
  };
  object(*json, "", "govultr.instancesBase", [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "instances")) {
      page.instances.clear();
      if (value.is_null()) {
        return;
      }
      if (!value.is_array()) {
        d.mismatch(json_kind(value), "instancesBase.instances", "[]govultr.Instance");
        return;
      }
      for (const Json& item : value) {
        Instance& in = page.instances.emplace_back();
        object(item, "instancesBase.instances", "govultr.Instance", [&](const std::string& k, const Json& v) {
          auto is = [&](std::string_view name) { return equal_fold(k, name); };
          auto where = [&](std::string_view name) { return fmt::format("Instance.instances.{}", name); };
          struct Text {
            std::string_view name;
            std::string* out;
          };
          for (Text t : {Text{"id", &in.id}, Text{"label", &in.label}, Text{"os", &in.os}, Text{"region", &in.region},
                         Text{"plan", &in.plan}, Text{"main_ip", &in.main_ip}, Text{"v6_main_ip", &in.v6_main_ip},
                         Text{"internal_ip", &in.internal_ip}, Text{"hostname", &in.hostname},
                         Text{"server_status", &in.server_status}}) {
            if (is(t.name)) {
              d.string(v, *t.out, where(t.name));
              return;
            }
          }
          struct Number {
            std::string_view name;
            int64_t* out;
          };
          for (Number n : {Number{"os_id", &in.os_id}, Number{"vcpu_count", &in.vcpu_count}, Number{"ram", &in.ram},
                           Number{"allowed_bandwidth", &in.allowed_bandwidth}, Number{"disk", &in.disk}}) {
            if (is(n.name)) {
              d.integer(v, *n.out, where(n.name));
              return;
            }
          }
          if (is("features")) {
            in.features.clear();
            d.string_list(v, in.features, where("features"));
          } else if (is("tags")) {
            in.tags.clear();
            d.string_list(v, in.tags, where("tags"));
          }
        });
      }
    } else if (equal_fold(key, "meta")) {
      have_links = false;
      object(value, "instancesBase.meta", "govultr.Meta", [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "total")) {
          int64_t total = 0;
          d.integer(v, total, "Meta.meta.total");
        } else if (equal_fold(k, "links")) {
          page.next.clear();
          have_links = object(v, "Meta.meta.links", "govultr.Links", [&](const std::string& lk, const Json& lv) {
            if (equal_fold(lk, "next")) {
              d.string(lv, page.next, "Links.meta.links.next");
            } else if (equal_fold(lk, "prev")) {
              std::string prev;
              d.string(lv, prev, "Links.meta.links.prev");
            }
          });
        }
      });
    }
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  if (!have_links) {
    return fail("vultr API response without meta.links (Prometheus v2.45 crashes on it)");
  }
  return page;
}

model::TargetGroup group_from_instances(const std::vector<Instance>& instances, int port) {
  const std::string p = "__meta_vultr_instance_";
  model::TargetGroup group;
  group.source = "Vultr";
  for (const Instance& in : instances) {
    model::Labels& t = group.targets.emplace_back();
    t.set(p + "id", in.id);
    t.set(p + "label", in.label);
    t.set(p + "os", in.os);
    t.set(p + "os_id", std::to_string(in.os_id));
    t.set(p + "region", in.region);
    t.set(p + "plan", in.plan);
    t.set(p + "vcpu_count", std::to_string(in.vcpu_count));
    t.set(p + "ram_mb", std::to_string(in.ram));
    t.set(p + "allowed_bandwidth_gb", std::to_string(in.allowed_bandwidth));
    t.set(p + "disk_gb", std::to_string(in.disk));
    t.set(p + "main_ip", in.main_ip);
    t.set(p + "main_ipv6", in.v6_main_ip);
    t.set(p + "internal_ip", in.internal_ip);
    t.set(p + "hostname", in.hostname);
    t.set(p + "server_status", in.server_status);
    t.set("__address__", util::join_host_port(in.main_ip, std::to_string(port)));
    if (!in.features.empty()) {
      t.set(p + "features", comma_wrapped(in.features));
    }
    if (!in.tags.empty()) {
      t.set(p + "tags", comma_wrapped(in.tags));
    }
  }
  return group;
}

Discovery::Discovery(const Config& config, std::string base_url, std::unique_ptr<net::HttpClient> client)
    : m_port(config.port), m_base_url(origin_of(base_url)),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, std::string base_url) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(base_url), std::move(*client)));
}

Result<std::string> Discovery::get_with_retries(const std::string& url, std::stop_token stop) {
  const net::HttpHeaders headers = {{"Content-Type", "application/json"},
                                    {"Accept", "application/json"},
                                    {"User-Agent", std::string(k_user_agent)}};
  for (int attempt = 0;; ++attempt) {
    Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, stop);
    bool retry = stop.stop_requested() ? false : !response || retryable_status(response->status);
    if (!retry || attempt == k_retry_limit) {
      if (!response) {
        return fail(fmt::format("gave up after {} attempts, last error : {}", attempt + 1, response.error()));
      }
      if (retry) {
        return fail(fmt::format("gave up after {} attempts, last error: {}", attempt + 1,
                                util::go_quote(util::trim_space(response->body))));
      }
      if (response->status < 200 || response->status > 204) {
        return fail(response->body); // govultr: errors.New(string(body))
      }
      return std::move(response->body);
    }
    if (!sleep_for(stop, backoff(attempt, response ? &*response : nullptr))) {
      return fail(fmt::format("gave up after {} attempts, last error : context canceled", attempt + 1));
    }
  }
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  std::vector<Instance> instances;
  std::string cursor;
  while (true) {
    std::string url = m_base_url + "/v2/instances?" +
                      (cursor.empty() ? "" : "cursor=" + util::query_escape(cursor) + "&") + "per_page=100";
    Result<std::string> body = get_with_retries(url, stop);
    if (!body) {
      return fail(body.error());
    }
    Result<InstancesPage> page = parse_instances_page(*body);
    if (!page) {
      return fail(page.error());
    }
    instances.insert(instances.end(), page->instances.begin(), page->instances.end());
    if (page->next.empty()) {
      break;
    }
    cursor = page->next;
  }
  return std::vector<model::TargetGroup>{group_from_instances(instances, m_port)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  auto it = options.endpoints.find("vultr");
  Result<std::unique_ptr<Discovery>> discovery =
      Discovery::make(*this, it == options.endpoints.end() ? std::string(k_default_base_url) : it->second);
  if (!discovery) {
    return fail(discovery.error());
  }
  std::shared_ptr<Discovery> shared = std::move(*discovery);
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      refresh_interval.ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
}

} // namespace sdscope::discovery::vultr
