// Azure clouds and Azure AD / managed-identity tokens for azure_sd, as
// Prometheus v2.45 (discovery/azure/azure.go) obtains them through
// go-autorest: autorest/azure's environment table and adal's
// ServicePrincipalToken (client credentials against the Azure AD v1 token
// endpoint; managed identity against the instance metadata service).
// Azure AD v1 client credentials:
// https://learn.microsoft.com/azure/active-directory/azuread-dev/v1-oauth2-client-creds-grant-flow
// IMDS tokens:
// https://learn.microsoft.com/azure/active-directory/managed-identities-azure-resources/how-to-use-vm-token
#include "discovery/azure_auth.h"

#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::azure {

namespace {

// adal refreshes a token that expires within this many seconds.
constexpr int64_t k_refresh_margin_seconds = 5 * 60;

// adal's User-Agent (go-autorest/adal v0.9.23 as built into v2.45).
constexpr std::string_view k_adal_user_agent = "Go/go1.20.5 (amd64-linux) go-autorest/adal/v0.9.23";

struct NamedEnvironment {
  std::string_view name;
  CloudEnvironment environment;
};

const std::vector<NamedEnvironment>& environments() {
  static const std::vector<NamedEnvironment> table = {
      {"AZURECHINACLOUD", {"https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn/"}},
      {"AZUREGERMANCLOUD", {"https://login.microsoftonline.de/", "https://management.microsoftazure.de/"}},
      {"AZURECLOUD", {"https://login.microsoftonline.com/", "https://management.azure.com/"}},
      {"AZUREPUBLICCLOUD", {"https://login.microsoftonline.com/", "https://management.azure.com/"}},
      {"AZUREUSGOVERNMENT", {"https://login.microsoftonline.us/", "https://management.usgovcloudapi.net/"}},
      {"AZUREUSGOVERNMENTCLOUD", {"https://login.microsoftonline.us/", "https://management.usgovcloudapi.net/"}},
  };
  return table;
}

// url.Values.Encode: keys sorted, keys and values query-escaped.
std::string encode_values(const std::map<std::string, std::string>& values) {
  std::string out;
  for (const auto& [key, value] : values) {
    if (!out.empty()) {
      out += '&';
    }
    out += util::query_escape(key) + "=" + util::query_escape(value);
  }
  return out;
}

// A json.Number-like field: a JSON number or a string holding one.
bool number_field(const Json& v, int64_t& out) {
  try {
    if (v.is_number_integer()) {
      out = v.get<int64_t>();
      return true;
    }
    if (v.is_number_float()) {
      out = go_int64(v.get<double>());
      return true;
    }
    if (v.is_string() && !v.get<std::string>().empty()) {
      size_t used = 0;
      std::string s = v.get<std::string>();
      out = std::stoll(s, &used);
      return used == s.size();
    }
  } catch (const std::exception&) {
  }
  return false;
}

} // namespace

Result<CloudEnvironment> environment_from_name(std::string_view name) {
  std::string upper;
  for (char c : name) {
    upper += c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (upper == "AZURESTACKCLOUD") {
    const char* path = std::getenv("AZURE_ENVIRONMENT_FILEPATH");
    Result<std::string> text = util::os_read_file(path == nullptr ? "" : path);
    if (!text) {
      return fail(text.error());
    }
    Result<Json> json = parse_json(*text, k_unmarshal_eof);
    if (!json) {
      return fail(json.error());
    }
    CloudEnvironment env;
    GoDecoder d;
    if (!json->is_object()) {
      d.mismatch(json_kind(*json), "", "azure.Environment");
    } else {
      for (const auto& [key, value] : json->items()) {
        if (equal_fold(key, "activeDirectoryEndpoint")) {
          d.string(value, env.active_directory, "Environment.activeDirectoryEndpoint");
        } else if (equal_fold(key, "resourceManagerEndpoint")) {
          d.string(value, env.resource_manager, "Environment.resourceManagerEndpoint");
        }
      }
    }
    if (!d.error.empty()) {
      return fail(d.error);
    }
    return env;
  }
  for (const NamedEnvironment& e : environments()) {
    if (e.name == upper) {
      return e.environment;
    }
  }
  return fail(fmt::format("autorest/azure: There is no cloud environment matching the name {}", util::go_quote(upper)));
}

std::string oauth_token_url(std::string_view active_directory, std::string_view tenant_id) {
  std::string reference = fmt::format("{}/oauth2/token?api-version=1.0", tenant_id);
  // Relative resolution: the reference replaces the base path's last segment.
  std::string base(active_directory);
  size_t authority = base.find("://");
  size_t path = base.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (path == std::string::npos) {
    return base + "/" + reference;
  }
  return base.substr(0, base.rfind('/') + 1) + reference;
}

TokenCache::TokenCache(std::unique_ptr<net::HttpClient> client, Clock now)
    : m_client(std::move(client)), m_now(std::move(now)) {}

Result<std::string> TokenCache::token(const TokenRequest& request, const std::string& arm_url,
                                      std::chrono::milliseconds timeout, std::stop_token stop) {
  std::string key = request.token_url + "\n" + request.resource + "\n" + request.client_id;
  if (key == m_key && m_expires_on > m_now() + k_refresh_margin_seconds) {
    return m_token;
  }
  Failure failure;
  if (Result<void> fetched = fetch(request, timeout, std::move(stop), failure); !fetched) {
    return fail(fmt::format("azure.BearerAuthorizer#WithAuthorization: Failed to refresh the Token for request to "
                            "{}: StatusCode={} -- Original Error: {}",
                            arm_url, failure.status, failure.error));
  }
  m_key = std::move(key);
  return m_token;
}

Result<void> TokenCache::fetch(const TokenRequest& request, std::chrono::milliseconds timeout, std::stop_token stop,
                               Failure& failure) {
  auto failed = [&](long status, std::string error) {
    failure.status = status;
    failure.error = std::move(error);
    return fail(failure.error);
  };
  if (request.resource.empty()) {
    return failed(0, "parameter 'resource' cannot be empty");
  }
  net::HttpHeaders headers{{"User-Agent", std::string(k_adal_user_agent)}};
  Result<net::HttpResponse> response;
  std::string url;
  if (request.managed_identity) {
    std::map<std::string, std::string> query{{"api-version", "2018-02-01"}, {"resource", request.resource}};
    if (!request.client_id.empty()) {
      query.emplace("client_id", request.client_id);
    }
    url = request.token_url + "?" + encode_values(query);
    headers.emplace_back("Metadata", "true");
    response = m_client->get(url, headers, timeout, std::move(stop));
  } else {
    url = request.token_url;
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    std::string form = encode_values({{"client_id", request.client_id},
                                      {"client_secret", request.client_secret},
                                      {"grant_type", "client_credentials"},
                                      {"resource", request.resource}});
    response = m_client->post(url, headers, std::move(form), timeout, std::move(stop));
  }
  if (!response) {
    return failed(0, fmt::format("adal: Failed to execute the refresh request. Error = '{}'", response.error()));
  }
  if (response->status != 200) {
    return failed(response->status, fmt::format("adal: Refresh request failed. Status Code = '{}'. Response body: {} "
                                                 "Endpoint {}",
                                                 response->status, response->body, url));
  }
  if (response->body.empty()) {
    return failed(200, "adal: Empty service principal token received during refresh");
  }
  // The body holds the token: never quoted into an error (adal does).
  Result<Json> json = parse_json(response->body, k_unmarshal_eof);
  std::string token;
  int64_t expires_on = 0, expires_in = 0;
  bool has_expires_on = false, has_expires_in = false;
  std::string shape_error;
  if (!json) {
    shape_error = json.error();
  } else if (!json->is_object()) {
    shape_error = fmt::format("json: cannot unmarshal {} into Go value of type adal.Token", json_kind(*json));
  } else {
    for (const auto& [key, value] : json->items()) {
      if (equal_fold(key, "access_token") && value.is_string()) {
        token = value.get<std::string>();
      } else if (equal_fold(key, "expires_on") && !value.is_null()) {
        has_expires_on = number_field(value, expires_on);
        if (!has_expires_on) {
          shape_error = "expires_on is not a number of seconds";
        }
      } else if (equal_fold(key, "expires_in") && !value.is_null()) {
        has_expires_in = number_field(value, expires_in);
      }
    }
  }
  if (!shape_error.empty()) {
    return failed(200, fmt::format("adal: Failed to unmarshal the service principal token during refresh. Error = "
                                   "'{}'",
                                   shape_error));
  }
  if (!has_expires_on) { // ADFS sends only expires_in
    expires_on = has_expires_in ? m_now() + expires_in : 0;
  }
  m_token = std::move(token);
  m_expires_on = expires_on;
  return {};
}

} // namespace sdscope::discovery::azure
