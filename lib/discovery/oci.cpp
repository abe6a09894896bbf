// oci_sd (Prometheus 3.14+): Oracle Cloud Infrastructure compute instances
// (discovery/oci/oci.go; spec/sd-cloud.md §15).
//
// Each refresh: the compartments (the configured list, or a breadth-first
// walk from the tenancy through GET identity /20160918/compartments with
// accessLevel=ACCESSIBLE, compartmentIdInSubtree=false, limit=100, following
// ACTIVE children; a failing listing skips that subtree), then per
// compartment GET iaas /20160918/instances (an error fails the refresh), per
// instance GET iaas /20160918/vnicAttachments and, for each ATTACHED
// attachment in order, GET iaas /20160918/vnics/<id> until the primary VNIC
// (errors there only skip the instance). Lists page with the opc-next-page
// header into the next request's page parameter. Queries are written sorted,
// as Go's url.Values does. One group, Source "OCI".
// Every request is signed as the OCI SDK signs it (api_key auth): headers
// date (RFC 1123, GMT), (request-target) and host, RSA-SHA256 with key_file
// (decrypted with the passphrase), keyId <tenancy>/<user>/<fingerprint>.
// API: https://docs.oracle.com/en-us/iaas/api/#/en/iaas/20160918/
// Signatures: https://docs.oracle.com/en-us/iaas/Content/API/Concepts/signingrequests.htm
//
// Auth "instance_principal": the instance metadata service
// (http://169.254.169.254/opc/v2, "Authorization: Bearer Oracle") gives the
// instance's leaf certificate, its key and the intermediate certificate;
// the tenancy is the leaf's "opc-tenant:" OU (or "opc-identity:" O). A
// session RSA key is made, and POST https://auth.<region>.oraclecloud.com
// /v1/x509 with {"certificate","publicKey","intermediateCertificates"}
// (base64 DER), signed with the leaf key as <tenancy>/fed-x509/<SHA-1
// fingerprint> over date, (request-target), host, content-length,
// content-type and x-content-sha256, returns a security token (a JWT). API
// calls are then signed with the session key as ST$<token>; the token is
// reused until its exp.
// Deviations: the SDK retries 429/5xx answers and rate-limits
// itself; here a failed call fails (or skips) as described and the next
// tick retries. Each request gets the refresh interval as its timeout.
#include "discovery/oci.h"

#include <algorithm>
#include <ctime>
#include <deque>
#include <iterator>
#include <set>

#include <openssl/evp.h>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "model/url.h"
#include "net/http_client.h"
#include "util/base64.h"
#include "util/go_format.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::oci {

namespace {

constexpr std::string_view k_source = "OCI";
constexpr std::string_view k_api_version = "/20160918";
constexpr std::string_view k_prefix = "__meta_oci_";
constexpr std::string_view k_tag_prefix = "__meta_oci_tag_";
constexpr std::string_view k_defined_tag_prefix = "__meta_oci_defined_tag_";

std::string text_of(const Json& object, const char* name) {
  return object.contains(name) && object[name].is_string() ? object[name].get<std::string>() : std::string();
}

// RFC 1123 in GMT, as Go's http.TimeFormat.
std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text;
}

// The host[:port] of a URL as the Host header carries it.
std::string host_of(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The path and query of a URL.
std::string target_of(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t slash = url.find('/', start);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

} // namespace

Result<OciSignature> sign_request(const std::vector<std::pair<std::string, std::string>>& headers,
                                  const std::string& key_id, const net::RsaPrivateKey& key) {
  OciSignature out;
  std::string names;
  for (const auto& [name, value] : headers) {
    out.signing_string += (out.signing_string.empty() ? "" : "\n") + name + ": " + value;
    names += (names.empty() ? "" : " ") + name;
  }
  Result<std::string> signature = key.sign(out.signing_string, net::RsaHash::sha256);
  if (!signature) {
    return fail(signature.error());
  }
  out.authorization = fmt::format(
      R"(Signature version="1",headers="{}",keyId="{}",algorithm="rsa-sha256",signature="{}")", names, key_id,
      util::encode_base64_std(*signature));
  return out;
}

std::optional<model::Labels> instance_target(const Json& instance, const Vnic& vnic, const std::string& tenancy,
                                             int port) {
  std::string id = text_of(instance, "id");
  std::string compartment = text_of(instance, "compartmentId");
  if (id.empty() || compartment.empty()) {
    return std::nullopt;
  }
  std::vector<std::string> ipv6 = vnic.ipv6_addresses;
  std::sort(ipv6.begin(), ipv6.end());
  std::string address = !vnic.private_ip.empty() ? vnic.private_ip
                        : !vnic.public_ip.empty() ? vnic.public_ip
                        : !ipv6.empty()           ? ipv6.front()
                                                  : "";
  if (address.empty()) {
    return std::nullopt;
  }
  model::Labels labels;
  auto set = [&](std::string_view key, const std::string& value) { labels.set(std::string(k_prefix) + std::string(key), value); };
  set("instance_id", id);
  set("instance_name", text_of(instance, "displayName"));
  set("instance_state", text_of(instance, "lifecycleState"));
  set("instance_shape", text_of(instance, "shape"));
  set("availability_domain", text_of(instance, "availabilityDomain"));
  set("fault_domain", text_of(instance, "faultDomain"));
  set("region", text_of(instance, "region"));
  set("tenancy_id", tenancy);
  set("compartment_id", compartment);
  set("image_id", text_of(instance, "imageId"));
  set("vnic_id", vnic.id);
  set("private_ip", vnic.private_ip);
  set("public_ip", vnic.public_ip);
  set("hostname_label", vnic.hostname_label);
  std::string joined;
  for (const std::string& ip : ipv6) {
    joined += "," + ip;
  }
  set("ipv6_addresses", ipv6.empty() ? "" : joined + ",");
  labels.set("__address__", util::join_host_port(address, std::to_string(port)));
  if (instance.contains("freeformTags") && instance["freeformTags"].is_object()) {
    for (const auto& [key, value] : instance["freeformTags"].items()) {
      if (value.is_string()) {
        labels.set(std::string(k_tag_prefix) + util::sanitize_label_name(key), value.get<std::string>());
      }
    }
  }
  if (instance.contains("definedTags") && instance["definedTags"].is_object()) {
    for (const auto& [ns, tags] : instance["definedTags"].items()) {
      if (!tags.is_object()) {
        continue;
      }
      for (const auto& [key, value] : tags.items()) {
        std::string text;
        if (value.is_string()) {
          text = value.get<std::string>();
        } else if (value.is_boolean()) {
          text = value.get<bool>() ? "true" : "false";
        } else if (value.is_number_integer()) {
          text = value.dump();
        } else if (value.is_number()) {
          text = util::format_float_g(value.get<double>());
        } else {
          continue;
        }
        labels.set(std::string(k_defined_tag_prefix) + util::sanitize_label_name(ns + "_" + key), text);
      }
    }
  }
  return labels;
}

namespace {

std::string sha256_base64(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return util::encode_base64_std(std::string_view(reinterpret_cast<char*>(digest), length));
}

// The instance principal's security token, from the metadata service and
// the federation endpoint, kept until the token's exp.
class InstancePrincipal {
public:
  InstancePrincipal(std::string metadata_base, std::string auth_url, std::chrono::milliseconds timeout)
      : m_metadata_base(std::move(metadata_base)), m_auth_url(std::move(auth_url)), m_timeout(timeout) {}

  // keyId and key for the next request.
  Result<std::pair<std::string, const net::RsaPrivateKey*>> credentials(net::HttpClient& client,
                                                                        std::stop_token stop) {
    if (m_token.empty() || static_cast<int64_t>(std::time(nullptr)) >= m_expiry) {
      if (Result<void> fetched = federate(client, stop); !fetched) {
        return fail("instance principal: " + fetched.error());
      }
    }
    return std::make_pair("ST$" + m_token, &*m_session_key);
  }
  const std::string& tenancy() const { return m_tenancy; }

private:
  Result<std::string> metadata(net::HttpClient& client, const std::string& path, std::stop_token stop) {
    std::string url = m_metadata_base + "/opc/v2/" + path;
    Result<net::HttpResponse> response =
        client.get(url, {{"Authorization", "Bearer Oracle"}}, m_timeout, std::move(stop));
    if (!response) {
      return fail(response.error());
    }
    if (response->status != 200) {
      return fail(fmt::format("GET {}: {}", url, response->status_line()));
    }
    return std::move(response->body);
  }

  Result<void> federate(net::HttpClient& client, std::stop_token stop) {
    Result<std::string> cert_pem = metadata(client, "identity/cert.pem", stop);
    Result<std::string> key_pem = cert_pem ? metadata(client, "identity/key.pem", stop) : fail(cert_pem.error());
    Result<std::string> intermediate_pem =
        key_pem ? metadata(client, "identity/intermediate.pem", stop) : fail(key_pem.error());
    if (!intermediate_pem) {
      return fail(intermediate_pem.error());
    }
    Result<net::X509Info> leaf = net::parse_x509_pem(*cert_pem);
    Result<net::X509Info> intermediate = net::parse_x509_pem(*intermediate_pem);
    Result<net::RsaPrivateKey> leaf_key = net::RsaPrivateKey::from_pem(*key_pem);
    if (!leaf || !intermediate || !leaf_key) {
      return fail("unusable identity from the metadata service: " +
                  (!leaf ? leaf.error() : !intermediate ? intermediate.error() : leaf_key.error()));
    }
    m_tenancy.clear();
    for (const std::string& ou : leaf->subject_ous) {
      if (util::starts_with(ou, "opc-tenant:")) {
        m_tenancy = ou.substr(11);
      }
    }
    for (const std::string& o : leaf->subject_os) {
      if (m_tenancy.empty() && util::starts_with(o, "opc-identity:")) {
        m_tenancy = o.substr(13);
      }
    }
    if (m_tenancy.empty()) {
      return fail("the instance certificate names no tenancy");
    }
    Result<net::RsaPrivateKey> session = net::RsaPrivateKey::generate(2048);
    if (!session) {
      return fail(session.error());
    }
    std::string body = Json{{"certificate", util::encode_base64_std(leaf->der)},
                            {"publicKey", util::encode_base64_std(session->public_key_der())},
                            {"intermediateCertificates", {util::encode_base64_std(intermediate->der)}}}
                           .dump();
    std::string url = m_auth_url + "/v1/x509";
    std::string date = http_date();
    std::string content_sha = sha256_base64(body);
    Result<OciSignature> signature = sign_request({{"date", date},
                                                   {"(request-target)", "post " + target_of(url)},
                                                   {"host", host_of(url)},
                                                   {"content-length", std::to_string(body.size())},
                                                   {"content-type", "application/json"},
                                                   {"x-content-sha256", content_sha}},
                                                  m_tenancy + "/fed-x509/" + leaf->sha1_fingerprint, *leaf_key);
    if (!signature) {
      return fail(signature.error());
    }
    Result<net::HttpResponse> response = client.post(url,
                                                     {{"Date", date},
                                                      {"Content-Type", "application/json"},
                                                      {"X-Content-Sha256", content_sha},
                                                      {"Authorization", signature->authorization}},
                                                     std::move(body), m_timeout, std::move(stop));
    if (!response) {
      return fail(response.error());
    }
    if (response->status != 200) {
      return fail(fmt::format("federation answered {}: {}", response->status_line(), response->body));
    }
    Result<Json> json = parse_json(response->body, k_unmarshal_eof);
    std::string token = json && json->is_object() ? text_of(*json, "token") : "";
    std::vector<std::string> parts = util::split(token, '.');
    Result<std::string> claims_text = parts.size() == 3 ? net::decode_base64url(parts[1]) : fail("not a JWT");
    Result<Json> claims = claims_text ? parse_json(*claims_text, k_unmarshal_eof) : fail(claims_text.error());
    if (!claims || !claims->is_object() || !claims->contains("exp") || !(*claims)["exp"].is_number()) {
      return fail("federation answered no usable security token");
    }
    m_token = token;
    m_expiry = go_int64((*claims)["exp"].get<double>());
    m_session_key = std::move(*session);
    return {};
  }

  std::string m_metadata_base, m_auth_url;
  std::chrono::milliseconds m_timeout;
  std::string m_token, m_tenancy;
  int64_t m_expiry = 0;
  std::optional<net::RsaPrivateKey> m_session_key;
};

// One oci_sd config: api_key (key) or instance_principal (principal).
class Discovery {
public:
  Discovery(const Config& config, std::string identity, std::string iaas, std::optional<net::RsaPrivateKey> key,
            std::unique_ptr<InstancePrincipal> principal, std::unique_ptr<net::HttpClient> client)
      : m_config(config), m_identity(std::move(identity)), m_iaas(std::move(iaas)), m_key(std::move(key)),
        m_principal(std::move(principal)), m_key_id(config.tenancy + "/" + config.user + "/" + config.fingerprint),
        m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop) {
    if (m_principal) { // the tenancy comes from the instance's certificate
      if (Result<std::pair<std::string, const net::RsaPrivateKey*>> c = m_principal->credentials(*m_client, stop);
          !c) {
        return fail(c.error());
      }
      m_config.tenancy = m_principal->tenancy();
    }
    std::vector<std::string> compartments = m_config.compartments;
    if (compartments.empty()) {
      compartments = walk_compartments(stop);
    }
    model::TargetGroup group;
    group.source = k_source;
    for (const std::string& compartment : compartments) {
      Result<std::vector<Json>> instances =
          list(m_iaas, "/instances", {{"compartmentId", compartment}, {"limit", "100"}}, "Compute", stop);
      if (!instances) {
        return fail(fmt::format("listing OCI instances in compartment {}: {}", compartment, instances.error()));
      }
      for (const Json& instance : *instances) {
        std::optional<Vnic> vnic = primary_vnic(instance, stop);
        if (!vnic) {
          continue;
        }
        if (std::optional<model::Labels> target = instance_target(instance, *vnic, m_config.tenancy, m_config.port)) {
          group.targets.push_back(std::move(*target));
        }
      }
    }
    return std::vector<model::TargetGroup>{std::move(group)};
  }

private:
  // One signed GET; the body of a 2xx answer, else the SDK's service error.
  Result<net::HttpResponse> get(const std::string& url, std::string_view service, std::stop_token stop) {
    std::string date = http_date();
    std::string key_id = m_key_id;
    const net::RsaPrivateKey* key = m_key ? &*m_key : nullptr;
    if (m_principal) {
      Result<std::pair<std::string, const net::RsaPrivateKey*>> c = m_principal->credentials(*m_client, stop);
      if (!c) {
        return fail(c.error());
      }
      std::tie(key_id, key) = *c;
    }
    Result<OciSignature> signature = sign_request(
        {{"date", date}, {"(request-target)", "get " + target_of(url)}, {"host", host_of(url)}}, key_id, *key);
    if (!signature) {
      return fail(signature.error());
    }
    Result<net::HttpResponse> response = m_client->get(
        url, {{"Date", date}, {"Authorization", signature->authorization}, {"Accept", "application/json"}},
        m_timeout, stop);
    if (!response) {
      return fail(response.error());
    }
    if (response->status < 200 || response->status > 299) {
      Result<Json> body = parse_json(response->body, k_unmarshal_eof);
      std::string code = body && body->is_object() ? text_of(*body, "code") : "";
      std::string message = body && body->is_object() ? text_of(*body, "message") : response->body;
      return fail(fmt::format("Error returned by {} Service. Http Status Code: {}. Error Code: {}. Opc request id: "
                              "{}. Message: {}",
                              service, response->status, code, response->header("opc-request-id"), message));
    }
    return response;
  }

  // Every page of a list call (opc-next-page into page).
  Result<std::vector<Json>> list(const std::string& base, const std::string& path,
                                 std::vector<std::pair<std::string, std::string>> query, std::string_view service,
                                 std::stop_token stop) {
    std::vector<Json> items;
    std::string page;
    do {
      std::vector<std::pair<std::string, std::string>> q = query;
      if (!page.empty()) {
        q.emplace_back("page", page);
      }
      std::string url = base + std::string(k_api_version) + path + "?" + net::form_encode(q);
      Result<net::HttpResponse> response = get(url, service, stop);
      if (!response) {
        return fail(response.error());
      }
      Result<Json> json = parse_json(response->body, k_unmarshal_eof);
      if (!json) {
        return fail(json.error());
      }
      if (!json->is_array()) {
        return fail(fmt::format("json: cannot unmarshal {} into Go value of type []", json_kind(*json)));
      }
      for (const Json& item : *json) {
        if (item.is_object()) {
          items.push_back(item);
        }
      }
      page = response->header("opc-next-page");
    } while (!page.empty());
    return items;
  }

  std::vector<std::string> walk_compartments(std::stop_token stop) {
    std::vector<std::string> found = {m_config.tenancy};
    std::deque<std::string> queue = {m_config.tenancy};
    std::set<std::string> seen = {m_config.tenancy};
    while (!queue.empty()) {
      std::string parent = queue.front();
      queue.pop_front();
      Result<std::vector<Json>> children = list(m_identity, "/compartments",
                                                {{"accessLevel", "ACCESSIBLE"},
                                                 {"compartmentId", parent},
                                                 {"compartmentIdInSubtree", "false"},
                                                 {"limit", "100"}},
                                                "Identity", stop);
      if (!children) {
        continue; // upstream logs it and skips the subtree
      }
      for (const Json& child : *children) {
        std::string id = text_of(child, "id");
        if (text_of(child, "lifecycleState") == "ACTIVE" && !id.empty() && seen.insert(id).second) {
          found.push_back(id);
          queue.push_back(id);
        }
      }
    }
    return found;
  }

  std::optional<Vnic> primary_vnic(const Json& instance, std::stop_token stop) {
    Result<std::vector<Json>> attachments = list(
        m_iaas, "/vnicAttachments",
        {{"compartmentId", text_of(instance, "compartmentId")}, {"instanceId", text_of(instance, "id")}, {"limit", "100"}},
        "Compute", stop);
    if (!attachments) {
      return std::nullopt; // upstream warns and skips the instance
    }
    for (const Json& attachment : *attachments) {
      if (text_of(attachment, "lifecycleState") != "ATTACHED" || text_of(attachment, "vnicId").empty()) {
        continue;
      }
      Result<net::HttpResponse> response =
          get(m_iaas + std::string(k_api_version) + "/vnics/" + util::path_escape(text_of(attachment, "vnicId")),
              "VirtualNetwork", stop);
      if (!response) {
        return std::nullopt;
      }
      Result<Json> json = parse_json(response->body, k_unmarshal_eof);
      if (!json || !json->is_object()) {
        return std::nullopt;
      }
      if (!json->contains("isPrimary") || !(*json)["isPrimary"].is_boolean() || !(*json)["isPrimary"].get<bool>()) {
        continue;
      }
      Vnic vnic{text_of(*json, "id"), text_of(*json, "privateIp"), text_of(*json, "publicIp"),
                text_of(*json, "hostnameLabel"), {}};
      if (json->contains("ipv6Addresses") && (*json)["ipv6Addresses"].is_array()) {
        for (const Json& ip : (*json)["ipv6Addresses"]) {
          if (ip.is_string()) {
            vnic.ipv6_addresses.push_back(ip.get<std::string>());
          }
        }
      }
      return vnic;
    }
    return std::nullopt;
  }

  Config m_config;
  std::string m_identity, m_iaas;
  std::optional<net::RsaPrivateKey> m_key;
  std::unique_ptr<InstancePrincipal> m_principal;
  std::string m_key_id;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

} // namespace

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  auto endpoint = [&](const char* name, std::string fallback) {
    auto it = options.endpoints.find(name);
    return it != options.endpoints.end() ? it->second : fallback;
  };
  std::chrono::milliseconds timeout(std::max<int64_t>(refresh_interval.ms, 1));
  std::optional<net::RsaPrivateKey> key;
  std::unique_ptr<InstancePrincipal> principal;
  if (auth == "instance_principal") {
    principal = std::make_unique<InstancePrincipal>(
        endpoint("oci_metadata", "http://169.254.169.254"),
        endpoint("oci_auth", fmt::format("https://auth.{}.oraclecloud.com", region)), timeout);
  } else {
    Result<std::string> pem = util::os_read_file(key_file);
    if (!pem) {
      return fail("oci_sd: reading key_file: " + pem.error());
    }
    std::string passphrase = key_passphrase.value;
    if (!key_passphrase_file.empty()) {
      Result<std::string> text = util::os_read_file(key_passphrase_file);
      if (!text) {
        return fail("oci_sd: reading key_passphrase_file: " + text.error());
      }
      passphrase = *text;
      while (!passphrase.empty() && (passphrase.back() == '\n' || passphrase.back() == '\r')) {
        passphrase.pop_back();
      }
    }
    Result<net::RsaPrivateKey> parsed = net::RsaPrivateKey::from_pem(*pem, passphrase);
    if (!parsed) {
      return fail("oci_sd: parsing key_file: " + parsed.error());
    }
    key = std::move(*parsed);
  }
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http_client);
  if (!client) {
    return fail(client.error());
  }
  auto discovery = std::make_shared<Discovery>(
      *this, endpoint("oci_identity", fmt::format("https://identity.{}.oraclecloud.com", region)),
      endpoint("oci_iaas", fmt::format("https://iaas.{}.oraclecloud.com", region)), std::move(key),
      std::move(principal), std::move(*client));
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      refresh_interval.ms, [discovery](std::stop_token stop) { return discovery->refresh(std::move(stop)); }));
}

void Config::validate(yaml::Checker& c) {
  // Order as in 3.14: region, the auth method's fields, compartments,
  // refresh interval, HTTP client.
  if (region.empty()) {
    c.error_at("region", "oci_sd: region is required");
    return;
  }
  if (auth == "api_key") {
    static constexpr std::string_view k_required[] = {"tenancy", "user", "fingerprint", "key_file"};
    const std::string* values[] = {&tenancy, &user, &fingerprint, &key_file};
    for (size_t i = 0; i < std::size(k_required); ++i) {
      if (values[i]->empty()) {
        c.error_at(k_required[i], fmt::format("oci_sd: api_key auth requires {}", k_required[i]));
        return;
      }
    }
    if (!key_passphrase.empty() && !key_passphrase_file.empty()) {
      c.error_at("key_passphrase_file",
                 "oci_sd: at most one of key_passphrase and key_passphrase_file must be configured");
      return;
    }
  } else if (auth == "instance_principal") {
    if (!tenancy.empty() || !user.empty() || !fingerprint.empty() || !key_file.empty() || !key_passphrase.empty() ||
        !key_passphrase_file.empty()) {
      c.error_at("auth", "oci_sd: instance_principal auth must not have tenancy, user, fingerprint, key_file, "
                         "key_passphrase, or key_passphrase_file set");
      return;
    }
  } else {
    c.error_at("auth", fmt::format("oci_sd: unknown auth method {}, expected \"api_key\" or \"instance_principal\"",
                                   util::go_quote(auth)));
    return;
  }
  for (size_t i = 0; i < compartments.size(); ++i) {
    if (compartments[i].empty()) {
      c.error_at("compartments", fmt::format("oci_sd: compartments[{}] must not be empty", i));
      return;
    }
  }
  if (refresh_interval.ms <= 0) {
    c.error_at("refresh_interval",
               fmt::format("oci_sd: refresh_interval must be positive, got {}", model::format_text(refresh_interval)));
    return;
  }
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::oci
