#include "net/http_config.h"

#include "util/strings.h"

namespace sdscope::net {

void TlsConfig::validate(yaml::Checker& c) const {
  auto known_version = [](const std::string& v) {
    return v.empty() || v == "TLS10" || v == "TLS11" || v == "TLS12" || v == "TLS13";
  };
  if (!known_version(min_version)) {
    c.error_at("min_version", "unknown TLS version: " + min_version);
  }
  if (!known_version(max_version)) {
    c.error_at("max_version", "unknown TLS version: " + max_version);
  }
  bool has_ca = !ca.empty();
  bool has_cert = !cert.empty() || !cert_file.empty() || !cert_ref.empty();
  bool has_key = !key.empty() || !key_file.empty() || !key_ref.empty();
  if (has_ca && !ca_file.empty()) {
    c.error("at most one of ca and ca_file must be configured");
  } else if (!cert.empty() && !cert_file.empty()) {
    c.error("at most one of cert and cert_file must be configured");
  } else if (!key.empty() && !key_file.empty()) {
    c.error("at most one of key and key_file must be configured");
  } else if (has_cert && !has_key) {
    c.error("exactly one of key or key_file must be configured when a client certificate is configured");
  } else if (has_key && !has_cert) {
    c.error("exactly one of cert or cert_file must be configured when a client key is configured");
  }
}

std::string ProxyConfig::check() const {
  if (!proxy_connect_header.empty() && !proxy_from_environment && proxy_url.empty()) {
    return "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured";
  }
  if (proxy_from_environment && !proxy_url.empty()) {
    return "if proxy_from_environment is configured, proxy_url must not be configured";
  }
  if (proxy_from_environment && !no_proxy.empty()) {
    return "if proxy_from_environment is configured, no_proxy must not be configured";
  }
  if (proxy_url.empty() && !no_proxy.empty()) {
    return "if no_proxy is configured, proxy_url must also be configured";
  }
  return "";
}

void OAuth2::validate(yaml::Checker& c) const {
  if (std::string message = proxy.check(); !message.empty()) {
    c.error(std::move(message));
  }
}

std::string HttpClientConfig::validate() {
  bool bearer = !bearer_token.empty() || !bearer_token_file.empty();
  if (!bearer_token.empty() && !bearer_token_file.empty()) {
    return "at most one of bearer_token & bearer_token_file must be configured";
  }
  if ((basic_auth || oauth2) && bearer) {
    return "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured";
  }
  if (basic_auth && !basic_auth->password.empty() && !basic_auth->password_file.empty()) {
    return "at most one of basic_auth password & password_file must be configured";
  }
  if (authorization) {
    if (bearer) {
      return "authorization is not compatible with bearer_token & bearer_token_file";
    }
    if (!authorization->credentials.empty() && !authorization->credentials_file.empty()) {
      return "at most one of authorization credentials & credentials_file must be configured";
    }
    std::string type = authorization->type;
    size_t b = type.find_first_not_of(" \t\r\n");
    size_t e = type.find_last_not_of(" \t\r\n");
    authorization->type = b == std::string::npos ? "" : type.substr(b, e - b + 1);
    if (authorization->type.empty()) {
      authorization->type = "Bearer";
    }
    if (util::to_lower_ascii(authorization->type) == "basic") {
      return "authorization type cannot be set to \"basic\", use \"basic_auth\" instead";
    }
    if (basic_auth || oauth2) {
      return "at most one of basic_auth, oauth2 & authorization must be configured";
    }
  } else if (bearer) {
    authorization = Authorization{"Bearer", bearer_token, bearer_token_file, ""};
    bearer_token = {};
    bearer_token_file.clear();
  }
  if (oauth2) {
    if (basic_auth) {
      return "at most one of basic_auth, oauth2 & authorization must be configured";
    }
    if (oauth2->client_id.empty()) {
      return "oauth2 client_id must be configured";
    }
    if (oauth2->client_secret.empty() && oauth2->client_secret_file.empty() && oauth2->client_secret_ref.empty() &&
        oauth2->grant_type.empty()) {
      return "either oauth2 client_secret or client_secret_file must be configured";
    }
    if (oauth2->token_url.empty()) {
      return "oauth2 token_url must be configured";
    }
    if (!oauth2->client_secret.empty() && !oauth2->client_secret_file.empty()) {
      return "at most one of oauth2 client_secret & client_secret_file must be configured";
    }
  }
  return proxy.check();
}

bool HttpClientConfig::validate(yaml::Checker& c) {
  std::string message = validate();
  if (message.empty()) {
    return true;
  }
  static constexpr std::string_view k_fields[] = {"bearer_token", "bearer_token_file", "authorization", "oauth2",
                                                  "basic_auth",   "proxy_url",         "no_proxy"};
  for (std::string_view field : k_fields) {
    if (message.find(field) != std::string::npos && c.field(field)) {
      c.error_at(field, message);
      return false;
    }
  }
  c.error(message);
  return false;
}

} // namespace sdscope::net
