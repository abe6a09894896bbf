// Keystone (OpenStack Identity) authentication for openstack_sd, as
// gophercloud v1 (openstack/client.go, openstack/identity/v3/tokens,
// openstack/identity/v2/tokens, openstack/endpoint_location.go) does it for
// Prometheus v2.45 discovery/openstack/openstack.go.
//
// An identity URL ending in /v3/ or /v2.0/ is used as it is; any other is
// cut before its version segment and asked for its versions (GET, 200 or
// 300), and the best stable one (v3 over v2.0) gives the endpoint. v3:
// POST <identity>auth/tokens -> 201, token in X-Subject-Token, catalog in
// the body. v2.0: POST <identity>tokens -> 200/203, token and catalog in
// the body. Keystone API: https://docs.openstack.org/api-ref/identity/v3/
#include "discovery/openstack_keystone.h"

#include <ctime>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::openstack {

namespace {

std::string with_slash(std::string url) {
  if (url.empty() || url.back() != '/') {
    url += '/';
  }
  return url;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The first "v[0-9.]+/?" in the URL's path (Go's versionRe), or "".
std::string version_segment(std::string_view url) {
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (path == std::string_view::npos) {
    return "";
  }
  size_t end_of_path = url.find_first_of("?#", path);
  std::string_view p = url.substr(path, end_of_path == std::string_view::npos ? std::string_view::npos : end_of_path - path);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != 'v') {
      continue;
    }
    size_t j = i + 1;
    while (j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) != 0 || p[j] == '.')) {
      ++j;
    }
    if (j > i + 1) {
      if (j < p.size() && p[j] == '/') {
        ++j;
      }
      return std::string(p.substr(i, j - i));
    }
  }
  return "";
}

// Go's strings.Replace(s, old, "", -1).
std::string remove_all(std::string s, std::string_view old) {
  for (size_t at = s.find(old); at != std::string::npos; at = s.find(old, at)) {
    s.erase(at, old.size());
  }
  return s;
}

// Keystone's time stamps: 2026-01-02T15:04:05[.frac](Z|+hh:mm).
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t at = static_cast<size_t>(consumed);
  if (at < text.size() && text[at] == '.') {
    ++at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) != 0) {
      ++at;
    }
  }
  long offset = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int hours = 0;
    int minutes = 0;
    if (std::sscanf(text.c_str() + at + 1, "%2d:%2d", &hours, &minutes) != 2) {
      return std::nullopt;
    }
    offset = (text[at] == '+' ? 1 : -1) * (hours * 3600L + minutes * 60L);
  } else if (at >= text.size() || text[at] != 'Z') {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm) - offset);
}

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

std::string string_member(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

} // namespace

Result<AuthOptions> auth_options_from_env(const std::function<std::string(const char*)>& env) {
  AuthOptions o;
  o.identity_endpoint = env("OS_AUTH_URL");
  o.username = env("OS_USERNAME");
  o.userid = env("OS_USERID");
  o.password = env("OS_PASSWORD");
  std::string passcode = env("OS_PASSCODE");
  o.tenant_id = env("OS_TENANT_ID");
  o.tenant_name = env("OS_TENANT_NAME");
  o.domain_id = env("OS_DOMAIN_ID");
  o.domain_name = env("OS_DOMAIN_NAME");
  o.application_credential_id = env("OS_APPLICATION_CREDENTIAL_ID");
  o.application_credential_name = env("OS_APPLICATION_CREDENTIAL_NAME");
  o.application_credential_secret = env("OS_APPLICATION_CREDENTIAL_SECRET");
  // The project spellings win over the tenant ones.
  if (std::string v = env("OS_PROJECT_ID"); !v.empty()) {
    o.tenant_id = v;
  }
  if (std::string v = env("OS_PROJECT_NAME"); !v.empty()) {
    o.tenant_name = v;
  }
  if (o.identity_endpoint.empty()) {
    return fail("Missing environment variable [OS_AUTH_URL]");
  }
  bool app_credential = !o.application_credential_id.empty() || !o.application_credential_name.empty();
  if (o.userid.empty() && o.username.empty() &&
      (o.application_credential_id.empty() && o.application_credential_secret.empty())) {
    return fail("Missing one of the following environment variables [OS_USERID, OS_USERNAME]");
  }
  if (o.password.empty() && passcode.empty() && !app_credential) {
    return fail("Missing one of the following environment variables [OS_PASSWORD, OS_PASSCODE]");
  }
  if (app_credential && o.application_credential_secret.empty()) {
    return fail("Missing environment variable [OS_APPLICATION_CREDENTIAL_SECRET]");
  }
  return o;
}

Result<std::string> v3_token_request(const AuthOptions& o) {
  Json identity;
  bool app_credential = !o.application_credential_id.empty() || !o.application_credential_name.empty();
  if (app_credential) {
    if (o.application_credential_secret.empty()) {
      return fail("You must provide an Application Credential secret");
    }
    Json credential;
    if (!o.application_credential_id.empty()) {
      credential["id"] = o.application_credential_id;
    } else {
      credential["name"] = o.application_credential_name;
      Json user;
      if (!o.userid.empty()) {
        user["id"] = o.userid;
      } else if (!o.username.empty() && !o.domain_id.empty()) {
        user["name"] = o.username;
        user["domain"]["id"] = o.domain_id;
      } else if (!o.username.empty() && !o.domain_name.empty()) {
        user["name"] = o.username;
        user["domain"]["name"] = o.domain_name;
      } else {
        return fail("You must provide exactly one of DomainID or DomainName to authenticate by Username");
      }
      credential["user"] = user;
    }
    credential["secret"] = o.application_credential_secret;
    identity["methods"] = Json::array({"application_credential"});
    identity["application_credential"] = credential;
    return Json{{"auth", {{"identity", identity}}}}.dump();
  }

  if (o.password.empty()) {
    return fail("You must provide a password to authenticate");
  }
  Json user;
  if (!o.username.empty()) {
    if (!o.userid.empty()) {
      return fail("Exactly one of Username and UserID must be provided for password authentication");
    }
    user["name"] = o.username;
    if (!o.domain_id.empty() && !o.domain_name.empty()) {
      return fail("You must provide exactly one of DomainID or DomainName to authenticate by Username");
    }
    if (!o.domain_id.empty()) {
      user["domain"]["id"] = o.domain_id;
    } else if (!o.domain_name.empty()) {
      user["domain"]["name"] = o.domain_name;
    } else {
      return fail("You must provide exactly one of DomainID or DomainName to authenticate by Username");
    }
  } else if (!o.userid.empty()) {
    if (!o.domain_id.empty() || !o.domain_name.empty()) {
      return fail("You may not provide a DomainID or DomainName when authenticating by UserID");
    }
    user["id"] = o.userid;
  } else {
    return fail("Exactly one of Username and UserID must be provided for password authentication");
  }
  user["password"] = o.password;
  identity["methods"] = Json::array({"password"});
  identity["password"]["user"] = user;
  Json auth{{"identity", identity}};

  // gophercloud derives the scope from the tenant fields only.
  if (!o.tenant_id.empty()) {
    auth["scope"]["project"]["id"] = o.tenant_id;
  } else if (!o.tenant_name.empty()) {
    Json project{{"name", o.tenant_name}};
    if (!o.domain_id.empty()) {
      project["domain"]["id"] = o.domain_id;
    } else if (!o.domain_name.empty()) {
      project["domain"]["name"] = o.domain_name;
    } else {
      return fail("You must provide exactly one of DomainID or DomainName in a Scope with ProjectName");
    }
    auth["scope"]["project"] = project;
  }
  return Json{{"auth", auth}}.dump();
}

Result<std::string> v2_token_request(const AuthOptions& o) {
  if (!o.userid.empty()) {
    return fail("UserID is not supported by Keystone v2.0");
  }
  if (o.username.empty() || o.password.empty()) {
    return fail("You must provide a username and a password to authenticate");
  }
  Json auth{{"passwordCredentials", {{"username", o.username}, {"password", o.password}}}};
  if (!o.tenant_id.empty()) {
    auth["tenantId"] = o.tenant_id;
  }
  if (!o.tenant_name.empty()) {
    auth["tenantName"] = o.tenant_name;
  }
  return Json{{"auth", auth}}.dump();
}

Result<Token> parse_v3_token(std::string_view subject_token, std::string_view body) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  const Json* token = member(*json, "token");
  Token t;
  t.id = std::string(subject_token);
  t.version = 3;
  if (token != nullptr) {
    t.expires = parse_time(string_member(*token, "expires_at"));
    if (const Json* catalog = member(*token, "catalog"); catalog != nullptr && catalog->is_array()) {
      t.catalog = *catalog;
    }
  }
  return t;
}

Result<Token> parse_v2_token(std::string_view body) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  const Json* access = member(*json, "access");
  Token t;
  t.version = 2;
  if (access != nullptr) {
    if (const Json* token = member(*access, "token"); token != nullptr) {
      t.id = string_member(*token, "id");
      t.expires = parse_time(string_member(*token, "expires"));
    }
    if (const Json* catalog = member(*access, "serviceCatalog"); catalog != nullptr && catalog->is_array()) {
      t.catalog = *catalog;
    }
  }
  return t;
}

Result<std::string> endpoint_url(const Token& token, std::string_view type, std::string_view region,
                                 std::string_view availability) {
  if (token.catalog.is_array()) {
    for (const Json& entry : token.catalog) {
      const Json* endpoints = member(entry, "endpoints");
      if (string_member(entry, "type") != type || endpoints == nullptr || !endpoints->is_array()) {
        continue;
      }
      for (const Json& endpoint : *endpoints) {
        if (token.version == 3) {
          bool in_region = region.empty() || string_member(endpoint, "region") == region ||
                           string_member(endpoint, "region_id") == region;
          if (string_member(endpoint, "interface") == availability && in_region) {
            return with_slash(string_member(endpoint, "url"));
          }
        } else if (region.empty() || string_member(endpoint, "region") == region) {
          return with_slash(string_member(endpoint, std::string(availability) + "URL"));
        }
      }
    }
  }
  return fail("No suitable endpoint could be found in the service catalog.");
}

std::string unexpected_status_error(std::string_view method, std::string_view url, std::string_view expected,
                                    const net::HttpResponse& response) {
  switch (response.status) {
  case 400:
    return fmt::format("Bad request with: [{} {}], error message: {}", method, url, response.body);
  case 401:
    return "Authentication failed";
  case 403:
    return fmt::format("Request forbidden: [{} {}], error message: {}", method, url, response.body);
  case 404:
    return "Resource not found";
  case 405:
    return "Method not allowed";
  case 408:
    return "The server timed out waiting for the request";
  case 429:
    return "Too many requests have been sent in a given amount of time. Pause requests, wait up to one minute, "
           "and try again.";
  case 500:
    return "Internal Server Error";
  case 503:
    return "The service is currently unable to handle the request due to a temporary overloading or "
           "maintenance. This is a temporary condition. Try again later.";
  default:
    return fmt::format("Expected HTTP response code {} when accessing [{} {}], but got {} instead\n{}", expected,
                       method, url, response.status, response.body);
  }
}

// The versioned identity endpoint (with "/"), asking Keystone for its
// versions when the configured URL names none.
Result<std::string> Keystone::resolve_identity(std::stop_token stop) {
  if (m_version != 0) {
    return m_identity;
  }
  std::string endpoint = with_slash(m_options.identity_endpoint);
  if (ends_with(endpoint, "/v3/") || ends_with(endpoint, "/v2.0/")) {
    m_version = ends_with(endpoint, "/v3/") ? 3 : 2;
    m_identity = endpoint;
    return m_identity;
  }
  std::string base = m_options.identity_endpoint;
  base = base.substr(0, base.find_first_of("?#"));
  if (std::string version = version_segment(base); !version.empty()) {
    base = remove_all(base, version);
  }
  base = with_slash(base);
  Result<net::HttpResponse> response = m_client.get(base, {{"Accept", "application/json"}}, m_timeout, stop);
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200 && response->status != 300) {
    return fail(unexpected_status_error("GET", base, "[200 300]", *response));
  }
  Result<Json> json = parse_json(response->body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  const Json* versions = member(*json, "versions");
  const Json* values = versions != nullptr ? member(*versions, "values") : nullptr;
  int best = 0;
  std::string best_href;
  std::string best_id;
  if (values != nullptr && values->is_array()) {
    for (const Json& value : *values) {
      std::string id = string_member(value, "id");
      std::string status = util::to_lower_ascii(string_member(value, "status"));
      std::string href;
      if (const Json* links = member(value, "links"); links != nullptr && links->is_array()) {
        for (const Json& link : *links) {
          if (string_member(link, "rel") == "self") {
            href = with_slash(string_member(link, "href"));
          }
        }
      }
      int version = id.find("v3") != std::string::npos ? 3 : id.find("v2.0") != std::string::npos ? 2 : 0;
      if (version == 0) {
        continue;
      }
      if (href == endpoint) { // a version matching the configured URL wins
        best = version;
        best_href = href;
        best_id = id;
        break;
      }
      if ((status == "current" || status == "supported" || status == "stable") && version > best) {
        best = version;
        best_href = href;
        best_id = id;
      }
    }
  }
  if (best == 0) {
    return fail(fmt::format("No supported version available from endpoint {}", base));
  }
  if (best_href.empty() || best_href == "/") {
    return fail(fmt::format("Endpoint missing in version {} response from {}", best_id, base));
  }
  m_version = best;
  m_identity = best_href;
  return m_identity;
}

Result<Token> Keystone::authenticate(std::stop_token stop) {
  Result<std::string> identity = resolve_identity(stop);
  if (!identity) {
    return fail(identity.error());
  }
  bool v3 = m_version == 3;
  Result<std::string> body = v3 ? v3_token_request(m_options) : v2_token_request(m_options);
  if (!body) {
    return fail(body.error());
  }
  std::string url = *identity + (v3 ? "auth/tokens" : "tokens");
  net::HttpHeaders headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  Result<net::HttpResponse> response = m_client.post(url, headers, std::move(*body), m_timeout, stop);
  if (!response) {
    return fail(response.error());
  }
  if (v3 && response->status != 201) {
    return fail(unexpected_status_error("POST", url, "[201]", *response));
  }
  if (!v3 && response->status != 200 && response->status != 203) {
    return fail(unexpected_status_error("POST", url, "[200 203]", *response));
  }
  return v3 ? parse_v3_token(response->header("X-Subject-Token"), response->body) : parse_v2_token(response->body);
}

Result<Token> Keystone::token(std::stop_token stop) {
  // A token about to run out is renewed rather than sent.
  if (m_token && m_token->expires &&
      *m_token->expires > std::chrono::system_clock::now() + std::chrono::seconds(10)) {
    return *m_token;
  }
  m_token.reset();
  Result<Token> token = authenticate(std::move(stop));
  if (!token) {
    return fail(token.error());
  }
  m_token = *token;
  return token;
}

} // namespace sdscope::discovery::openstack
