// stackit_sd (Prometheus 3.5+): STACKIT IaaS servers of one project
// (discovery/stackit/{stackit,server,types}.go; spec/sd-cloud.md §13).
//
// Each refresh is one GET <endpoint>/v1/projects/<project>/servers?details=true
// with Accept: application/json; the endpoint defaults to
// https://iaas.api.<region>.stackit.cloud. Only 200 is accepted. The HTTP
// client block gives the auth (typically a bearer token) unless a service
// account key is configured: then the STACKIT SDK's key flow
// (core/clients/key_flow.go) signs a JWT {"alg":"RS512","kid":<kid>} with
// claims iss, sub, aud from the key's credentials, a random jti, iat and
// exp=iat+1h, and POSTs grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
// &assertion=<jwt> to https://service-account.api.stackit.cloud/token
// (STACKIT_TOKEN_BASEURL overrides it). The access and refresh tokens it
// returns are JWTs; the access token is reused until its exp passes, then
// renewed with grant_type=refresh_token&assertion=<refresh token> (as the
// SDK sends it) while the refresh token is valid, else by a new JWT.
// The RSA key comes from private_key, private_key_path, the environment
// (STACKIT_PRIVATE_KEY, STACKIT_PRIVATE_KEY_PATH), the credentials file
// (credentials_file_path or ~/.stackit/credentials.json) or the key's own
// credentials.privateKey, in that order.
// IaaS API: https://docs.api.eu01.stackit.cloud/documentation/iaas/version/v1
//
// Every request gets the refresh interval as its timeout, as upstream sets
// it on the HTTP client. The SDK retries 502/503/504 token answers; here the
// refresh fails and the next tick retries.
#include "discovery/stackit.h"

#include <cstdlib>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "model/url.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::stackit {

namespace {

constexpr std::string_view k_source = "stackit";
constexpr std::string_view k_default_token_url = "https://service-account.api.stackit.cloud/token";
constexpr std::string_view k_project_label = "__meta_stackit_project";
constexpr std::string_view k_id_label = "__meta_stackit_id";
constexpr std::string_view k_name_label = "__meta_stackit_name";
constexpr std::string_view k_availability_zone_label = "__meta_stackit_availability_zone";
constexpr std::string_view k_status_label = "__meta_stackit_status";
constexpr std::string_view k_power_status_label = "__meta_stackit_power_status";
constexpr std::string_view k_type_label = "__meta_stackit_type";
constexpr std::string_view k_public_ipv4_label = "__meta_stackit_public_ipv4";
constexpr std::string_view k_private_ipv4_prefix = "__meta_stackit_private_ipv4_";
constexpr std::string_view k_label_prefix = "__meta_stackit_label_";
constexpr std::string_view k_label_present_prefix = "__meta_stackit_labelpresent_";

std::string getenv_string(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The "exp" of a JWT, read without verifying it (as the SDK does); a
// token that is not a JWT fails.
Result<int64_t> jwt_expiry(const std::string& token) {
  std::vector<std::string> parts = util::split(token, '.');
  if (parts.size() != 3) {
    return fail("token is malformed: token contains an invalid number of segments");
  }
  Result<std::string> claims_text = net::decode_base64url(parts[1]);
  if (!claims_text) {
    return fail("token is malformed: could not base64 decode claim");
  }
  Result<Json> claims = parse_json(*claims_text, k_unmarshal_eof);
  if (!claims || !claims->is_object()) {
    return fail("token is malformed: could not JSON decode claim");
  }
  if (!claims->contains("exp") || !(*claims)["exp"].is_number()) {
    return INT64_MAX; // no expiry claim: never expires
  }
  return go_int64((*claims)["exp"].get<double>());
}

// Whether a token needs renewing: none yet, or its exp has passed.
Result<bool> token_expired(const std::string& token) {
  if (token.empty()) {
    return true;
  }
  Result<int64_t> exp = jwt_expiry(token);
  if (!exp) {
    return fail("parse token: " + exp.error());
  }
  return static_cast<int64_t>(std::time(nullptr)) > *exp;
}

std::string random_uuid() {
  std::random_device device;
  std::mt19937_64 random(device());
  uint64_t hi = random(), lo = random();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL; // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                     lo & 0xFFFFFFFFFFFFULL);
}

// A value of the STACKIT credentials file (a flat JSON object), "" when
// the file or the key is missing.
std::string credentials_file_value(const std::string& configured_path, std::string_view key) {
  std::string path = configured_path;
  if (path.empty()) {
    path = getenv_string("HOME") + "/.stackit/credentials.json";
  }
  Result<std::string> text = util::os_read_file(path);
  if (!text) {
    return "";
  }
  Result<Json> json = parse_json(*text, k_unmarshal_eof);
  if (!json || !json->is_object() || !json->contains(key) || !(*json)[std::string(key)].is_string()) {
    return "";
  }
  return (*json)[std::string(key)].get<std::string>();
}

// The RSA key of the key flow, looked up in the SDK's order.
Result<std::string> private_key_of(const Config& config, const Json& key) {
  if (!config.private_key.value.empty()) {
    return config.private_key.value;
  }
  auto read = [](const std::string& path) -> Result<std::string> {
    Result<std::string> text = util::os_read_file(path);
    if (!text) {
      return fail("reading private key: " + text.error());
    }
    return text;
  };
  if (!config.private_key_path.empty()) {
    return read(config.private_key_path);
  }
  if (std::string pem = getenv_string("STACKIT_PRIVATE_KEY"); !pem.empty()) {
    return pem;
  }
  if (std::string path = getenv_string("STACKIT_PRIVATE_KEY_PATH"); !path.empty()) {
    return read(path);
  }
  if (std::string pem = credentials_file_value(config.credentials_file_path, "STACKIT_PRIVATE_KEY"); !pem.empty()) {
    return pem;
  }
  if (std::string path = credentials_file_value(config.credentials_file_path, "STACKIT_PRIVATE_KEY_PATH");
      !path.empty()) {
    return read(path);
  }
  const Json* credentials = key.contains("credentials") ? &key["credentials"] : nullptr;
  if (credentials != nullptr && credentials->is_object() && credentials->contains("privateKey") &&
      (*credentials)["privateKey"].is_string()) {
    return (*credentials)["privateKey"].get<std::string>();
  }
  return fail("configuring key flow: private key cannot be empty");
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (endpoint.empty() && region.empty()) {
    c.error("stackit_sd: endpoint and region missing");
    return;
  }
  if (!endpoint.empty()) {
    model::Url parsed;
    if (std::string message = model::parse_url(endpoint, parsed); !message.empty()) {
      c.error_at("endpoint", fmt::format("stackit_sd: invalid endpoint {}: {}", util::go_quote(endpoint), message));
      return;
    }
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<model::TargetGroup> servers_to_group(std::string_view body, const Config& config) {
  model::TargetGroup group;
  group.source = k_source;
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  if (json->is_null()) {
    return group;
  }
  if (!json->is_object()) {
    return fail(fmt::format("json: cannot unmarshal {} into Go value of type stackit.ServerListResponse",
                            json_kind(*json)));
  }
  GoDecoder d;
  d.fields(*json, [&](const std::string& key, const Json& items) {
    if (!equal_fold(key, "items") || items.is_null()) {
      return;
    }
    if (!items.is_array()) {
      d.mismatch(json_kind(items), "ServerListResponse.items", "[]stackit.Server");
      return;
    }
    group.targets.clear();
    for (const Json& server : items) {
      if (server.is_null()) {
        continue;
      }
      if (!server.is_object()) {
        d.mismatch(json_kind(server), "ServerListResponse.items", "stackit.Server");
        continue;
      }
      model::Labels labels;
      std::string id, name, zone, status, power, machine_type;
      std::map<std::string, std::string> string_labels;
      std::vector<std::pair<std::string, std::string>> private_ips;
      std::string address, public_ip;
      bool has_nics = false;
      d.fields(server, [&](const std::string& k, const Json& v) {
        if (equal_fold(k, "id")) {
          d.string(v, id, "Server.items.id");
        } else if (equal_fold(k, "name")) {
          d.string(v, name, "Server.items.name");
        } else if (equal_fold(k, "availabilityZone")) {
          d.string(v, zone, "Server.items.availabilityZone");
        } else if (equal_fold(k, "status")) {
          d.string(v, status, "Server.items.status");
        } else if (equal_fold(k, "powerStatus")) {
          d.string(v, power, "Server.items.powerStatus");
        } else if (equal_fold(k, "machineType")) {
          d.string(v, machine_type, "Server.items.machineType");
        } else if (equal_fold(k, "labels") && !v.is_null()) {
          if (!v.is_object()) {
            d.mismatch(json_kind(v), "Server.items.labels", "map[string]interface {}");
            return;
          }
          for (const auto& [label, value] : v.items()) {
            if (value.is_string()) {
              string_labels[label] = value.get<std::string>();
            } else {
              string_labels.erase(label);
            }
          }
        } else if (equal_fold(k, "nics")) {
          has_nics = !v.is_null();
          if (!has_nics) {
            return;
          }
          if (!v.is_array()) {
            d.mismatch(json_kind(v), "Server.items.nics", "[]stackit.ServerNetwork");
            return;
          }
          private_ips.clear();
          address.clear();
          public_ip.clear();
          for (const Json& nic : v) {
            std::string network, ipv4, public_v4;
            if (nic.is_object()) {
              d.fields(nic, [&](const std::string& f, const Json& fv) {
                if (equal_fold(f, "networkName")) {
                  d.string(fv, network, "ServerNetwork.items.nics.networkName");
                } else if (equal_fold(f, "ipv4")) {
                  d.string(fv, ipv4, "ServerNetwork.items.nics.ipv4");
                } else if (equal_fold(f, "publicIp")) {
                  d.string(fv, public_v4, "ServerNetwork.items.nics.publicIp");
                }
              });
            } else if (!nic.is_null()) {
              d.mismatch(json_kind(nic), "Server.items.nics", "stackit.ServerNetwork");
            }
            if (!public_v4.empty() && public_ip.empty()) {
              public_ip = public_v4;
              address = public_ip;
            }
            if (!ipv4.empty()) {
              private_ips.emplace_back(std::string(k_private_ipv4_prefix) + util::sanitize_label_name(network), ipv4);
              if (address.empty()) {
                address = ipv4;
              }
            }
          }
        }
      });
      if (!has_nics || address.empty()) {
        continue; // no network interfaces, or no address on them
      }
      labels.set(k_project_label, config.project);
      labels.set(k_id_label, id);
      labels.set(k_name_label, name);
      labels.set(k_availability_zone_label, zone);
      labels.set(k_status_label, status);
      labels.set(k_power_status_label, power);
      labels.set(k_type_label, machine_type);
      for (const auto& [label, ip] : private_ips) {
        labels.set(label, ip);
      }
      if (!public_ip.empty()) {
        labels.set(k_public_ipv4_label, public_ip);
      }
      labels.set("__address__", util::join_host_port(address, std::to_string(static_cast<unsigned>(config.port))));
      for (const auto& [label_key, value] : string_labels) {
        labels.set(std::string(k_label_present_prefix) + util::sanitize_label_name(label_key), "true");
        labels.set(std::string(k_label_prefix) + util::sanitize_label_name(label_key), value);
      }
      group.targets.push_back(std::move(labels));
    }
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return group;
}

Result<std::unique_ptr<KeyFlow>> KeyFlow::make(std::string_view key_json, std::string private_pem,
                                               std::string token_url, std::chrono::milliseconds timeout) {
  std::unique_ptr<KeyFlow> flow(new KeyFlow());
  Result<Json> key = parse_json(key_json, k_unmarshal_eof);
  if (!key || !key->is_object() || !key->contains("credentials") || !(*key)["credentials"].is_object()) {
    return fail("configuring key flow: service account access key cannot be empty");
  }
  const Json& credentials = (*key)["credentials"];
  auto text = [&](const char* name) {
    return credentials.contains(name) && credentials[name].is_string() ? credentials[name].get<std::string>()
                                                                        : std::string();
  };
  flow->m_iss = text("iss");
  flow->m_sub = text("sub");
  flow->m_aud = text("aud");
  flow->m_kid = text("kid");
  Result<net::RsaPrivateKey> rsa = net::RsaPrivateKey::from_pem(private_pem);
  if (!rsa) {
    return fail("configuring key flow: parse private key from PEM file: " + rsa.error());
  }
  flow->m_key = std::make_unique<net::RsaPrivateKey>(std::move(*rsa));
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make({});
  if (!client) {
    return fail(client.error());
  }
  flow->m_client = std::move(*client);
  flow->m_token_url = std::move(token_url);
  flow->m_timeout = timeout;
  return flow;
}

Result<void> KeyFlow::request_token(std::string grant, std::string assertion, std::stop_token stop) {
  std::string body = net::form_encode({{"grant_type", std::move(grant)}, {"assertion", std::move(assertion)}});
  Result<net::HttpResponse> response = m_client->post(
      m_token_url, {{"Content-Type", "application/x-www-form-urlencoded"}}, std::move(body), m_timeout, stop);
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200) {
    return fail(fmt::format("status code {}, Body: {}", response->status, response->body));
  }
  Result<Json> json = parse_json(response->body, k_unmarshal_eof);
  std::string access, refresh;
  if (json && json->is_object()) {
    GoDecoder d;
    d.fields(*json, [&](const std::string& key, const Json& v) {
      if (equal_fold(key, "access_token")) {
        d.string(v, access, "TokenResponseBody.access_token");
      } else if (equal_fold(key, "refresh_token")) {
        d.string(v, refresh, "TokenResponseBody.refresh_token");
      }
    });
    if (!d.error.empty()) {
      json = fail(d.error);
    }
  } else if (json) {
    json = fail(fmt::format("json: cannot unmarshal {} into Go value of type clients.TokenResponseBody",
                            json_kind(*json)));
  }
  if (!json) {
    return fail("unmarshal token response: " + json.error());
  }
  m_access_token = access;
  m_refresh_token = refresh;
  return {};
}

Result<std::string> KeyFlow::authorization(std::stop_token stop) {
  Result<bool> expired = token_expired(m_access_token);
  if (!expired) {
    return fail("check access token is expired: " + expired.error());
  }
  if (*expired) {
    Result<bool> refresh_expired = token_expired(m_refresh_token);
    Result<void> renewed;
    if (!refresh_expired) {
      renewed = fail(refresh_expired.error());
    } else if (!*refresh_expired) {
      renewed = request_token("refresh_token", m_refresh_token, stop);
    } else {
      Json header = {{"alg", "RS512"}, {"kid", m_kid}, {"typ", "JWT"}};
      int64_t now = std::time(nullptr);
      Json claims = {{"aud", m_aud}, {"exp", now + 3600}, {"iat", now},
                     {"iss", m_iss}, {"jti", random_uuid()}, {"sub", m_sub}};
      Result<std::string> jwt = net::sign_jwt(header.dump(), claims.dump(), *m_key, net::RsaHash::sha512);
      renewed = jwt ? request_token("urn:ietf:params:oauth:grant-type:jwt-bearer", *jwt, stop)
                    : Result<void>(fail(jwt.error()));
    }
    if (!renewed) {
      return fail("get new access token: " + renewed.error());
    }
  }
  return "Bearer " + m_access_token;
}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, const DiscovererOptions& options) {
  std::unique_ptr<Discovery> discovery(new Discovery());
  discovery->m_config = config;
  discovery->m_timeout = std::chrono::milliseconds(std::max<int64_t>(config.refresh_interval.ms, 1));
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  discovery->m_client = std::move(*client);
  std::string endpoint = config.endpoint.empty() ? fmt::format("https://iaas.api.{}.stackit.cloud", config.region)
                                                 : config.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') {
    endpoint.pop_back();
  }
  discovery->m_url = fmt::format("{}/v1/projects/{}/servers?details=true", endpoint, config.project);

  if (!config.service_account_key.value.empty() || !config.service_account_key_path.empty()) {
    std::string key_json = config.service_account_key.value;
    if (key_json.empty()) {
      Result<std::string> text = util::os_read_file(config.service_account_key_path);
      if (!text) {
        return fail("setting up authentication: configuring key flow: reading service account key: " + text.error());
      }
      key_json = *text;
    }
    Result<Json> key = parse_json(key_json, k_unmarshal_eof);
    Result<std::string> pem = private_key_of(config, key && key->is_object() ? *key : Json::object());
    if (!pem) {
      return fail("setting up authentication: " + pem.error());
    }
    std::string token_url = getenv_string("STACKIT_TOKEN_BASEURL");
    if (auto it = options.endpoints.find("stackit_token"); it != options.endpoints.end()) {
      token_url = it->second;
    }
    if (token_url.empty()) {
      token_url = k_default_token_url;
    }
    Result<std::unique_ptr<KeyFlow>> flow =
        KeyFlow::make(key_json, std::move(*pem), std::move(token_url), discovery->m_timeout);
    if (!flow) {
      return fail("setting up authentication: " + flow.error());
    }
    discovery->m_key_flow = std::move(*flow);
  }
  return discovery;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  net::HttpHeaders headers = {{"Accept", "application/json"}};
  if (m_key_flow) {
    Result<std::string> authorization = m_key_flow->authorization(stop);
    if (!authorization) { // the SDK's round tripper fails inside client.Do
      return fail(fmt::format("sending request: Get {}: {}", util::go_quote(m_url), authorization.error()));
    }
    headers.emplace_back("Authorization", *authorization);
  }
  Result<net::HttpResponse> response = m_client->get(m_url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail("sending request: " + response.error());
  }
  if (response->status != 200) {
    return fail(fmt::format("unexpected status code {}: {}", response->status, response->body));
  }
  Result<model::TargetGroup> group = servers_to_group(response->body, m_config);
  if (!group) {
    return fail("decoding response: " + group.error());
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, options);
}

} // namespace sdscope::discovery::stackit
