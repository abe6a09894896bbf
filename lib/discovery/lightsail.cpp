// lightsail_sd: Lightsail instances, as Prometheus v2.45
// discovery/aws/lightsail.go finds them through the AWS SDK for Go v1
// (spec/sd-cloud.md §2.1 to §2.5, §2.7).
//
// Each refresh makes one GetInstances call (AWS JSON 1.1: POST / with
// X-Amz-Target: Lightsail_20161128.GetInstances and body {}, SigV4 for
// service "lightsail") to https://lightsail.<region>.amazonaws.com or the
// config's endpoint. v2.45 does not paginate: a nextPageToken in the answer
// is ignored, so only the first page's instances (the API's pages hold
// many) are found. Credentials, retries and the AuthFailure /
// UnauthorizedOperation credential refresh are as in ec2_sd. Every instance
// with a private IP is a target at <private ip>:<port>.
// API: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html
#include "discovery/lightsail.h"

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace sdscope::discovery::lightsail {

void Config::validate(yaml::Checker& c) const {
  ec2::check_region(c, access.region, "Lightsail SD configuration requires a region");
  // v2.45 does not validate the inline HTTP client here (it does since 2.48).
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

constexpr std::string_view k_availability_zone = "__meta_lightsail_availability_zone";
constexpr std::string_view k_blueprint_id = "__meta_lightsail_blueprint_id";
constexpr std::string_view k_bundle_id = "__meta_lightsail_bundle_id";
constexpr std::string_view k_instance_name = "__meta_lightsail_instance_name";
constexpr std::string_view k_instance_state = "__meta_lightsail_instance_state";
constexpr std::string_view k_instance_support_code = "__meta_lightsail_instance_support_code";
constexpr std::string_view k_ipv6_addresses = "__meta_lightsail_ipv6_addresses";
constexpr std::string_view k_private_ip = "__meta_lightsail_private_ip";
constexpr std::string_view k_public_ip = "__meta_lightsail_public_ip";
constexpr std::string_view k_region = "__meta_lightsail_region";
constexpr std::string_view k_tag_prefix = "__meta_lightsail_tag_";

// A string member; nullopt when absent or null (SDK v1 leaves it nil).
std::optional<std::string> string_member(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) {
    return std::nullopt;
  }
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::string member_or_empty(const nlohmann::json& object, const char* name) {
  return string_member(object, name).value_or("");
}

const nlohmann::json& member(const nlohmann::json& object, const char* name) {
  static const nlohmann::json k_null;
  if (!object.is_object()) {
    return k_null;
  }
  auto it = object.find(name);
  return it == object.end() ? k_null : *it;
}

model::Labels instance_labels(const nlohmann::json& instance, const std::string& private_ip,
                              const std::string& region, int port) {
  model::Labels labels;
  labels.set(k_availability_zone, member_or_empty(member(instance, "location"), "availabilityZone"));
  labels.set(k_blueprint_id, member_or_empty(instance, "blueprintId"));
  labels.set(k_bundle_id, member_or_empty(instance, "bundleId"));
  labels.set(k_instance_name, member_or_empty(instance, "name"));
  labels.set(k_instance_state, member_or_empty(member(instance, "state"), "name"));
  labels.set(k_instance_support_code, member_or_empty(instance, "supportCode"));
  labels.set(k_private_ip, private_ip);
  labels.set(k_region, region);
  labels.set("__address__", util::join_host_port(private_ip, std::to_string(port)));
  if (std::optional<std::string> public_ip = string_member(instance, "publicIpAddress")) {
    labels.set(k_public_ip, *public_ip);
  }
  const nlohmann::json& ipv6 = member(instance, "ipv6Addresses");
  if (ipv6.is_array() && !ipv6.empty()) {
    std::string joined = ",";
    for (const nlohmann::json& address : ipv6) {
      joined += (address.is_string() ? address.get<std::string>() : std::string()) + ",";
    }
    labels.set(k_ipv6_addresses, joined);
  }
  const nlohmann::json& tags = member(instance, "tags");
  if (tags.is_array()) {
    for (const nlohmann::json& tag : tags) {
      std::optional<std::string> key = string_member(tag, "key");
      std::optional<std::string> value = string_member(tag, "value");
      if (key && value) {
        labels.set(std::string(k_tag_prefix) + util::sanitize_label_name(*key), *value);
      }
    }
  }
  return labels;
}

std::string option(const DiscovererOptions& options, const std::string& key) {
  auto it = options.endpoints.find(key);
  return it == options.endpoints.end() ? std::string() : it->second;
}

} // namespace

Result<std::vector<model::Labels>> targets_from_body(std::string_view body, const std::string& region, int port) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  const nlohmann::json& instances = member(doc, "instances");
  if (!doc.is_object() || (!instances.is_null() && !instances.is_array())) {
    // SDK v1 jsonrpc: the status is a 2xx, the request id unknown here.
    return fail("SerializationError: failed decoding JSON RPC response\n\tstatus code: 200, request id: ");
  }
  std::vector<model::Labels> targets;
  if (instances.is_array()) {
    for (const nlohmann::json& instance : instances) {
      std::optional<std::string> private_ip = string_member(instance, "privateIpAddress");
      if (private_ip) {
        targets.push_back(instance_labels(instance, *private_ip, region, port));
      }
    }
  }
  return targets;
}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, const DiscovererOptions& options,
                                                   aws::RetryPolicy retry) {
  Result<std::unique_ptr<net::HttpClient>> made = net::HttpClient::make(config.http_client);
  if (!made) {
    return fail(made.error());
  }
  std::shared_ptr<net::HttpClient> http(std::move(*made));
  std::unique_ptr<Discovery> discovery(new Discovery());
  discovery->m_region = config.access.region;
  if (discovery->m_region.empty()) {
    Result<std::string> region = ec2::region_from_instance_metadata(*http, option(options, "imds"), {});
    if (!region) {
      return fail("Lightsail SD configuration requires a region");
    }
    discovery->m_region = *region;
  }
  discovery->m_port = config.port;
  // v2.45 sets no request timeout; a request here gets the refresh interval.
  std::chrono::milliseconds timeout(std::max<int64_t>(config.refresh_interval.ms, 1000));
  std::shared_ptr<aws::CredentialsProvider> credentials = aws::make_credentials_provider(
      config.access.access_key, config.access.secret_key.value, config.access.profile, config.access.role_arn,
      discovery->m_region, http, timeout, option(options, "sts"), option(options, "imds"));
  std::string base = config.access.endpoint.empty() ? aws::default_endpoint("lightsail", discovery->m_region)
                                                    : aws::normalize_endpoint(config.access.endpoint);
  discovery->m_client = std::make_unique<aws::AwsClient>(
      http, credentials, aws::ServiceEndpoint{base, discovery->m_region, "lightsail"}, timeout, retry);
  return discovery;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  aws::AwsResult<std::string> body = m_client->json(k_get_instances_target, "{}", stop);
  if (!body) {
    if (body.error().code == "AuthFailure" || body.error().code == "UnauthorizedOperation") {
      m_client->credentials().invalidate(); // v2.45 drops its client: fresh credentials next time
    }
    return fail("could not get instances: " + body.error().text);
  }
  Result<std::vector<model::Labels>> targets = targets_from_body(*body, m_region, m_port);
  if (!targets) {
    return fail("could not get instances: " + targets.error());
  }
  model::TargetGroup group;
  group.source = m_region;
  group.targets = std::move(*targets);
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, options);
}

} // namespace sdscope::discovery::lightsail
