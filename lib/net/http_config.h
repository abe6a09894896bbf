#pragma once

// The HTTP client block of prometheus/common v0.44.0 (config.HTTPClientConfig),
// shared by scrape jobs, most SD mechanisms, alertmanagers and remote
// storage: fields, defaults and the load-time checks with their messages.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/url.h"
#include "yaml/decode.h"

namespace sdscope::net {

using yaml::Secret;

struct TlsConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.TLSConfig";
  Secret ca;
  Secret cert;
  Secret key;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string ca_ref, cert_ref, key_ref; // 2.53
  std::string server_name;
  bool insecure_skip_verify = false;
  std::string min_version;
  std::string max_version;

  template <class V> void fields(V& v) {
    v("ca", ca);
    v("cert", cert);
    v("key", key);
    v.path("ca_file", ca_file);
    v.path("cert_file", cert_file);
    v.path("key_file", key_file);
    v.since("2.53", "ca_ref", ca_ref);
    v.since("2.53", "cert_ref", cert_ref);
    v.since("2.53", "key_ref", key_ref);
    v("server_name", server_name);
    v("insecure_skip_verify", insecure_skip_verify);
    v("min_version", min_version);
    v("max_version", max_version);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const TlsConfig&) const = default;
};

struct BasicAuth {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.BasicAuth";
  std::string username;
  std::string username_file; // 2.49
  std::string username_ref;  // 2.53
  Secret password;
  std::string password_file;
  std::string password_ref; // 2.53

  template <class V> void fields(V& v) {
    v("username", username);
    v.since("2.49", "username_file", username_file);
    v.since("2.53", "username_ref", username_ref);
    v("password", password);
    v.path("password_file", password_file);
    v.since("2.53", "password_ref", password_ref);
  }
  bool operator==(const BasicAuth&) const = default;
};

struct Authorization {
  static constexpr std::string_view k_go_type = "config.Authorization";
  std::string type;
  Secret credentials;
  std::string credentials_file;
  std::string credentials_ref; // 2.53

  template <class V> void fields(V& v) {
    v("type", type);
    v("credentials", credentials);
    v.path("credentials_file", credentials_file);
    v.since("2.53", "credentials_ref", credentials_ref);
  }
  bool operator==(const Authorization&) const = default;
};

// proxy_url, no_proxy, proxy_from_environment, proxy_connect_header.
struct ProxyConfig {
  static constexpr std::string_view k_go_type = "config.ProxyConfig";
  model::Url proxy_url;
  std::string no_proxy;
  bool proxy_from_environment = false;
  std::map<std::string, std::vector<Secret>> proxy_connect_header;

  template <class V> void fields(V& v) {
    v("proxy_url", proxy_url);
    v("no_proxy", no_proxy);
    v("proxy_from_environment", proxy_from_environment);
    v("proxy_connect_header", proxy_connect_header);
  }
  // Returns the first violated rule's message, or "".
  std::string check() const;
  bool operator==(const ProxyConfig&) const = default;
};

struct OAuth2 {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.OAuth2";
  std::string client_id;
  Secret client_secret;
  std::string client_secret_file;
  std::string client_secret_ref; // 2.53
  std::vector<std::string> scopes;
  std::string token_url;
  std::map<std::string, std::string> endpoint_params;
  TlsConfig tls_config;
  ProxyConfig proxy;
  // Added in Prometheus 3.8 (JWT bearer grant).
  std::string grant_type, client_certificate_key_file, client_certificate_key_id, signature_algorithm, iss,
      client_certificate_key_ref;
  Secret client_certificate_key;
  std::string audience;
  std::map<std::string, std::string> claims;

  template <class V> void fields(V& v) {
    v("client_id", client_id);
    v("client_secret", client_secret);
    v.path("client_secret_file", client_secret_file);
    v.since("2.53", "client_secret_ref", client_secret_ref);
    v("scopes", scopes);
    v("token_url", token_url);
    v("endpoint_params", endpoint_params);
    v("tls_config", tls_config);
    v.inline_(proxy);
    v.since("3.8", "grant_type", grant_type);
    v.since("3.8", "client_certificate_key", client_certificate_key);
    v.since("3.8", "client_certificate_key_file", client_certificate_key_file);
    v.since("3.8", "client_certificate_key_ref", client_certificate_key_ref);
    v.since("3.8", "client_certificate_key_id", client_certificate_key_id);
    v.since("3.8", "signature_algorithm", signature_algorithm);
    v.since("3.8", "iss", iss);
    v.since("3.8", "audience", audience);
    v.since("3.8", "claims", claims);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const OAuth2&) const = default;
};

struct HttpClientConfig {
  static constexpr std::string_view k_go_type = "config.HTTPClientConfig";
  yaml::Box<BasicAuth> basic_auth;
  yaml::Box<Authorization> authorization;
  yaml::Box<OAuth2> oauth2;
  Secret bearer_token;
  std::string bearer_token_file;
  TlsConfig tls_config;
  bool follow_redirects = true;
  bool enable_http2 = true;
  ProxyConfig proxy;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> http_headers; // 2.53

  template <class V> void fields(V& v) {
    v("basic_auth", basic_auth);
    v("authorization", authorization);
    v("oauth2", oauth2);
    v("bearer_token", bearer_token);
    v.path("bearer_token_file", bearer_token_file);
    v("tls_config", tls_config);
    v("follow_redirects", follow_redirects);
    v("enable_http2", enable_http2);
    v.inline_(proxy);
    v.since("2.53", "http_headers", http_headers);
  }

  // The checks of HTTPClientConfig.Validate, in their order; also moves the
  // legacy bearer_token fields into authorization, as Prometheus does.
  // Returns the first problem's message, or "".
  std::string validate();
  // Reports validate()'s problem through a Checker, at the offending field;
  // returns whether there was none.
  bool validate(yaml::Checker& c);
  bool operator==(const HttpClientConfig&) const = default;
};

} // namespace sdscope::net
