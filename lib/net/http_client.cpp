// The libcurl client behind every HTTP-based SD mechanism. It reproduces
// what prometheus/common v0.44 (config/http_config.go) layers on Go's
// http.Client:
// - auth: basic_auth, authorization (legacy bearer_token* folded into it)
//   or oauth2 client credentials; file-based secrets are re-read and
//   space-trimmed on every request; a caller's own Authorization wins;
// - TLS: the configured CA replaces the system roots, client certificate,
//   server_name for SNI and verification, min/max version (Go's client
//   default minimum is TLS 1.2);
// - proxy: proxy_url (all hosts; with no_proxy, Go's httpproxy rules, which
//   never proxy loopback), proxy_from_environment (HTTP(S)_PROXY, NO_PROXY,
//   read once), proxy_connect_header on CONNECT only;
// - redirects: followed unless follow_redirects is false, Go's limit of 10
//   requests; auth headers go along, as Prometheus's round trippers add them
//   to every hop;
// - no Accept-Encoding (Prometheus disables compression), unless a caller
//   sends "Accept-Encoding: gzip" itself: then a gzip body is decoded;
// - a refused connection fails with Go's "dial tcp <host:port>: connect:
//   connection refused"; other transport errors keep curl's wording;
// - a kept body larger than k_max_body_bytes fails the request (Prometheus
//   reads SD bodies without a limit); an announced Content-Length past it
//   fails before any of the body is read.
// One easy handle and one multi handle per client keep connections alive;
// the multi handle lets a stop request wake a waiting transfer at once.

#include "net/http_client.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include <curl/curl.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "util/os_file.h"
#include "util/base64.h"
#include "util/strings.h"

namespace sdscope::net {

namespace {

using Clock = std::chrono::steady_clock;

// Go's x/oauth2 treats a token as expired this long before its expiry.
constexpr std::chrono::seconds k_oauth2_expiry_delta{10};
// Go's http.Client gives up when the 10th response is still a redirect.
constexpr long k_max_redirects_followed = 9;
// The largest response body kept in memory (512 MiB, counted after gzip
// decoding). No SD API answer comes near it, and parsing a JSON body takes
// several times its size in memory, so a larger body is a fault, not data.
constexpr size_t k_max_body_bytes = size_t{512} << 20;

// x/oauth2's expires_in of a JSON token response: a number, or a string
// holding one, read as json.Number.Int64 (so no fraction or exponent),
// capped at MaxInt32 and kept as an int32.
Result<long long> oauth2_expires_in(const nlohmann::json& value) {
  if (!value.is_number() && !value.is_string()) {
    std::string kind = value.is_boolean() ? "bool" : value.is_array() ? "array" : "object";
    return tl::unexpected("json: cannot unmarshal " + kind + " into Go value of type json.Number");
  }
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (value.is_string()) {
    nlohmann::json number = nlohmann::json::parse(text, nullptr, false);
    if (!number.is_number() || text.find_first_of(" \t\r\n") != std::string::npos) {
      return tl::unexpected("json: invalid number literal, trying to unmarshal " + util::go_quote(value.dump()) +
                            " into Number");
    }
  }
  errno = 0;
  char* end = nullptr;
  long long seconds = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0') {
    return tl::unexpected("strconv.ParseInt: parsing " + util::go_quote(text) + ": invalid syntax");
  }
  if (errno == ERANGE) {
    return tl::unexpected("strconv.ParseInt: parsing " + util::go_quote(text) + ": value out of range");
  }
  return static_cast<int32_t>(std::min<long long>(seconds, INT32_MAX));
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// url.QueryUnescape, lenient: a bad escape is kept as written.
std::string query_unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// url.Values.Encode: sorted by key.
std::string form_encode(const std::map<std::string, std::string>& values) {
  std::string out;
  for (const auto& [key, value] : values) {
    if (!out.empty()) {
      out += '&';
    }
    out += util::query_escape(key) + "=" + util::query_escape(value);
  }
  return out;
}

// The URL as Go's client error shows it: a password becomes "***".
std::string strip_password(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return url;
  }
  size_t authority = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority);
  size_t at = url.rfind('@', authority_end == std::string::npos ? url.size() : authority_end);
  if (at == std::string::npos || at < authority) {
    return url;
  }
  size_t colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at) {
    return url;
  }
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// Replaces every configured secret in an error text.
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.size() < 3) {
      continue; // too short to be told apart from ordinary text
    }
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "<secret>");
    }
  }
  return text;
}

std::string_view standard_status_text(long status) {
  static const std::map<long, std::string_view> k_texts = {
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  auto it = k_texts.find(status);
  return it == k_texts.end() ? std::string_view{} : it->second;
}

bool equal_fold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && util::to_lower_ascii(a) == util::to_lower_ascii(b);
}

bool has_header(const HttpHeaders& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return equal_fold(h.first, name); });
}

struct UrlParts {
  std::string scheme;
  std::string host; // brackets kept for IPv6
  std::string port; // explicit or the scheme's default
  bool explicit_port = false;
};

Result<UrlParts> split_url(const std::string& url) {
  CURLU* handle = curl_url();
  UrlParts parts;
  CURLUcode rc = curl_url_set(handle, CURLUPART_URL, url.c_str(), 0);
  auto take = [&](CURLUPart part, std::string& out, unsigned flags) {
    char* value = nullptr;
    if (curl_url_get(handle, part, &value, flags) == CURLUE_OK && value != nullptr) {
      out = value;
      curl_free(value);
      return true;
    }
    return false;
  };
  if (rc == CURLUE_OK) {
    take(CURLUPART_SCHEME, parts.scheme, 0);
    take(CURLUPART_HOST, parts.host, 0);
    std::string port;
    parts.explicit_port = take(CURLUPART_PORT, port, 0);
    take(CURLUPART_PORT, parts.port, CURLU_DEFAULT_PORT);
  }
  curl_url_cleanup(handle);
  if (rc != CURLUE_OK) {
    return fail("parse \"" + strip_password(url) + "\": " + curl_url_strerror(rc));
  }
  parts.scheme = util::to_lower_ascii(parts.scheme);
  return parts;
}

// Go's httpproxy never proxies these.
bool is_loopback(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  host = util::to_lower_ascii(host);
  return host == "localhost" || host == "::1" || util::starts_with(host, "127.");
}

std::string getenv_any(const char* upper, const char* lower) {
  for (const char* name : {upper, lower}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      return value;
    }
  }
  return "";
}

// The proxy to use for one request, "" for none.
struct ProxyChoice {
  std::string url;
  std::string no_proxy;
};

class ProxyRules {
public:
  explicit ProxyRules(const ProxyConfig& config) {
    if (config.proxy_from_environment) {
      m_from_environment = true;
      m_http = getenv_any("HTTP_PROXY", "http_proxy");
      m_https = getenv_any("HTTPS_PROXY", "https_proxy");
      m_no_proxy = getenv_any("NO_PROXY", "no_proxy");
    } else if (!config.proxy_url.empty()) {
      m_http = m_https = config.proxy_url.text;
      m_no_proxy = config.no_proxy;
      // Without no_proxy, Prometheus uses http.ProxyURL: every host.
      m_all_hosts = config.no_proxy.empty();
    }
    for (const auto& [name, values] : config.proxy_connect_header) {
      for (const Secret& value : values) {
        m_connect_headers.push_back(name + ": " + value.value);
        m_secrets.push_back(value.value);
      }
    }
    m_secrets.push_back(password_of(m_http));
    m_secrets.push_back(password_of(m_https));
  }

  ProxyChoice choose(const UrlParts& url) const {
    std::string proxy = url.scheme == "https" ? m_https : m_http;
    if (proxy.empty() || (!m_all_hosts && is_loopback(url.host))) {
      return {};
    }
    return {proxy, m_all_hosts ? "" : m_no_proxy};
  }
  const std::vector<std::string>& connect_headers() const { return m_connect_headers; }
  const std::vector<std::string>& secrets() const { return m_secrets; }

private:
  static std::string password_of(const std::string& url) {
    std::string stripped = strip_password(url);
    if (stripped == url) {
      return "";
    }
    size_t colon = url.find(':', url.find("://") + 3);
    return url.substr(colon + 1, url.rfind('@') - colon - 1);
  }

  bool m_from_environment = false;
  bool m_all_hosts = false;
  std::string m_http, m_https, m_no_proxy;
  std::vector<std::string> m_connect_headers;
  std::vector<std::string> m_secrets;
};

struct TlsMaterial {
  std::string ca;
  std::string cert;
  std::string key;
};

bool has_pem_block(std::string_view text, std::string_view type_suffix) {
  for (size_t at = text.find("-----BEGIN "); at != std::string_view::npos; at = text.find("-----BEGIN ", at + 1)) {
    size_t end = text.find("-----", at + 11);
    if (end != std::string_view::npos && text.substr(at + 11, end - at - 11).ends_with(type_suffix)) {
      return true;
    }
  }
  return false;
}

// NewTLSConfig's reading and checking of the CA and the client key pair,
// with prometheus/common v0.44's messages.
Result<TlsMaterial> load_tls(const TlsConfig& tls) {
  TlsMaterial material;
  if (!tls.ca.empty()) {
    if (!has_pem_block(tls.ca.value, "CERTIFICATE")) {
      return fail("unable to use inline CA cert");
    }
    material.ca = tls.ca.value;
  } else if (!tls.ca_file.empty()) {
    Result<std::string> data = util::os_read_file(tls.ca_file);
    if (!data) {
      return fail("unable to load specified CA cert " + tls.ca_file + ": " + data.error());
    }
    if (!has_pem_block(*data, "CERTIFICATE")) {
      return fail("unable to use specified CA cert " + tls.ca_file);
    }
    material.ca = std::move(*data);
  }
  bool has_cert = !tls.cert.empty() || !tls.cert_file.empty();
  bool has_key = !tls.key.empty() || !tls.key_file.empty();
  if (!has_cert || !has_key) {
    return material;
  }
  material.cert = tls.cert.value;
  if (!tls.cert_file.empty()) {
    Result<std::string> data = util::os_read_file(tls.cert_file);
    if (!data) {
      return fail("unable to read specified client cert (" + tls.cert_file + "): " + data.error());
    }
    material.cert = std::move(*data);
  }
  material.key = tls.key.value;
  if (!tls.key_file.empty()) {
    Result<std::string> data = util::os_read_file(tls.key_file);
    if (!data) {
      return fail("unable to read specified client key (" + tls.key_file + "): " + data.error());
    }
    material.key = std::move(*data);
  }
  auto unusable = [&](std::string reason) {
    return fail("unable to use specified client cert (" + tls.cert_file + ") & key (" + tls.key_file +
                "): " + std::move(reason));
  };
  if (!has_pem_block(material.cert, "CERTIFICATE")) {
    return unusable("tls: failed to find any PEM data in certificate input");
  }
  if (!has_pem_block(material.key, "PRIVATE KEY")) {
    return unusable("tls: failed to find any PEM data in key input");
  }
  return material;
}

long curl_tls_version(const std::string& name, bool is_max) {
  if (name == "TLS10") {
    return is_max ? long(CURL_SSLVERSION_MAX_TLSv1_0) : long(CURL_SSLVERSION_TLSv1_0);
  }
  if (name == "TLS11") {
    return is_max ? long(CURL_SSLVERSION_MAX_TLSv1_1) : long(CURL_SSLVERSION_TLSv1_1);
  }
  if (name == "TLS12") {
    return is_max ? long(CURL_SSLVERSION_MAX_TLSv1_2) : long(CURL_SSLVERSION_TLSv1_2);
  }
  if (name == "TLS13") {
    return is_max ? long(CURL_SSLVERSION_MAX_TLSv1_3) : long(CURL_SSLVERSION_TLSv1_3);
  }
  return is_max ? long(CURL_SSLVERSION_MAX_DEFAULT) : long(CURL_SSLVERSION_TLSv1_2);
}

class SList {
public:
  SList() = default;
  SList(const SList&) = delete;
  SList& operator=(const SList&) = delete;
  ~SList() { curl_slist_free_all(m_list); }
  void add(const std::string& line) { m_list = curl_slist_append(m_list, line.c_str()); }
  curl_slist* get() const { return m_list; }

private:
  curl_slist* m_list = nullptr;
};

// What the header callback collects; reset at each status line, so it ends
// with the final response's headers.
struct Received {
  bool saw_status = false;
  long code = 0; // of the latest status line
  std::string reason;
  HttpHeaders headers;
  std::string body;
  // Set for stream(): receives 2xx bodies; its false ends the transfer.
  const std::function<bool(std::string_view)>* on_data = nullptr;
  bool consumer_stopped = false;
  bool too_large = false; // the kept body would pass k_max_body_bytes
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* received = static_cast<Received*>(user);
  if (received->on_data != nullptr && received->code >= 200 && received->code < 300) {
    if (!(*received->on_data)(std::string_view(data, size * count))) {
      received->consumer_stopped = true;
      return 0; // curl ends the transfer with CURLE_WRITE_ERROR
    }
    return size * count;
  }
  if (received->body.size() + size * count > k_max_body_bytes) {
    received->too_large = true;
    return 0; // curl ends the transfer with CURLE_WRITE_ERROR
  }
  received->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* received = static_cast<Received*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  if (util::starts_with(line, "HTTP/")) {
    received->saw_status = true;
    received->headers.clear();
    received->reason.clear();
    size_t code = line.find(' ');
    if (code != std::string_view::npos) {
      received->code = std::strtol(std::string(line.substr(code + 1, 3)).c_str(), nullptr, 10);
    }
    size_t reason = code == std::string_view::npos ? code : line.find(' ', code + 1);
    if (reason != std::string_view::npos) {
      received->reason = util::trim_space(line.substr(reason + 1));
    }
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    received->headers.emplace_back(std::string(line.substr(0, colon)), util::trim_space(line.substr(colon + 1)));
  }
  return size * count;
}

// A Secret from inline text or a file re-read on each use.
struct SecretSource {
  std::string inline_value;
  std::string file;
  std::string what; // "basic auth password", for the error text

  bool configured() const { return !inline_value.empty() || !file.empty(); }
  Result<std::string> fetch() const {
    if (file.empty()) {
      return inline_value;
    }
    Result<std::string> data = util::os_read_file(file);
    if (!data) {
      return fail("unable to read " + what + " file " + file + ": " + data.error());
    }
    return util::trim_space(*data);
  }
};

} // namespace

std::string HttpResponse::status_line() const {
  return status_text.empty() ? std::to_string(status) : std::to_string(status) + " " + status_text;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equal_fold(key, name)) {
      return value;
    }
  }
  return "";
}

// golang.org/x/oauth2/clientcredentials as prometheus/common uses it: the
// token is fetched with the oauth2 block's own TLS and proxy settings,
// cached until 10s before it expires, and dropped when the client secret
// (file) changes.
class OAuth2TokenSource {
public:
  OAuth2TokenSource(const OAuth2& config, std::unique_ptr<HttpClient> client)
      : m_config(config), m_client(std::move(client)),
        m_secret{config.client_secret.value, config.client_secret_file, "oauth2 client secret"} {}

  // The Authorization header value; adds the secrets it used to secrets.
  Result<std::string> authorization(std::optional<Clock::time_point> deadline, const std::string& user_agent,
                                    std::stop_token stop, std::vector<std::string>& secrets) {
    std::lock_guard lock(m_mutex);
    Result<std::string> secret = m_secret.fetch();
    if (!secret) {
      return fail(secret.error());
    }
    secrets.push_back(*secret);
    if (*secret != m_last_secret) {
      m_last_secret = *secret;
      m_token.clear();
    }
    if (m_token.empty() || (m_expiry && Clock::now() + k_oauth2_expiry_delta >= *m_expiry)) {
      if (Result<void> fetched = fetch_token(*secret, deadline, user_agent, stop); !fetched) {
        return fail(fetched.error());
      }
    }
    secrets.push_back(m_token);
    return m_type + " " + m_token;
  }

private:
  enum class AuthStyle { unknown, in_header, in_params };

  Result<void> fetch_token(const std::string& secret, std::optional<Clock::time_point> deadline,
                           const std::string& user_agent, std::stop_token stop) {
    std::map<std::string, std::string> form = {{"grant_type", "client_credentials"}};
    if (!m_config.scopes.empty()) {
      std::string scope;
      for (const std::string& s : m_config.scopes) {
        scope += (scope.empty() ? "" : " ") + s;
      }
      form["scope"] = scope;
    }
    for (const auto& [key, value] : m_config.endpoint_params) {
      if (form.contains(key) && key != "grant_type") {
        return tl::unexpected("oauth2: cannot overwrite parameter " + util::go_quote(key));
      }
      form[key] = value;
    }
    AuthStyle style = m_style == AuthStyle::unknown ? AuthStyle::in_header : m_style;
    Result<void> result = request_token(form, secret, style, deadline, user_agent, stop);
    if (!result && m_style == AuthStyle::unknown && !stop.stop_requested()) {
      // The server may want the credentials in the body instead.
      style = AuthStyle::in_params;
      result = request_token(form, secret, style, deadline, user_agent, stop);
    }
    if (result && m_style == AuthStyle::unknown) {
      m_style = style;
    }
    return result;
  }

  Result<void> request_token(std::map<std::string, std::string> form, const std::string& secret, AuthStyle style,
                             std::optional<Clock::time_point> deadline, const std::string& user_agent,
                             std::stop_token stop) {
    HttpHeaders headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    if (!user_agent.empty()) {
      headers.emplace_back("User-Agent", user_agent);
    }
    if (style == AuthStyle::in_header) {
      std::string pair = util::query_escape(m_config.client_id) + ":" + util::query_escape(secret);
      headers.emplace_back("Authorization", "Basic " + util::encode_base64_std(pair));
    } else {
      form["client_id"] = m_config.client_id;
      if (!secret.empty()) {
        form["client_secret"] = secret;
      }
    }
    std::chrono::milliseconds timeout{0};
    if (deadline) {
      timeout = std::max(std::chrono::milliseconds(1),
                         std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()));
    }
    Result<HttpResponse> response = m_client->post(m_config.token_url, headers, form_encode(form), timeout, stop);
    if (!response) {
      return fail(response.error());
    }
    if (response->status < 200 || response->status > 299) {
      return fail("oauth2: cannot fetch token: " + response->status_line() + "\nResponse: " + response->body);
    }
    return parse_token(*response);
  }

  Result<void> parse_token(const HttpResponse& response) {
    std::string media_type = util::to_lower_ascii(util::trim_space(response.content_type.substr(
        0, std::min(response.content_type.size(), response.content_type.find(';')))));
    std::string token, type;
    std::optional<long long> expires_in;
    if (media_type == "application/x-www-form-urlencoded" || media_type == "text/plain") {
      for (const std::string& pair : util::split(response.body, '&')) {
        size_t eq = pair.find('=');
        std::string key = query_unescape(pair.substr(0, eq));
        std::string value = eq == std::string::npos ? "" : query_unescape(pair.substr(eq + 1));
        if (key == "access_token") {
          token = value;
        } else if (key == "token_type") {
          type = value;
        } else if (key == "expires_in" && !value.empty()) {
          expires_in = std::strtoll(value.c_str(), nullptr, 10);
        }
      }
    } else {
      nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
      if (json.is_discarded() || !json.is_object()) {
        return fail("oauth2: cannot parse json: invalid token response");
      }
      if (json.contains("access_token") && json["access_token"].is_string()) {
        token = json["access_token"].get<std::string>();
      }
      if (json.contains("token_type") && json["token_type"].is_string()) {
        type = json["token_type"].get<std::string>();
      }
      if (auto it = json.find("expires_in"); it != json.end() && !it->is_null()) {
        Result<long long> seconds = oauth2_expires_in(*it);
        if (!seconds) {
          return fail("oauth2: cannot parse json: " + seconds.error());
        }
        expires_in = *seconds;
      }
    }
    if (token.empty()) {
      return fail("oauth2: server response missing access_token");
    }
    m_token = token;
    // oauth2.Token.Type(): canonical spelling of the usual types.
    if (type.empty() || equal_fold(type, "bearer")) {
      m_type = "Bearer";
    } else if (equal_fold(type, "mac")) {
      m_type = "MAC";
    } else if (equal_fold(type, "basic")) {
      m_type = "Basic";
    } else {
      m_type = type;
    }
    m_expiry.reset();
    if (expires_in && *expires_in != 0) {
      m_expiry = Clock::now() + std::chrono::seconds(*expires_in);
    }
    return {};
  }

  std::mutex m_mutex;
  OAuth2 m_config;
  std::unique_ptr<HttpClient> m_client;
  SecretSource m_secret;
  std::string m_last_secret;
  std::string m_token, m_type;
  std::optional<Clock::time_point> m_expiry;
  AuthStyle m_style = AuthStyle::unknown;
};

struct HttpClient::Impl {
  struct Request {
    const char* method; // "GET", "HEAD", "POST" or "PUT"
    const std::string& url;
    const HttpHeaders& headers;
    const std::string* body; // null for GET
    std::chrono::milliseconds timeout;
    std::stop_token stop;
    const std::function<bool(std::string_view)>* on_data = nullptr; // stream() only
    std::chrono::milliseconds idle_limit{0};                        // stream() only
  };

  Impl(const HttpClientConfig& config) : m_config(config), m_proxy(config.proxy) {
    m_multi = curl_multi_init();
    m_easy = curl_easy_init();
    // Legacy bearer fields, when validate() has not moved them yet.
    if (!m_config.authorization && (!m_config.bearer_token.empty() || !m_config.bearer_token_file.empty())) {
      m_config.authorization = Authorization{"Bearer", m_config.bearer_token, m_config.bearer_token_file, ""};
    }
    if (m_config.authorization) {
      if (m_config.authorization->type.empty()) {
        m_config.authorization->type = "Bearer";
      }
      m_credentials = {m_config.authorization->credentials.value, m_config.authorization->credentials_file,
                       "authorization credentials"};
    }
    if (m_config.basic_auth) {
      m_password = {m_config.basic_auth->password.value, m_config.basic_auth->password_file, "basic auth password"};
    }
    m_static_secrets = m_proxy.secrets();
    for (const Secret* secret : {&m_config.bearer_token, &m_config.tls_config.key}) {
      m_static_secrets.push_back(secret->value);
    }
    if (m_config.basic_auth) {
      m_static_secrets.push_back(m_config.basic_auth->password.value);
    }
    if (m_config.authorization) {
      m_static_secrets.push_back(m_config.authorization->credentials.value);
    }
    if (m_config.oauth2) {
      m_static_secrets.push_back(m_config.oauth2->client_secret.value);
    }
  }

  ~Impl() {
    curl_easy_cleanup(m_easy);
    curl_multi_cleanup(m_multi);
  }

  Result<HttpResponse> perform(const Request& request) {
    std::vector<std::string> secrets = m_static_secrets;
    std::string_view method = request.method;
    std::string op = method == "GET" ? "Get" : method == "HEAD" ? "Head" : method == "PUT" ? "Put" : "Post";
    auto failure = [&](const std::string& reason) {
      return fail(scrub(op + " " + util::go_quote(strip_password(request.url)) + ": " + reason, secrets));
    };
    if (request.stop.stop_requested()) {
      return failure("context canceled");
    }
    std::optional<Clock::time_point> deadline;
    if (request.timeout.count() > 0) {
      deadline = Clock::now() + request.timeout;
    }
    Result<UrlParts> url = split_url(request.url);
    if (!url) {
      return fail(scrub(url.error(), secrets));
    }
    Result<TlsMaterial> tls = load_tls(m_config.tls_config);
    if (!tls) {
      return failure(tls.error());
    }
    HttpHeaders headers = request.headers;
    if (!has_header(headers, "Authorization")) {
      if (std::string userinfo = userinfo_authorization(request.url); !userinfo.empty()) {
        headers.emplace_back("Authorization", userinfo);
      }
    }
    if (!has_header(headers, "Authorization")) {
      Result<std::optional<std::string>> auth = authorization(deadline, headers, request.stop, secrets);
      if (!auth) {
        return failure(auth.error());
      }
      if (*auth) {
        headers.emplace_back("Authorization", **auth);
        secrets.push_back(**auth);
      }
    }
    std::lock_guard lock(m_mutex);
    return transfer(request, *url, *tls, headers, deadline, failure);
  }

  Result<std::optional<std::string>> authorization(std::optional<Clock::time_point> deadline,
                                                   const HttpHeaders& headers, std::stop_token stop,
                                                   std::vector<std::string>& secrets) {
    if (m_config.authorization) {
      if (!m_credentials.configured()) {
        return std::optional<std::string>{}; // Prometheus sends no header then
      }
      Result<std::string> credentials = m_credentials.fetch();
      if (!credentials) {
        return fail(credentials.error());
      }
      secrets.push_back(*credentials);
      return std::optional<std::string>(m_config.authorization->type + " " + *credentials);
    }
    if (m_config.basic_auth) {
      Result<std::string> password = m_password.fetch();
      if (!password) {
        return fail(password.error());
      }
      secrets.push_back(*password);
      return std::optional<std::string>("Basic " + util::encode_base64_std(m_config.basic_auth->username + ":" + *password));
    }
    if (m_oauth2) {
      std::string user_agent;
      for (const auto& [name, value] : headers) {
        if (equal_fold(name, "User-Agent")) {
          user_agent = value;
        }
      }
      Result<std::string> header = m_oauth2->authorization(deadline, user_agent, stop, secrets);
      if (!header) {
        return fail(header.error());
      }
      return std::optional<std::string>(*header);
    }
    return std::optional<std::string>{};
  }

  template <class Failure>
  Result<HttpResponse> transfer(const Request& request, const UrlParts& url, const TlsMaterial& tls,
                                const HttpHeaders& headers, std::optional<Clock::time_point> deadline,
                                Failure& failure) {
    CURL* easy = m_easy;
    curl_easy_reset(easy); // keeps the connection cache
    char error_buffer[CURL_ERROR_SIZE] = {};
    Received received;
    received.on_data = request.on_data;
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &received);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &received);
    // Refuses an announced Content-Length past the limit up front (not for
    // HEAD, whose length describes a body never sent); on_body checks what
    // actually arrives (chunked or lying servers).
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.method == std::string_view("HEAD") ? 0 : k_max_body_bytes));
    curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    // A PUT is a POST renamed; the handle is reused, so every request sets it.
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method == std::string_view("PUT") ? "PUT" : nullptr);
    if (request.body != nullptr) {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body->size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body->c_str());
    } else if (request.method == std::string_view("HEAD")) {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
    if (!m_unix_socket.empty()) {
      curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, m_unix_socket.c_str());
    }
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) {
        return failure("context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
      }
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    }
    if (request.idle_limit.count() > 0) {
      long seconds = std::max<long>(1, static_cast<long>((request.idle_limit.count() + 999) / 1000));
      curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, seconds);
    }
    if (m_config.follow_redirects) {
      curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(easy, CURLOPT_MAXREDIRS, k_max_redirects_followed);
      // Prometheus adds auth to every hop, whatever its host.
      curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 1L);
    }
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                     m_config.enable_http2 ? long(CURL_HTTP_VERSION_2TLS) : long(CURL_HTTP_VERSION_1_1));

    SList header_list;
    for (const auto& [name, value] : headers) {
      if (equal_fold(name, "Accept-Encoding") && value == "gzip") {
        // A caller that asks for gzip (nomad's API client does) gets the
        // body decoded, as that client does; curl sends the header then.
        curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
        continue;
      }
      header_list.add(value.empty() ? name + ";" : name + ": " + value);
    }
    for (std::string_view unwanted : {"Accept", "Expect"}) {
      if (!has_header(headers, unwanted)) {
        header_list.add(std::string(unwanted) + ":"); // curl's default, which Go does not send
      }
    }

    // server_name: connect to the URL's host but talk TLS (SNI and
    // verification) to server_name, keeping the original Host header.
    std::string effective_url = request.url;
    SList connect_to;
    const std::string& server_name = m_config.tls_config.server_name;
    if (url.scheme == "https" && !server_name.empty() && !equal_fold(server_name, url.host)) {
      if (Result<std::string> rewritten = with_host(request.url, server_name); rewritten) {
        effective_url = *rewritten;
        connect_to.add(server_name + ":" + url.port + ":" + url.host + ":" + url.port);
        if (!has_header(headers, "Host")) {
          header_list.add("Host: " + url.host + (url.explicit_port ? ":" + url.port : ""));
        }
        curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to.get());
      }
    }
    curl_easy_setopt(easy, CURLOPT_URL, effective_url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list.get());

    set_tls(easy, tls);

    ProxyChoice proxy = m_proxy.choose(url);
    SList proxy_headers;
    curl_easy_setopt(easy, CURLOPT_PROXY, proxy.url.c_str()); // "" also turns off curl's own env lookup
    if (!proxy.url.empty()) {
      if (!proxy.no_proxy.empty()) {
        curl_easy_setopt(easy, CURLOPT_NOPROXY, proxy.no_proxy.c_str());
      }
      if (url.scheme == "https") { // Go sends these on CONNECT only
        for (const std::string& line : m_proxy.connect_headers()) {
          proxy_headers.add(line);
        }
        curl_easy_setopt(easy, CURLOPT_HEADEROPT, long(CURLHEADER_SEPARATE));
        curl_easy_setopt(easy, CURLOPT_PROXYHEADER, proxy_headers.get());
      }
    }

    bool cancelled = false;
    CURLcode result = run(easy, request.stop, cancelled);
    if (cancelled) {
      return failure("context canceled");
    }
    if (result == CURLE_OPERATION_TIMEDOUT && request.on_data != nullptr) { // the idle limit
      return failure("stream idle for too long");
    }
    if (result == CURLE_OPERATION_TIMEDOUT) {
      return failure(received.saw_status
                         ? "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
                         : "context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
    }
    if (result == CURLE_WRITE_ERROR && received.consumer_stopped) {
      result = CURLE_OK;
    }
    if ((result == CURLE_WRITE_ERROR && received.too_large) || result == CURLE_FILESIZE_EXCEEDED) {
      return failure("response body exceeds " + std::to_string(k_max_body_bytes) + " bytes");
    }
    if (result == CURLE_COULDNT_CONNECT && proxy.url.empty()) {
      long os_errno = 0;
      curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED) { // Go's wording, which callers (kubernetes watches) look for
        return failure("dial tcp " + util::join_host_port(url.host, url.port) + ": connect: connection refused");
      }
    }
    if (result == CURLE_TOO_MANY_REDIRECTS) {
      return failure("stopped after 10 redirects");
    }
    if (result != CURLE_OK) {
      return failure(error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(result));
    }
    HttpResponse response;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
    response.status_text =
        received.reason.empty() ? std::string(standard_status_text(response.status)) : received.reason;
    response.headers = std::move(received.headers);
    response.content_type = response.header("Content-Type");
    response.body = std::move(received.body);
    return response;
  }

  static Result<std::string> with_host(const std::string& url, const std::string& host) {
    CURLU* handle = curl_url();
    std::string out;
    if (curl_url_set(handle, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_set(handle, CURLUPART_HOST, host.c_str(), 0) == CURLUE_OK) {
      char* value = nullptr;
      if (curl_url_get(handle, CURLUPART_URL, &value, 0) == CURLUE_OK) {
        out = value;
        curl_free(value);
      }
    }
    curl_url_cleanup(handle);
    if (out.empty()) {
      return fail("cannot use server_name " + host);
    }
    return out;
  }

  void set_tls(CURL* easy, const TlsMaterial& tls) {
    const TlsConfig& config = m_config.tls_config;
    curl_easy_setopt(easy, CURLOPT_SSLVERSION,
                     curl_tls_version(config.min_version, false) | curl_tls_version(config.max_version, true));
    if (config.insecure_skip_verify) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!tls.ca.empty()) {
      // The configured CA replaces the system roots, as RootCAs does in Go.
      curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);
      curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
      curl_blob blob{const_cast<char*>(tls.ca.data()), tls.ca.size(), CURL_BLOB_COPY};
      curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!tls.cert.empty()) {
      curl_blob cert{const_cast<char*>(tls.cert.data()), tls.cert.size(), CURL_BLOB_COPY};
      curl_blob key{const_cast<char*>(tls.key.data()), tls.key.size(), CURL_BLOB_COPY};
      curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    }
  }

  // Drives the transfer through the multi handle, so that a stop request
  // can wake the wait instead of waiting for curl's next progress tick.
  CURLcode run(CURL* easy, std::stop_token stop, bool& cancelled) {
    curl_multi_add_handle(m_multi, easy);
    CURLcode result = CURLE_OK;
    {
      std::stop_callback wake(stop, [this] { curl_multi_wakeup(m_multi); });
      int running = 1;
      while (true) {
        CURLMcode rc = curl_multi_perform(m_multi, &running);
        if (rc != CURLM_OK) {
          result = CURLE_FAILED_INIT;
          break;
        }
        if (running == 0) {
          int left = 0;
          while (CURLMsg* message = curl_multi_info_read(m_multi, &left)) {
            if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
              result = message->data.result;
            }
          }
          break;
        }
        if (stop.stop_requested()) {
          cancelled = true;
          break;
        }
        curl_multi_poll(m_multi, nullptr, 0, 1000, nullptr);
      }
    }
    curl_multi_remove_handle(m_multi, easy);
    return result;
  }

  HttpClientConfig m_config;
  ProxyRules m_proxy;
  SecretSource m_credentials;
  SecretSource m_password;
  std::unique_ptr<OAuth2TokenSource> m_oauth2;
  std::vector<std::string> m_static_secrets;
  std::mutex m_mutex;
  std::string m_unix_socket; // guarded by m_mutex
  CURLM* m_multi = nullptr;
  CURL* m_easy = nullptr;
};

namespace {

// url.PathUnescape, lenient (url.Parse has accepted the text already).
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

} // namespace

std::string userinfo_authorization(std::string_view url) {
  size_t authority = url.find("://");
  if (authority == std::string_view::npos) {
    return "";
  }
  authority += 3;
  size_t end = url.find_first_of("/?#", authority);
  std::string_view text = url.substr(authority, end == std::string_view::npos ? end : end - authority);
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) {
    return "";
  }
  std::string_view userinfo = text.substr(0, at);
  size_t colon = userinfo.find(':');
  std::string user = percent_decode(userinfo.substr(0, colon));
  std::string password = colon == std::string_view::npos ? "" : percent_decode(userinfo.substr(colon + 1));
  return "Basic " + util::encode_base64_std(user + ":" + password);
}

Result<std::unique_ptr<HttpClient>> HttpClient::make(const HttpClientConfig& config) {
  init_curl_once();
  const TlsConfig& tls = config.tls_config;
  if (!tls.min_version.empty() && !tls.max_version.empty() &&
      curl_tls_version(tls.max_version, false) < curl_tls_version(tls.min_version, false)) {
    return fail("tls_config.max_version must be greater than or equal to tls_config.min_version if both are "
                "specified");
  }
  // Reading the TLS files now reports a missing CA at construction, as
  // NewClientFromConfig does; they are read again per request.
  if (Result<TlsMaterial> material = load_tls(tls); !material) {
    return fail(material.error());
  }
  auto impl = std::make_unique<Impl>(config);
  if (impl->m_multi == nullptr || impl->m_easy == nullptr) {
    return fail("cannot initialize libcurl");
  }
  if (config.oauth2) {
    const OAuth2& oauth2 = *config.oauth2;
    if (!oauth2.grant_type.empty() && oauth2.grant_type != "client_credentials") {
      return fail("oauth2 grant_type " + util::go_quote(oauth2.grant_type) + " is not supported");
    }
    HttpClientConfig token_client;
    token_client.tls_config = oauth2.tls_config;
    token_client.proxy = oauth2.proxy;
    token_client.enable_http2 = false; // a plain http.Transport in Prometheus
    Result<std::unique_ptr<HttpClient>> client = make(token_client);
    if (!client) {
      return fail(client.error());
    }
    impl->m_oauth2 = std::make_unique<OAuth2TokenSource>(oauth2, std::move(*client));
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::get(const std::string& url, const HttpHeaders& headers,
                                     std::chrono::milliseconds timeout, std::stop_token stop) {
  return m_impl->perform({"GET", url, headers, nullptr, timeout, std::move(stop)});
}

Result<HttpResponse> HttpClient::post(const std::string& url, const HttpHeaders& headers, std::string body,
                                      std::chrono::milliseconds timeout, std::stop_token stop) {
  return m_impl->perform({"POST", url, headers, &body, timeout, std::move(stop)});
}

Result<HttpResponse> HttpClient::put(const std::string& url, const HttpHeaders& headers, std::string body,
                                     std::chrono::milliseconds timeout, std::stop_token stop) {
  return m_impl->perform({"PUT", url, headers, &body, timeout, std::move(stop)});
}

Result<HttpResponse> HttpClient::head(const std::string& url, const HttpHeaders& headers,
                                      std::chrono::milliseconds timeout, std::stop_token stop) {
  return m_impl->perform({"HEAD", url, headers, nullptr, timeout, std::move(stop)});
}

void HttpClient::set_unix_socket(std::string path) {
  std::lock_guard lock(m_impl->m_mutex);
  m_impl->m_unix_socket = std::move(path);
}

Result<HttpResponse> HttpClient::stream(const std::string& url, const HttpHeaders& headers,
                                        const std::function<bool(std::string_view chunk)>& on_data,
                                        std::chrono::milliseconds idle_limit, std::stop_token stop) {
  Impl::Request request{"GET", url, headers, nullptr, std::chrono::milliseconds{0}, std::move(stop)};
  request.on_data = &on_data;
  request.idle_limit = idle_limit;
  return m_impl->perform(request);
}

} // namespace sdscope::net
