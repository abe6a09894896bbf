// digitalocean_sd: droplets from the DigitalOcean v2 API, as Prometheus
// v2.45 discovery/digitalocean/digitalocean.go lists them through godo
// v1.99; the `role: databases` clusters are 3.12's
// (discovery/digitalocean/digitalocean_db.go). spec/sd-cloud.md §5.
//
// The token is the HTTP client block's only (godo gets none). Requests carry
// godo's headers (Accept and Content-Type application/json, User-Agent
// "Prometheus/2.45.0 godo/1.99.0") and the refresh interval as timeout, as
// v2.45 sets it.
// - droplets: GET v2/droplets, then v2/droplets?page=<n> while
//   links.pages.next is set; n is godo's Links.CurrentPage() + 1 (the page
//   of links.pages.prev plus one, else 1), not the next link itself.
// - databases: GET v2/databases?page=<n>&per_page=100 from page 1 until a
//   page has no clusters.
// A non-2xx fails as godo's ErrorResponse words it, "GET <url>: <status>
// [(request "<id>") ]<message>", wrapped in v2.45's "error while listing
// droplets page <n>: " (n is 0 for the first request: godo's options start
// without a page). API reference:
// https://docs.digitalocean.com/reference/api/api-reference/#operation/droplets_list
#include "discovery/digitalocean.h"

#include <charconv>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::digitalocean {

namespace {

constexpr std::string_view k_user_agent = "Prometheus/2.45.0 godo/1.99.0";
constexpr std::string_view k_droplets_source = "DigitalOcean";
constexpr std::string_view k_databases_source = "DigitalOcean Databases";
constexpr int k_databases_per_page = 100;

constexpr std::string_view k_droplet_id_label = "__meta_digitalocean_droplet_id";
constexpr std::string_view k_droplet_name_label = "__meta_digitalocean_droplet_name";
constexpr std::string_view k_image_label = "__meta_digitalocean_image";
constexpr std::string_view k_image_name_label = "__meta_digitalocean_image_name";
constexpr std::string_view k_private_ipv4_label = "__meta_digitalocean_private_ipv4";
constexpr std::string_view k_public_ipv4_label = "__meta_digitalocean_public_ipv4";
constexpr std::string_view k_public_ipv6_label = "__meta_digitalocean_public_ipv6";
constexpr std::string_view k_region_label = "__meta_digitalocean_region";
constexpr std::string_view k_size_label = "__meta_digitalocean_size";
constexpr std::string_view k_status_label = "__meta_digitalocean_status";
constexpr std::string_view k_features_label = "__meta_digitalocean_features";
constexpr std::string_view k_tags_label = "__meta_digitalocean_tags";
constexpr std::string_view k_vpc_label = "__meta_digitalocean_vpc";

// Role databases (3.12).
constexpr std::string_view k_db_id_label = "__meta_digitalocean_db_id";
constexpr std::string_view k_db_name_label = "__meta_digitalocean_db_name";
constexpr std::string_view k_db_engine_label = "__meta_digitalocean_db_engine";
constexpr std::string_view k_db_version_label = "__meta_digitalocean_db_version";
constexpr std::string_view k_db_status_label = "__meta_digitalocean_db_status";
constexpr std::string_view k_db_region_label = "__meta_digitalocean_db_region";
constexpr std::string_view k_db_size_label = "__meta_digitalocean_db_size";
constexpr std::string_view k_db_num_nodes_label = "__meta_digitalocean_db_num_nodes";
constexpr std::string_view k_db_host_label = "__meta_digitalocean_db_host";
constexpr std::string_view k_db_private_host_label = "__meta_digitalocean_db_private_host";
constexpr std::string_view k_db_tag_prefix = "__meta_digitalocean_db_tag_";

struct Address {
  std::string ip, type;
};
struct Droplet {
  int64_t id = 0;
  std::string name, image_slug, image_name, region_slug, size_slug, status, vpc_uuid;
  std::vector<std::string> features, tags;
  bool has_networks = false;
  std::vector<Address> v4, v6;
};
struct Links {
  bool present = false; // links and links.pages are objects
  std::string prev, next;
};
struct DropletPage {
  std::vector<Droplet> droplets;
  Links links;
};
struct Database {
  std::string id, name, engine, version, status, region, size;
  int64_t num_nodes = 0;
  std::optional<std::string> host, private_host; // set when the object is there
  std::vector<std::string> tags;
};

// Go's decoding into godo's structs; `where` is Go's error context
// "<Struct>.<json path>".
class GodoDecoder {
public:
  GoDecoder d;

  // A nested struct or struct pointer: fn(key, value) per member; false
  // when null.
  template <class Fn> bool object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    return d.object(v, where, "godo." + std::string(type), fn);
  }
  template <class T, class Fn>
  void list(const Json& v, std::vector<T>& out, std::string_view where, std::string_view type, Fn fn) {
    d.list(v, out, where, "godo." + std::string(type), fn);
  }

  void addresses(const Json& v, std::vector<Address>& out, std::string_view version) {
    std::string type = version == "v4" ? "NetworkV4" : "NetworkV6";
    std::string where = type + ".droplets.networks." + std::string(version);
    list(v, out, where, type, [&](const std::string& k, const Json& x, Address& a) {
      if (equal_fold(k, "ip_address")) {
        d.string(x, a.ip, where + ".ip_address");
      } else if (equal_fold(k, "type")) {
        d.string(x, a.type, where + ".type");
      }
    });
  }

  void droplet(const std::string& key, const Json& value, Droplet& out) {
    const std::string where = "Droplet.droplets";
    if (equal_fold(key, "id")) {
      d.integer(value, out.id, where + ".id");
    } else if (equal_fold(key, "name")) {
      d.string(value, out.name, where + ".name");
    } else if (equal_fold(key, "status")) {
      d.string(value, out.status, where + ".status");
    } else if (equal_fold(key, "size_slug")) {
      d.string(value, out.size_slug, where + ".size_slug");
    } else if (equal_fold(key, "vpc_uuid")) {
      d.string(value, out.vpc_uuid, where + ".vpc_uuid");
    } else if (equal_fold(key, "features")) {
      d.string_list(value, out.features, where + ".features");
    } else if (equal_fold(key, "tags")) {
      d.string_list(value, out.tags, where + ".tags");
    } else if (equal_fold(key, "image")) {
      object(value, "Image.droplets.image", "Image", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "slug")) {
          d.string(x, out.image_slug, "Image.droplets.image.slug");
        } else if (equal_fold(k, "name")) {
          d.string(x, out.image_name, "Image.droplets.image.name");
        }
      });
    } else if (equal_fold(key, "region")) {
      object(value, "Region.droplets.region", "Region", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "slug")) {
          d.string(x, out.region_slug, "Region.droplets.region.slug");
        }
      });
    } else if (equal_fold(key, "networks")) {
      out.has_networks = object(value, "Droplet.droplets.networks", "Networks", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "v4")) {
          addresses(x, out.v4, "v4");
        } else if (equal_fold(k, "v6")) {
          addresses(x, out.v6, "v6");
        }
      });
    }
  }

  void links(const Json& v, Links& out) {
    object(v, "dropletsRoot.links", "Links", [&](const std::string& key, const Json& pages) {
      if (!equal_fold(key, "pages")) {
        return;
      }
      out.present = object(pages, "Links.links.pages", "Pages", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "prev")) {
          d.string(x, out.prev, "Pages.links.pages.prev");
        } else if (equal_fold(k, "next")) {
          d.string(x, out.next, "Pages.links.pages.next");
        }
      });
    });
  }

  void connection(const Json& v, std::optional<std::string>& host, std::string_view field) {
    std::string where = "DatabaseConnection.databases." + std::string(field);
    std::string value;
    if (object(v, where, "DatabaseConnection", [&](const std::string& k, const Json& x) {
          if (equal_fold(k, "host")) {
            d.string(x, value, where + ".host");
          }
        })) {
      host = value;
    }
  }

  void database(const std::string& key, const Json& value, Database& out) {
    const std::string where = "Database.databases";
    const std::pair<std::string_view, std::string*> text_fields[] = {
        {"id", &out.id},          {"name", &out.name},     {"engine", &out.engine}, {"version", &out.version},
        {"status", &out.status}, {"region", &out.region}, {"size", &out.size}};
    for (const auto& [name, field] : text_fields) {
      if (equal_fold(key, name)) {
        d.string(value, *field, where + "." + std::string(name));
        return;
      }
    }
    if (equal_fold(key, "num_nodes")) {
      d.integer(value, out.num_nodes, where + ".num_nodes");
    } else if (equal_fold(key, "connection")) {
      connection(value, out.host, "connection");
    } else if (equal_fold(key, "private_connection")) {
      connection(value, out.private_host, "private_connection");
    } else if (equal_fold(key, "tags")) {
      d.string_list(value, out.tags, where + ".tags");
    }
  }
};

// godo decodes with a json.Decoder: an empty body is no error (io.EOF is
// dropped), anything else must be one JSON value of the root's shape.
template <class Fn> Result<void> decode_root(std::string_view body, std::string_view root_type, Fn fn) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return {};
  }
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  GodoDecoder g;
  if (json->is_object()) {
    g.d.fields(*json, [&](const std::string& key, const Json& value) { fn(g, key, value); });
  } else if (!json->is_null()) {
    g.d.mismatch(json_kind(*json), "", "godo." + std::string(root_type));
  }
  if (!g.d.error.empty()) {
    return fail(g.d.error);
  }
  return {};
}

Result<DropletPage> parse_droplets_page(std::string_view body) {
  DropletPage page;
  Result<void> r = decode_root(body, "dropletsRoot", [&](GodoDecoder& g, const std::string& key, const Json& value) {
    if (equal_fold(key, "droplets")) {
      g.list(value, page.droplets, "dropletsRoot.droplets", "Droplet",
             [&](const std::string& k, const Json& x, Droplet& droplet) { g.droplet(k, x, droplet); });
    } else if (equal_fold(key, "links")) {
      g.links(value, page.links);
    }
  });
  if (!r) {
    return fail(r.error());
  }
  return page;
}

Result<std::vector<Database>> parse_databases_page(std::string_view body) {
  std::vector<Database> databases;
  Result<void> r = decode_root(body, "databasesRoot", [&](GodoDecoder& g, const std::string& key, const Json& value) {
    if (equal_fold(key, "databases")) {
      g.list(value, databases, "databasesRoot.databases", "Database",
             [&](const std::string& k, const Json& x, Database& db) { g.database(k, x, db); });
    }
  });
  if (!r) {
    return fail(r.error());
  }
  return databases;
}

// godo's Links.CurrentPage(): the page after links.pages.prev's, else 1;
// fails as url.ParseRequestURI or strconv.Atoi do on a bad prev link.
// (The page listed next is this plus one.)
Result<int> current_page(const Links& links) {
  if (links.prev.empty()) {
    return 1;
  }
  const std::string& prev = links.prev;
  size_t colon = prev.find(':');
  bool has_scheme = colon != std::string::npos && colon > 0 &&
                    prev.find_first_of("/?#") > colon && std::isalpha(static_cast<unsigned char>(prev[0]));
  if (!has_scheme && !util::starts_with(prev, "/")) {
    return fail(fmt::format("parse {}: invalid URI for request", util::go_quote(prev)));
  }
  std::string page;
  if (size_t q = prev.find('?'); q != std::string::npos) {
    for (const std::string& pair : util::split(prev.substr(q + 1), '&')) {
      if (util::starts_with(pair, "page=")) {
        page = pair.substr(5);
        break;
      }
    }
  }
  int value = 0;
  std::string_view digits = page;
  if (!digits.empty() && digits[0] == '+') {
    digits.remove_prefix(1);
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return fail(fmt::format("strconv.Atoi: parsing {}: invalid syntax", util::go_quote(page)));
  }
  return value + 1;
}

std::string first_address(const std::vector<Address>& addresses, std::string_view type) {
  for (const Address& a : addresses) {
    if (a.type == type) {
      return a.ip;
    }
  }
  return "";
}

// A list as one label value, wrapped in the separator at both ends.
std::string wrapped_list(const std::vector<std::string>& items) { return "," + fmt::format("{}", fmt::join(items, ",")) + ","; }

model::TargetGroup group_of_droplets(const std::vector<Droplet>& droplets, int port) {
  model::TargetGroup group;
  group.source = std::string(k_droplets_source);
  for (const Droplet& droplet : droplets) {
    if (!droplet.has_networks || droplet.v4.empty()) {
      continue;
    }
    std::string public_ipv4 = first_address(droplet.v4, "public");
    model::Labels& labels = group.targets.emplace_back();
    labels.set("__address__", util::join_host_port(public_ipv4, std::to_string(port)));
    labels.set(k_droplet_id_label, std::to_string(droplet.id));
    labels.set(k_droplet_name_label, droplet.name);
    labels.set(k_image_label, droplet.image_slug);
    labels.set(k_image_name_label, droplet.image_name);
    labels.set(k_private_ipv4_label, first_address(droplet.v4, "private"));
    labels.set(k_public_ipv4_label, public_ipv4);
    labels.set(k_public_ipv6_label, first_address(droplet.v6, "public"));
    labels.set(k_region_label, droplet.region_slug);
    labels.set(k_size_label, droplet.size_slug);
    labels.set(k_status_label, droplet.status);
    labels.set(k_vpc_label, droplet.vpc_uuid);
    if (!droplet.features.empty()) {
      labels.set(k_features_label, wrapped_list(droplet.features));
    }
    if (!droplet.tags.empty()) {
      labels.set(k_tags_label, wrapped_list(droplet.tags));
    }
  }
  return group;
}

model::TargetGroup group_of_databases(const std::vector<Database>& databases, int port) {
  model::TargetGroup group;
  group.source = std::string(k_databases_source);
  for (const Database& db : databases) {
    model::Labels& labels = group.targets.emplace_back();
    std::string host = db.private_host && !db.private_host->empty() ? *db.private_host : db.host.value_or("");
    if (!host.empty()) {
      labels.set("__address__", util::join_host_port(host, std::to_string(port)));
    }
    labels.set(k_db_id_label, db.id);
    labels.set(k_db_name_label, db.name);
    labels.set(k_db_engine_label, db.engine);
    labels.set(k_db_version_label, db.version);
    labels.set(k_db_status_label, db.status);
    labels.set(k_db_region_label, db.region);
    labels.set(k_db_size_label, db.size);
    labels.set(k_db_num_nodes_label, std::to_string(db.num_nodes));
    if (db.private_host) {
      labels.set(k_db_private_host_label, *db.private_host);
    }
    if (db.host) {
      labels.set(k_db_host_label, *db.host);
    }
    for (const std::string& tag : db.tags) {
      labels.set(std::string(k_db_tag_prefix) + tag, "true"); // not sanitized, as upstream
    }
  }
  return group;
}

// godo's ErrorResponse for a non-2xx answer: the body's `message` (the
// whole body when it is not JSON) and `request_id` (else the x-request-id
// header).
std::string api_error(const std::string& url, const net::HttpResponse& response) {
  std::string message, request_id;
  if (!response.body.empty()) {
    Result<Json> json = parse_json(response.body, k_unmarshal_eof);
    GoDecoder d;
    if (json && json->is_object()) {
      d.fields(*json, [&](const std::string& key, const Json& value) {
        if (equal_fold(key, "message")) {
          d.string(value, message, "ErrorResponse.message");
        } else if (equal_fold(key, "request_id")) {
          d.string(value, request_id, "ErrorResponse.request_id");
        }
      });
    }
    if (!json || (!json->is_object() && !json->is_null()) || !d.error.empty()) {
      message = response.body; // json.Unmarshal failed; godo keeps the raw body
    }
  }
  if (request_id.empty()) {
    request_id = response.header("x-request-id");
  }
  if (!request_id.empty()) {
    return fmt::format("GET {}: {} (request {}) {}", url, response.status, util::go_quote(request_id), message);
  }
  return fmt::format("GET {}: {} {}", url, response.status, message);
}

} // namespace

void Config::validate(yaml::Checker& c) {
  // `role` only exists since 3.12 (the framework notes its use); these are
  // that release's checks, which come before the HTTP client's.
  if (role.empty()) {
    c.error_at("role", "role missing (one of: droplets, databases)");
    return;
  }
  if (role != "droplets" && role != "databases") {
    c.error_at("role", fmt::format("unknown DigitalOcean SD role {}", util::go_quote(role)));
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<model::TargetGroup> droplets_group(std::span<const std::string> pages, int port) {
  std::vector<Droplet> droplets;
  for (const std::string& body : pages) {
    Result<DropletPage> page = parse_droplets_page(body);
    if (!page) {
      return fail(page.error());
    }
    std::move(page->droplets.begin(), page->droplets.end(), std::back_inserter(droplets));
  }
  return group_of_droplets(droplets, port);
}

Result<model::TargetGroup> databases_group(std::span<const std::string> pages, int port) {
  std::vector<Database> databases;
  for (const std::string& body : pages) {
    Result<std::vector<Database>> page = parse_databases_page(body);
    if (!page) {
      return fail(page.error());
    }
    std::move(page->begin(), page->end(), std::back_inserter(databases));
  }
  return group_of_databases(databases, port);
}

Discovery::Discovery(const Config& config, std::string endpoint, std::unique_ptr<net::HttpClient> client)
    : m_endpoint(std::move(endpoint)), m_databases(config.role == "databases"), m_port(config.port),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {
  if (m_endpoint.empty() || m_endpoint.back() != '/') { // godo resolves "v2/..." against it
    m_endpoint += '/';
  }
}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, std::string endpoint) {
  net::HttpClientConfig http = config.http_client;
  http.enable_http2 = false; // v2.45 builds this round tripper WithHTTP2Disabled
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(endpoint), std::move(*client)));
}

Result<std::string> Discovery::get(const std::string& path_and_query, const std::stop_token& stop) {
  std::string url = m_endpoint + path_and_query;
  const net::HttpHeaders headers = {{"Content-Type", "application/json"},
                                    {"Accept", "application/json"},
                                    {"User-Agent", std::string(k_user_agent)}};
  Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, stop);
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status > 299) {
    return fail(api_error(url, *response));
  }
  return std::move(response->body);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh_droplets(const std::stop_token& stop) {
  std::vector<Droplet> droplets;
  int page = 0; // godo's ListOptions start without a page
  while (true) {
    Result<std::string> body = get(page == 0 ? "v2/droplets" : fmt::format("v2/droplets?page={}", page), stop);
    Result<DropletPage> parsed = body ? parse_droplets_page(*body) : fail(body.error());
    if (!parsed) {
      return fail(fmt::format("error while listing droplets page {}: {}", page, parsed.error()));
    }
    std::move(parsed->droplets.begin(), parsed->droplets.end(), std::back_inserter(droplets));
    if (!parsed->links.present || parsed->links.next.empty()) {
      break;
    }
    Result<int> current = current_page(parsed->links);
    if (!current) {
      return fail(current.error());
    }
    page = *current + 1;
  }
  return std::vector<model::TargetGroup>{group_of_droplets(droplets, m_port)};
}

Result<std::vector<model::TargetGroup>> Discovery::refresh_databases(const std::stop_token& stop) {
  std::vector<Database> databases;
  for (int page = 1;; ++page) {
    Result<std::string> body = get(fmt::format("v2/databases?page={}&per_page={}", page, k_databases_per_page), stop);
    Result<std::vector<Database>> parsed = body ? parse_databases_page(*body) : fail(body.error());
    if (!parsed) {
      return fail(fmt::format("error while listing database clusters page {}: {}", page, parsed.error()));
    }
    if (parsed->empty()) {
      break;
    }
    std::move(parsed->begin(), parsed->end(), std::back_inserter(databases));
  }
  return std::vector<model::TargetGroup>{group_of_databases(databases, m_port)};
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  return m_databases ? refresh_databases(stop) : refresh_droplets(stop);
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  auto it = options.endpoints.find(std::string(k_endpoint_key));
  Result<std::unique_ptr<Discovery>> made =
      Discovery::make(*this, it == options.endpoints.end() ? std::string(k_endpoint) : it->second);
  if (!made) {
    return fail(made.error());
  }
  std::shared_ptr<Discovery> shared = std::move(*made);
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      refresh_interval.ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
}

} // namespace sdscope::discovery::digitalocean
