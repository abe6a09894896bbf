// outscale_sd (Prometheus 3.12+): Outscale VMs from the OUTSCALE API ReadVms
// call, in discovery/outscale/outscale.go and vm.go (osc-sdk-go v2); see
// spec/sd-cloud.md §14. API: POST <endpoint>/ReadVms (JSON), paged by
// NextPageToken, signed with AWS SigV4 under the service name "oapi" (the
// shared signer, net/aws_sigv4). The HTTP client's timeout is the refresh
// interval, as upstream sets it; the SDK does not retry.
#include "discovery/outscale.h"

#include <fmt/format.h>

#include "net/aws_sigv4.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::outscale {

void Config::validate(yaml::Checker& c) {
  if (region.empty()) {
    c.error_at("region", "outscale SD configuration requires a region");
    return;
  }
  if (access_key.empty()) {
    c.error_at("access_key", "outscale SD configuration requires access_key");
    return;
  }
  if (secret_key.empty() && secret_key_file.empty()) {
    c.error("one of secret_key & secret_key_file must be configured");
    return;
  }
  if (!secret_key.empty() && !secret_key_file.empty()) {
    c.error_at("secret_key_file", "at most one of secret_key & secret_key_file must be configured");
    return;
  }
  // Upstream fills the default endpoint in while loading the config.
  if (endpoint.empty()) {
    endpoint = "https://api." + region + ".outscale.com/api/v1";
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

// osc-sdk-go v2 signs every request for this region, whatever the
// endpoint's (the scope region is the SDK's, not the config's).
constexpr std::string_view k_signing_region = "eu-west-2";
constexpr std::string_view k_signing_service = "oapi";

// A string member of a VM: nullopt when absent or null; wrong types fail
// the decoding as Go's encoding/json does.
Result<std::optional<std::string>> member(const Json& object, std::string_view key, std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::optional<std::string>();
  }
  if (!it->is_string()) {
    return fail(fmt::format("json: cannot unmarshal {} into Go struct field {} of type string", json_kind(*it), where));
  }
  return std::optional<std::string>(it->get<std::string>());
}

} // namespace

Result<std::vector<model::Labels>> vm_targets(const Json& vms, const std::string& region, int port) {
  std::vector<model::Labels> targets;
  if (vms.is_null()) {
    return targets;
  }
  if (!vms.is_array()) {
    return fail(fmt::format("json: cannot unmarshal {} into Go struct field ReadVmsResponse.Vms of type []osc.Vm",
                            json_kind(vms)));
  }
  for (const Json& vm : vms) {
    if (!vm.is_object()) {
      continue;
    }
    auto private_ip = member(vm, "PrivateIp", "Vm.PrivateIp");
    auto public_ip = member(vm, "PublicIp", "Vm.PublicIp");
    auto id = member(vm, "VmId", "Vm.VmId");
    auto state = member(vm, "State", "Vm.State");
    for (const auto* r : {&private_ip, &public_ip, &id, &state}) {
      if (!*r) {
        return fail(r->error());
      }
    }
    std::string host;
    if (*private_ip && !(*private_ip)->empty()) {
      host = **private_ip;
    } else if (*public_ip && !(*public_ip)->empty()) {
      host = **public_ip;
    } else {
      continue;
    }
    model::Labels labels;
    labels.set("__address__", util::join_host_port(host, std::to_string(port)));
    labels.set("__meta_outscale_vm_instance_id", id->value_or(""));
    labels.set("__meta_outscale_vm_region", region);
    labels.set("__meta_outscale_vm_state", state->value_or(""));
    if (auto placement = vm.find("Placement"); placement != vm.end() && placement->is_object()) {
      auto subregion = member(*placement, "SubregionName", "Placement.SubregionName");
      if (!subregion) {
        return fail(subregion.error());
      }
      if (*subregion) {
        labels.set("__meta_outscale_vm_subregion", **subregion);
      }
    }
    if (*private_ip) {
      labels.set("__meta_outscale_vm_private_ip", **private_ip);
    }
    if (*public_ip) {
      labels.set("__meta_outscale_vm_public_ip", **public_ip);
    }
    if (auto tags = vm.find("Tags"); tags != vm.end() && tags->is_array()) {
      for (const Json& tag : *tags) {
        if (!tag.is_object()) {
          continue;
        }
        auto key = member(tag, "Key", "ResourceTag.Key");
        auto value = member(tag, "Value", "ResourceTag.Value");
        if (!key || !value) {
          return fail(!key ? key.error() : value.error());
        }
        if (key->value_or("").empty() || value->value_or("").empty()) {
          continue;
        }
        labels.set("__meta_outscale_vm_tag_" + util::sanitize_label_name(**key), **value);
      }
    }
    targets.push_back(std::move(labels));
  }
  return targets;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_config(config), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  auto client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(fmt::format("outscale SD client config: {}", client.error()));
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

// The secret key, or the key file's trimmed contents, read on every refresh
// so a rotated key takes effect.
Result<std::string> Discovery::secret_key() const {
  if (m_config.secret_key_file.empty()) {
    return m_config.secret_key.value;
  }
  Result<std::string> text = util::os_read_file(m_config.secret_key_file);
  if (!text) {
    return fail(fmt::format("unable to read outscale secret key file {}: {}", m_config.secret_key_file, text.error()));
  }
  return util::trim_space(*text);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<std::string> secret = secret_key();
  if (!secret) {
    return fail(secret.error());
  }
  net::aws::Credentials credentials{m_config.access_key, *secret, "", std::nullopt};
  std::string base = m_config.endpoint;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  std::string url = base + "/ReadVms";
  std::chrono::milliseconds timeout(std::max<int64_t>(m_config.refresh_interval.ms, 1));

  model::TargetGroup group;
  group.source = m_config.region;
  Json request = Json::object();
  for (;;) {
    std::string body = request.dump();
    net::HttpHeaders headers{{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    for (auto& h : net::aws::sign_v4("POST", url, headers, body, credentials, k_signing_region, k_signing_service,
                                     std::chrono::system_clock::now())) {
      headers.push_back(std::move(h));
    }
    Result<net::HttpResponse> response = m_client->post(url, headers, body, timeout, stop);
    if (!response) {
      return fail("outscale ReadVms: " + response.error());
    }
    if (response->status >= 300) { // the SDK's GenericOpenAPIError reads as the status
      return fail("outscale ReadVms: " + response->status_line());
    }
    if (response->content_type.find("json") == std::string::npos) {
      return fail("outscale ReadVms: undefined response type");
    }
    Result<Json> answer = parse_json(response->body, k_unmarshal_eof);
    if (!answer) {
      return fail("outscale ReadVms: " + answer.error());
    }
    if (!answer->is_object()) {
      return fail(fmt::format("outscale ReadVms: json: cannot unmarshal {} into Go value of type osc.ReadVmsResponse",
                              json_kind(*answer)));
    }
    auto vms = answer->find("Vms");
    Result<std::vector<model::Labels>> targets =
        vm_targets(vms == answer->end() ? Json() : *vms, m_config.region, m_config.port);
    if (!targets) {
      return fail("outscale ReadVms: " + targets.error());
    }
    for (model::Labels& t : *targets) {
      group.targets.push_back(std::move(t));
    }
    auto next = answer->find("NextPageToken");
    if (next == answer->end() || !next->is_string() || next->get<std::string>().empty()) {
      break;
    }
    request = Json{{"NextPageToken", next->get<std::string>()}};
  }
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::outscale
