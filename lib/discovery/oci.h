#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"
#include "net/jwt.h"

#include <nlohmann/json.hpp>

namespace sdscope::discovery::oci {

// oci_sd_configs (Prometheus 3.14+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "oci";
  static constexpr std::string_view k_go_type = "oci.plain";
  std::string auth = "api_key"; // api_key or instance_principal
  std::string tenancy;
  std::string user;
  std::string fingerprint;
  std::string key_file; // PEM private key
  yaml::Secret key_passphrase;
  std::string key_passphrase_file;
  std::string region;
  std::vector<std::string> compartments; // empty: walk every compartment
  net::HttpClientConfig http_client;
  int port = 80;
  model::Duration refresh_interval = model::Duration::seconds(60);

  template <class V> void fields(V& v) {
    v("auth", auth);
    v("tenancy", tenancy);
    v("user", user);
    v("fingerprint", fingerprint);
    v.path("key_file", key_file);
    v("key_passphrase", key_passphrase);
    v.path("key_passphrase_file", key_passphrase_file);
    v("region", region);
    v("compartments", compartments);
    v.inline_(http_client);
    v("port", port);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer walking the compartments' instances every
  // refresh_interval; fails when the key file cannot be read or parsed.
  // Test hooks in options.endpoints: "oci_identity" and "oci_iaas" replace
  // https://identity.<region>.oraclecloud.com and
  // https://iaas.<region>.oraclecloud.com; for instance_principal,
  // "oci_metadata" replaces http://169.254.169.254 and "oci_auth"
  // https://auth.<region>.oraclecloud.com.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The OCI HTTP request signature (draft-cavage-http-signatures, rsa-sha256)
// of one request: the text signed and the Authorization header value.
// headers: the lower-case header names in signing order with their values;
// "(request-target)" is "<method lower-case> <path?query>".
struct OciSignature {
  std::string signing_string;
  std::string authorization;
};
Result<OciSignature> sign_request(const std::vector<std::pair<std::string, std::string>>& headers,
                                  const std::string& key_id, const net::RsaPrivateKey& key);

// The primary VNIC of an instance, as GET /20160918/vnics/<id> gives it.
struct Vnic {
  std::string id, private_ip, public_ip, hostname_label;
  std::vector<std::string> ipv6_addresses;
};

// The target of one instance (a JSON object of ListInstances) and its
// primary VNIC (pure); nullopt when the instance has no id or
// compartmentId, or the VNIC no address.
std::optional<model::Labels> instance_target(const nlohmann::ordered_json& instance, const Vnic& vnic,
                                             const std::string& tenancy, int port);

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::oci
