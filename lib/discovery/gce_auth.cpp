// Application Default Credentials for gce_sd, as golang.org/x/oauth2 v0.8
// (google/default.go, google/google.go, jwt/jwt.go, internal/token.go) and
// cloud.google.com/go/compute/metadata v0.2 do it for Prometheus v2.45.
//
// - service_account file: a JWT {"alg":"RS256","typ":"JWT","kid":<key id>}
//   with claims iss=client_email, scope, aud=token_uri, exp, iat (iat is
//   now-10s, exp iat+1h, as jws.ClaimSet does against clock skew), signed
//   with private_key, POSTed to token_uri (default
//   https://oauth2.googleapis.com/token) as
//   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>.
// - authorized_user file (gcloud auth application-default login): POST
//   token_uri with client_id, client_secret, grant_type=refresh_token and
//   refresh_token; a refresh token in the answer replaces the old one.
// - metadata server: GET http://<GCE_METADATA_HOST or 169.254.169.254>
//   /computeMetadata/v1/instance/service-accounts/default/token?scopes=<scope>
//   with Metadata-Flavor: Google.
// Tokens are reused until 10s before they expire (oauth2.ReuseTokenSource).
// Google OAuth 2.0 for servers: https://developers.google.com/identity/protocols/oauth2/service-account
//
// Deviations: the metadata client of v2.45 retries 5xx answers up to 5
// times; here the refresh fails and the next tick retries. Go decides
// "on GCE" by racing an HTTP probe of 169.254.169.254 against a DNS lookup
// of metadata.google.internal; here the HTTP probe is sent only when the
// machine's DMI names Google or that DNS name resolves to the metadata
// address, so no other machine ever sends traffic to 169.254.169.254.
// Client-secret files ("web"/"installed", a browser flow) and external or
// impersonated accounts are refused at creation with a clear error.
#include "discovery/gce_auth.h"

#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include "discovery/go_json.h"
#include "net/jwt.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::gce {

namespace {

constexpr std::string_view k_jwt_grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view k_adc_docs = "https://developers.google.com/accounts/docs/application-default-credentials";
constexpr std::string_view k_metadata_user_agent = "gcloud-golang/0.1";
// Go's metadata client gives a request 5s in all.
constexpr std::chrono::seconds k_metadata_timeout{5};
constexpr std::chrono::seconds k_probe_timeout{2};
constexpr std::chrono::seconds k_expiry_delta{10};

// The fields of a credentials file that the supported types use.
struct CredentialsFile {
  std::string type, client_email, private_key_id, private_key, token_uri, audience;
  std::string client_id, client_secret, refresh_token;
  bool browser_client = false; // a "web" or "installed" client-secret file
};

Result<CredentialsFile> parse_credentials(std::string_view text) {
  Result<Json> json = parse_json(text, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  CredentialsFile f;
  if (!json->is_object()) {
    return fail(fmt::format("json: cannot unmarshal {} into Go value of type google.credentialsFile", json_kind(*json)));
  }
  for (std::string_view client : {"web", "installed"}) {
    if (json->contains(client) && !(*json)[std::string(client)].is_null()) {
      f.browser_client = true;
    }
  }
  GoDecoder d;
  d.fields(*json, [&](const std::string& key, const Json& v) {
    std::pair<std::string_view, std::string*> k_fields[] = {
        {"type", &f.type},           {"client_email", &f.client_email},   {"private_key_id", &f.private_key_id},
        {"private_key", &f.private_key}, {"token_uri", &f.token_uri},     {"audience", &f.audience},
        {"client_id", &f.client_id}, {"client_secret", &f.client_secret}, {"refresh_token", &f.refresh_token},
    };
    for (auto& [name, out] : k_fields) {
      if (equal_fold(key, name)) {
        d.string(v, *out, fmt::format("credentialsFile.{}", name));
      }
    }
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return f;
}

// oauth2.Token.Type(): the canonical spelling of the common types.
std::string canonical_token_type(const std::string& type) {
  std::string lower = util::to_lower_ascii(type);
  if (type.empty() || lower == "bearer") {
    return "Bearer";
  }
  if (lower == "mac") {
    return "MAC";
  }
  if (lower == "basic") {
    return "Basic";
  }
  return type;
}

// An expires_in as Go reads it into an int64 (json.Unmarshal) or a
// json.Number (internal.tokenJSON: a number or a numeric string).
Result<int64_t> expires_in_of(const Json& v, bool number_or_string) {
  if (v.is_null()) {
    return 0;
  }
  if (v.is_number_integer()) {
    return v.get<int64_t>();
  }
  if (number_or_string && v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end != nullptr && *end == '\0') {
      return n;
    }
  }
  return fail(fmt::format("json: cannot unmarshal {} into Go struct field .expires_in of type int64", json_kind(v)));
}

bool dns_names_metadata_server() {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  if (getaddrinfo("metadata.google.internal.", nullptr, &hints, &found) != 0) {
    return false;
  }
  bool match = false;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[64] = {};
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0 &&
        std::string_view(text) == k_default_metadata_host) {
      match = true;
    }
  }
  freeaddrinfo(found);
  return match;
}

// metadata.OnGCE: GCE_METADATA_HOST set, or the server answers with
// Metadata-Flavor: Google.
bool on_gce(const AdcEnvironment& env, const std::string& metadata_base, std::stop_token stop) {
  if (!env.getenv("GCE_METADATA_HOST").empty()) {
    return true;
  }
  if (env.metadata_url_override.empty() && !env.system_suggests_gce() && !dns_names_metadata_server()) {
    return false;
  }
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make({});
  if (!client) {
    return false;
  }
  Result<net::HttpResponse> response =
      (*client)->get(metadata_base + "/", {{"User-Agent", std::string(k_metadata_user_agent)}},
                     std::chrono::duration_cast<std::chrono::milliseconds>(k_probe_timeout), stop);
  return response && response->header("Metadata-Flavor") == "Google";
}

} // namespace

AdcEnvironment AdcEnvironment::process() {
  AdcEnvironment env;
  env.getenv = [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return std::string(value != nullptr ? value : "");
  };
  // Go's guessUnixHomeDir: $HOME, else the user database.
  env.home = [] {
    if (const char* home_dir = std::getenv("HOME"); home_dir != nullptr && *home_dir != '\0') {
      return std::string(home_dir);
    }
    const passwd* pw = getpwuid(getuid());
    return std::string(pw != nullptr && pw->pw_dir != nullptr ? pw->pw_dir : "");
  };
  env.system_suggests_gce = [] {
    Result<std::string> name = util::os_read_file("/sys/class/dmi/id/product_name");
    if (!name) {
      return false;
    }
    std::string product = util::trim_space(*name);
    return product == "Google" || product == "Google Compute Engine";
  };
  return env;
}

Result<std::unique_ptr<AccessTokens>> AccessTokens::find(const AdcEnvironment& env, std::string scope,
                                                        std::chrono::milliseconds timeout, std::stop_token stop) {
  std::unique_ptr<AccessTokens> tokens(new AccessTokens());
  tokens->m_scope = std::move(scope);
  tokens->m_timeout = timeout;
  const std::string default_token_url =
      env.token_url_override.empty() ? std::string(k_default_token_url) : env.token_url_override;

  // A credentials file: the type decides the token source.
  auto from_file = [&](const std::string& text) -> Result<void> {
    Result<CredentialsFile> f = parse_credentials(text);
    if (!f) {
      return fail(f.error());
    }
    if (f->browser_client) {
      return fail("client secret files (\"web\", \"installed\") need a browser sign-in; use a service account key "
                  "or gcloud's application default credentials");
    }
    if (f->type == "service_account") {
      tokens->m_kind = f->type;
      tokens->m_client_email = f->client_email;
      tokens->m_private_key = f->private_key;
      tokens->m_private_key_id = f->private_key_id;
      tokens->m_audience = f->audience;
      tokens->m_token_url = f->token_uri.empty() ? default_token_url : f->token_uri;
      return {};
    }
    if (f->type == "authorized_user") {
      tokens->m_kind = f->type;
      tokens->m_client_id = f->client_id;
      tokens->m_client_secret = f->client_secret;
      tokens->m_refresh_token = f->refresh_token;
      tokens->m_token_url = f->token_uri.empty() ? default_token_url : f->token_uri;
      return {};
    }
    if (f->type.empty()) {
      return fail("missing 'type' field in credentials");
    }
    if (f->type == "external_account" || f->type == "external_account_authorized_user" ||
        f->type == "impersonated_service_account") {
      return fail(fmt::format("credential type {} is not supported by sdscope", util::go_quote(f->type)));
    }
    return fail(fmt::format("unknown credential type: {}", util::go_quote(f->type)));
  };

  if (std::string path = env.getenv("GOOGLE_APPLICATION_CREDENTIALS"); !path.empty()) {
    Result<std::string> text = util::os_read_file(path);
    Result<void> made = text ? from_file(*text) : fail(text.error());
    if (!made) {
      return fail(fmt::format("google: error getting credentials using GOOGLE_APPLICATION_CREDENTIALS environment "
                              "variable: {}",
                              made.error()));
    }
    return tokens;
  }

  std::string well_known = env.home() + "/.config/gcloud/application_default_credentials.json";
  if (Result<std::string> text = util::os_read_file(well_known); text) {
    if (Result<void> made = from_file(*text); !made) {
      return fail(fmt::format("google: error getting credentials using well-known file ({}): {}", well_known,
                              made.error()));
    }
    return tokens;
  } else if (util::os_stat_error(well_known).empty()) { // there, but unreadable
    return fail(fmt::format("google: error getting credentials using well-known file ({}): {}", well_known,
                            text.error()));
  }

  std::string metadata_base = env.metadata_url_override;
  if (metadata_base.empty()) {
    std::string host = env.getenv("GCE_METADATA_HOST");
    metadata_base = "http://" + (host.empty() ? std::string(k_default_metadata_host) : host);
  }
  if (on_gce(env, metadata_base, stop)) {
    tokens->m_kind = "metadata";
    tokens->m_metadata_base = metadata_base;
    return tokens;
  }
  return fail(fmt::format("google: could not find default credentials. See {} for more information.", k_adc_docs));
}

Result<std::string> AccessTokens::authorization(net::HttpClient& client, std::stop_token stop) {
  bool expired = m_expiry && *m_expiry - k_expiry_delta < now();
  if (m_access_token.empty() || expired) {
    m_access_token.clear();
    if (Result<void> fetched = fetch(client, std::move(stop)); !fetched) {
      return fail(fetched.error());
    }
  }
  return canonical_token_type(m_token_type) + " " + m_access_token;
}

Result<void> AccessTokens::fetch(net::HttpClient& client, std::stop_token stop) {
  if (m_kind == "service_account") {
    return fetch_service_account(client, std::move(stop));
  }
  if (m_kind == "authorized_user") {
    return fetch_authorized_user(client, std::move(stop));
  }
  return fetch_metadata(client, std::move(stop));
}

Result<void> AccessTokens::fetch_service_account(net::HttpClient& client, std::stop_token stop) {
  // The key is parsed per fetch, as x/oauth2's jwt source does: a bad key
  // fails every refresh, not the discoverer's creation.
  Result<net::RsaPrivateKey> key = net::RsaPrivateKey::from_pem(m_private_key);
  if (!key) {
    return fail("private key should be a PEM or plain PKCS1 or PKCS8; parse error: " + key.error());
  }
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!m_private_key_id.empty()) {
    header["kid"] = m_private_key_id;
  }
  int64_t iat = static_cast<int64_t>(std::time(nullptr)) - 10;
  Json claims = {{"iss", m_client_email}};
  if (!m_scope.empty()) {
    claims["scope"] = m_scope;
  }
  claims["aud"] = m_audience.empty() ? m_token_url : m_audience;
  claims["exp"] = iat + 3600;
  claims["iat"] = iat;
  Result<std::string> jwt = net::sign_jwt(header.dump(), claims.dump(), *key, net::RsaHash::sha256);
  if (!jwt) {
    return fail(jwt.error());
  }
  std::string body = net::form_encode({{"grant_type", std::string(k_jwt_grant_type)}, {"assertion", *jwt}});
  Result<net::HttpResponse> response = client.post(
      m_token_url, {{"Content-Type", "application/x-www-form-urlencoded"}}, std::move(body), m_timeout, stop);
  if (!response) {
    return fail("oauth2: cannot fetch token: " + response.error());
  }
  return take_token_json(*response, true);
}

Result<void> AccessTokens::fetch_authorized_user(net::HttpClient& client, std::stop_token stop) {
  std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "refresh_token"},
                                                           {"refresh_token", m_refresh_token}};
  if (!m_client_id.empty()) {
    form.emplace_back("client_id", m_client_id);
  }
  if (!m_client_secret.empty()) {
    form.emplace_back("client_secret", m_client_secret);
  }
  Result<net::HttpResponse> response =
      client.post(m_token_url, {{"Content-Type", "application/x-www-form-urlencoded"}}, net::form_encode(form),
                  m_timeout, stop);
  if (!response) {
    return fail("oauth2: cannot fetch token: " + response.error());
  }
  return take_token_json(*response, false);
}

// The token answer of a token endpoint: x/oauth2's jwt source (jwt_flow)
// reads JSON only; internal.RetrieveToken also takes a form-encoded body.
Result<void> AccessTokens::take_token_json(const net::HttpResponse& response, bool jwt_flow) {
  if (response.status < 200 || response.status > 299) {
    return fail("oauth2: cannot fetch token: " + response.status_line() + "\nResponse: " + response.body);
  }
  std::string media_type = util::to_lower_ascii(util::trim_space(response.content_type.substr(
      0, std::min(response.content_type.size(), response.content_type.find(';')))));
  std::string access_token, token_type, refresh_token;
  int64_t expires_in = 0;
  if (!jwt_flow && (media_type == "application/x-www-form-urlencoded" || media_type == "text/plain")) {
    for (const std::string& pair : util::split(response.body, '&')) {
      size_t eq = pair.find('=');
      std::string key = pair.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      if (key == "access_token") {
        access_token = value;
      } else if (key == "token_type") {
        token_type = value;
      } else if (key == "refresh_token") {
        refresh_token = value;
      } else if (key == "expires_in") {
        expires_in = std::strtoll(value.c_str(), nullptr, 10);
      }
    }
  } else {
    std::string_view prefix = jwt_flow ? "oauth2: cannot fetch token: " : "oauth2: cannot parse json: ";
    Result<Json> json = parse_json(response.body, k_unmarshal_eof);
    if (!json) {
      return fail(std::string(prefix) + json.error());
    }
    if (!json->is_object()) {
      return fail(fmt::format("{}json: cannot unmarshal {} into Go value of type struct", prefix, json_kind(*json)));
    }
    GoDecoder d;
    d.fields(*json, [&](const std::string& key, const Json& v) {
      if (equal_fold(key, "access_token")) {
        d.string(v, access_token, ".access_token");
      } else if (equal_fold(key, "token_type")) {
        d.string(v, token_type, ".token_type");
      } else if (equal_fold(key, "refresh_token")) {
        d.string(v, refresh_token, ".refresh_token");
      } else if (equal_fold(key, "expires_in")) {
        Result<int64_t> n = expires_in_of(v, !jwt_flow);
        if (!n && d.error.empty()) {
          d.error = n.error();
        }
        expires_in = n.value_or(0);
      }
    });
    if (!d.error.empty()) {
      return fail(std::string(prefix) + d.error);
    }
  }
  if (!jwt_flow && access_token.empty()) {
    return fail("oauth2: server response missing access_token");
  }
  m_access_token = access_token;
  m_token_type = token_type;
  if (!refresh_token.empty()) {
    m_refresh_token = refresh_token;
  }
  m_expiry.reset();
  if (expires_in > 0 || (!jwt_flow && expires_in != 0)) {
    m_expiry = now() + std::chrono::seconds(expires_in);
  }
  return {};
}

Result<void> AccessTokens::fetch_metadata(net::HttpClient& client, std::stop_token stop) {
  std::string suffix = "instance/service-accounts/default/token";
  if (!m_scope.empty()) {
    suffix += "?scopes=" + util::query_escape(m_scope);
  }
  Result<net::HttpResponse> response =
      client.get(m_metadata_base + "/computeMetadata/v1/" + suffix,
                 {{"Metadata-Flavor", "Google"}, {"User-Agent", std::string(k_metadata_user_agent)}},
                 std::min(m_timeout, std::chrono::duration_cast<std::chrono::milliseconds>(k_metadata_timeout)), stop);
  if (!response) {
    return fail(response.error());
  }
  if (response->status == 404) {
    return fail(fmt::format("metadata: GCE metadata {} not defined", util::go_quote(suffix)));
  }
  if (response->status != 200) {
    return fail(fmt::format("compute: Received {} `{}`", response->status, response->body));
  }
  Result<Json> json = parse_json(response->body, k_decoder_eof);
  std::string access_token, token_type;
  int64_t expires_in = 0;
  if (json && json->is_object()) {
    GoDecoder d;
    d.fields(*json, [&](const std::string& key, const Json& v) {
      if (equal_fold(key, "access_token")) {
        d.string(v, access_token, ".access_token");
      } else if (equal_fold(key, "token_type")) {
        d.string(v, token_type, ".token_type");
      } else if (equal_fold(key, "expires_in")) {
        Result<int64_t> n = expires_in_of(v, false);
        if (!n && d.error.empty()) {
          d.error = n.error();
        }
        expires_in = n.value_or(0);
      }
    });
    if (!d.error.empty()) {
      json = fail(d.error);
    }
  } else if (json) {
    json = fail(fmt::format("json: cannot unmarshal {} into Go value of type struct", json_kind(*json)));
  }
  if (!json) {
    return fail("oauth2/google: invalid token JSON from metadata: " + json.error());
  }
  if (expires_in == 0 || access_token.empty()) {
    return fail("oauth2/google: incomplete token received from metadata");
  }
  m_access_token = access_token;
  m_token_type = token_type;
  m_expiry = now() + std::chrono::seconds(expires_in);
  return {};
}

} // namespace sdscope::discovery::gce
