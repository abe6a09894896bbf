// ec2_sd: EC2 instances, as Prometheus v2.45 discovery/aws/ec2.go finds
// them through the AWS SDK for Go v1 (spec/sd-cloud.md §2.1 to §2.6).
//
// Each refresh POSTs DescribeInstances (EC2 Query API, version 2016-11-15,
// SigV4 for service "ec2") to https://ec2.<region>.amazonaws.com or the
// config's endpoint, with the filters as Filter.N.Name / Filter.N.Value.M,
// following nextToken until the last page. Before that, DescribeAvailabilityZones
// maps zone names to zone IDs, until it has worked once. Credentials come
// from the SDK v1 chain (aws_credentials.h); throttling, 5xx and transport
// errors are retried as the SDK does (aws_request.h). An AuthFailure or
// UnauthorizedOperation error makes the next refresh resolve credentials
// afresh, as v2.45 rebuilds its client then. Every instance with a private
// IPv4 address is a target at <private ip>:<port>.
// API: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
#include "discovery/ec2.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/strings.h"
#include "util/xml.h"

namespace sdscope::discovery::ec2 {

namespace {

constexpr std::string_view k_ami = "__meta_ec2_ami";
constexpr std::string_view k_architecture = "__meta_ec2_architecture";
constexpr std::string_view k_availability_zone = "__meta_ec2_availability_zone";
constexpr std::string_view k_availability_zone_id = "__meta_ec2_availability_zone_id";
constexpr std::string_view k_instance_id = "__meta_ec2_instance_id";
constexpr std::string_view k_instance_lifecycle = "__meta_ec2_instance_lifecycle";
constexpr std::string_view k_instance_state = "__meta_ec2_instance_state";
constexpr std::string_view k_instance_type = "__meta_ec2_instance_type";
constexpr std::string_view k_ipv6_addresses = "__meta_ec2_ipv6_addresses";
constexpr std::string_view k_owner_id = "__meta_ec2_owner_id";
constexpr std::string_view k_platform = "__meta_ec2_platform";
constexpr std::string_view k_primary_subnet_id = "__meta_ec2_primary_subnet_id";
constexpr std::string_view k_private_dns_name = "__meta_ec2_private_dns_name";
constexpr std::string_view k_private_ip = "__meta_ec2_private_ip";
constexpr std::string_view k_public_dns_name = "__meta_ec2_public_dns_name";
constexpr std::string_view k_public_ip = "__meta_ec2_public_ip";
constexpr std::string_view k_region = "__meta_ec2_region";
constexpr std::string_view k_subnet_id = "__meta_ec2_subnet_id";
constexpr std::string_view k_tag_prefix = "__meta_ec2_tag_";
constexpr std::string_view k_vpc_id = "__meta_ec2_vpc_id";
constexpr std::string_view k_separator = ",";

using util::xml::Element;

const Element* child(const Element* e, std::string_view local) {
  if (e == nullptr) {
    return nullptr;
  }
  for (const Element& c : e->children) {
    if (c.local_name() == local) {
      return &c;
    }
  }
  return nullptr;
}

// The text of a child element, nullopt when absent (SDK v1 leaves the
// field nil then; an empty element gives "").
std::optional<std::string> field(const Element* e, std::string_view local) {
  const Element* c = child(e, local);
  if (c == nullptr) {
    return std::nullopt;
  }
  return c->text;
}

std::string value_or_empty(const Element* e, std::string_view local) { return field(e, local).value_or(""); }

// The <item> children of a list element.
std::vector<const Element*> items(const Element* list) {
  std::vector<const Element*> out;
  if (list != nullptr) {
    for (const Element& c : list->children) {
      if (c.local_name() == "item") {
        out.push_back(&c);
      }
    }
  }
  return out;
}

std::string wrap(const std::vector<std::string>& values) {
  std::string out(k_separator);
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i == 0 ? "" : std::string(k_separator)) + values[i];
  }
  return out + std::string(k_separator);
}

Result<Element> parse_body(std::string_view body) {
  Result<Element> doc = util::xml::parse(body);
  if (!doc) {
    // SDK v1 ec2query: the status is a 2xx, the request id unknown.
    return fail("SerializationError: failed decoding EC2 Query response\n\tstatus code: 200, request id: \n"
                "caused by: " +
                doc.error());
  }
  return doc;
}

model::Labels instance_labels(const Element& instance, const std::optional<std::string>& owner_id,
                              const std::string& private_ip, const std::string& region, int port,
                              const std::map<std::string, std::string>& zone_ids) {
  model::Labels labels;
  labels.set(k_instance_id, value_or_empty(&instance, "instanceId"));
  labels.set(k_region, region);
  if (owner_id) {
    labels.set(k_owner_id, *owner_id);
  }
  labels.set(k_private_ip, private_ip);
  if (std::optional<std::string> dns = field(&instance, "privateDnsName")) {
    labels.set(k_private_dns_name, *dns);
  }
  labels.set("__address__", util::join_host_port(private_ip, std::to_string(port)));
  if (std::optional<std::string> platform = field(&instance, "platform")) {
    labels.set(k_platform, *platform);
  }
  if (std::optional<std::string> public_ip = field(&instance, "ipAddress")) {
    labels.set(k_public_ip, *public_ip);
    labels.set(k_public_dns_name, value_or_empty(&instance, "dnsName"));
  }
  labels.set(k_ami, value_or_empty(&instance, "imageId"));
  std::string zone = value_or_empty(child(&instance, "placement"), "availabilityZone");
  labels.set(k_availability_zone, zone);
  auto zone_id = zone_ids.find(zone);
  labels.set(k_availability_zone_id, zone_id == zone_ids.end() ? "" : zone_id->second);
  labels.set(k_instance_state, value_or_empty(child(&instance, "instanceState"), "name"));
  labels.set(k_instance_type, value_or_empty(&instance, "instanceType"));
  if (std::optional<std::string> lifecycle = field(&instance, "instanceLifecycle")) {
    labels.set(k_instance_lifecycle, *lifecycle);
  }
  if (std::optional<std::string> architecture = field(&instance, "architecture")) {
    labels.set(k_architecture, *architecture);
  }
  if (std::optional<std::string> vpc = field(&instance, "vpcId")) {
    labels.set(k_vpc_id, *vpc);
    labels.set(k_primary_subnet_id, value_or_empty(&instance, "subnetId"));
    std::vector<std::string> subnets;
    std::vector<std::string> ipv6;
    for (const Element* eni : items(child(&instance, "networkInterfaceSet"))) {
      std::optional<std::string> subnet = field(eni, "subnetId");
      if (!subnet) {
        continue;
      }
      if (std::find(subnets.begin(), subnets.end(), *subnet) == subnets.end()) {
        subnets.push_back(*subnet);
      }
      for (const Element* address : items(child(eni, "ipv6AddressesSet"))) {
        ipv6.push_back(value_or_empty(address, "ipv6Address"));
      }
    }
    labels.set(k_subnet_id, wrap(subnets));
    if (!ipv6.empty()) {
      labels.set(k_ipv6_addresses, wrap(ipv6));
    }
  }
  for (const Element* tag : items(child(&instance, "tagSet"))) {
    std::optional<std::string> key = field(tag, "key");
    std::optional<std::string> value = field(tag, "value");
    if (key && value) {
      labels.set(std::string(k_tag_prefix) + util::sanitize_label_name(*key), *value);
    }
  }
  return labels;
}

// The IMDS base URL: the option, else the SDK's environment override, else
// the link-local default.
std::string imds_base(std::string endpoint) {
  if (endpoint.empty()) {
    const char* env = std::getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    endpoint = env != nullptr && *env != '\0' ? env : "http://169.254.169.254";
  }
  while (endpoint.ends_with('/')) {
    endpoint.pop_back();
  }
  return endpoint;
}

std::string option(const DiscovererOptions& options, const std::string& key) {
  auto it = options.endpoints.find(key);
  return it == options.endpoints.end() ? std::string() : it->second;
}

} // namespace

std::vector<std::pair<std::string, std::string>> describe_instances_params(
    const std::vector<std::optional<Filter>>& filters, const std::string& next_token) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t n = 0;
  for (const std::optional<Filter>& filter : filters) {
    if (!filter) {
      continue;
    }
    ++n;
    params.emplace_back(fmt::format("Filter.{}.Name", n), filter->name);
    for (size_t m = 0; m < filter->values.size(); ++m) {
      params.emplace_back(fmt::format("Filter.{}.Value.{}", n, m + 1), filter->values[m]);
    }
  }
  if (!next_token.empty()) {
    params.emplace_back("NextToken", next_token);
  }
  return params;
}

Result<std::map<std::string, std::string>> zone_ids_from_body(std::string_view body) {
  Result<Element> doc = parse_body(body);
  if (!doc) {
    return fail(doc.error());
  }
  std::map<std::string, std::string> zones;
  for (const Element* zone : items(child(&*doc, "availabilityZoneInfo"))) {
    zones[value_or_empty(zone, "zoneName")] = value_or_empty(zone, "zoneId");
  }
  return zones;
}

Result<std::vector<model::Labels>> targets_from_page(std::string_view body, const std::string& region, int port,
                                                     const std::map<std::string, std::string>& zone_ids,
                                                     std::string& next_token) {
  Result<Element> doc = parse_body(body);
  if (!doc) {
    return fail(doc.error());
  }
  std::vector<model::Labels> targets;
  for (const Element* reservation : items(child(&*doc, "reservationSet"))) {
    std::optional<std::string> owner_id = field(reservation, "ownerId");
    for (const Element* instance : items(child(reservation, "instancesSet"))) {
      std::optional<std::string> private_ip = field(instance, "privateIpAddress");
      if (!private_ip) {
        continue;
      }
      targets.push_back(instance_labels(*instance, owner_id, *private_ip, region, port, zone_ids));
    }
  }
  next_token = value_or_empty(&*doc, "nextToken");
  return targets;
}

Result<std::string> region_from_instance_metadata(net::HttpClient& client, std::string imds_endpoint,
                                                  std::stop_token stop) {
  const char* disabled = std::getenv("AWS_EC2_METADATA_DISABLED");
  if (disabled != nullptr && util::to_lower_ascii(disabled) == "true") {
    return fail("EC2 IMDS access disabled via AWS_EC2_METADATA_DISABLED env var");
  }
  std::string base = imds_base(std::move(imds_endpoint));
  constexpr std::chrono::seconds k_timeout{1}; // SDK v1's ec2metadata client default
  net::HttpHeaders headers;
  Result<net::HttpResponse> token =
      client.put(base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, "", k_timeout, stop);
  if (token && token->status == 200) {
    headers.emplace_back("X-aws-ec2-metadata-token", util::trim_space(token->body));
  }
  Result<net::HttpResponse> document =
      client.get(base + "/latest/dynamic/instance-identity/document", headers, k_timeout, stop);
  if (!document) {
    return fail(document.error());
  }
  if (document->status != 200) {
    return fail(document->status_line());
  }
  nlohmann::json json = nlohmann::json::parse(document->body, nullptr, false);
  if (!json.is_object() || !json.contains("region") || !json["region"].is_string()) {
    return fail("instance identity document has no region");
  }
  return json["region"].get<std::string>();
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
    Result<std::string> region = region_from_instance_metadata(*http, option(options, "imds"), {});
    if (!region) {
      return fail("EC2 SD configuration requires a region");
    }
    discovery->m_region = *region;
  }
  discovery->m_port = config.port;
  discovery->m_filters = config.filters;
  // v2.45 sets no request timeout (its HTTP client has none); a request
  // here gets the refresh interval, so a hung endpoint fails that refresh.
  std::chrono::milliseconds timeout(std::max<int64_t>(config.refresh_interval.ms, 1000));
  std::shared_ptr<aws::CredentialsProvider> credentials = aws::make_credentials_provider(
      config.access.access_key, config.access.secret_key.value, config.access.profile, config.access.role_arn,
      discovery->m_region, http, timeout, option(options, "sts"), option(options, "imds"));
  std::string base = config.access.endpoint.empty() ? aws::default_endpoint("ec2", discovery->m_region)
                                                    : aws::normalize_endpoint(config.access.endpoint);
  discovery->m_client = std::make_unique<aws::AwsClient>(
      http, credentials, aws::ServiceEndpoint{base, discovery->m_region, "ec2"}, timeout, retry);
  return discovery;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  // Zone IDs are asked for until that has worked once; a failure only
  // leaves availability_zone_id empty (v2.45 logs it at debug level).
  if (!m_zone_ids) {
    aws::AwsResult<std::string> zones = m_client->query("DescribeAvailabilityZones", k_api_version, {}, stop);
    if (zones) {
      if (Result<std::map<std::string, std::string>> ids = zone_ids_from_body(*zones)) {
        m_zone_ids = std::move(*ids);
      }
    }
  }
  static const std::map<std::string, std::string> k_no_zones;
  model::TargetGroup group;
  group.source = m_region;
  std::string next_token;
  do {
    aws::AwsResult<std::string> page =
        m_client->query("DescribeInstances", k_api_version, describe_instances_params(m_filters, next_token), stop);
    if (!page) {
      if (page.error().code == "AuthFailure" || page.error().code == "UnauthorizedOperation") {
        m_client->credentials().invalidate(); // v2.45 drops its client: fresh credentials next time
      }
      return fail("could not describe instances: " + page.error().text);
    }
    Result<std::vector<model::Labels>> targets =
        targets_from_page(*page, m_region, m_port, m_zone_ids ? *m_zone_ids : k_no_zones, next_token);
    if (!targets) {
      return fail("could not describe instances: " + targets.error());
    }
    group.targets.insert(group.targets.end(), targets->begin(), targets->end());
  } while (!next_token.empty());
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, options);
}

void check_region(yaml::Checker& c, const std::string& region, std::string_view mechanism_error) {
  if (!region.empty()) {
    return;
  }
  // v2.45 fills an empty region from the instance metadata service while it
  // loads the config. That only works on an EC2 instance, so this is a note,
  // not an error.
  c.decoder().warning(c.node(), fmt::format("region is empty: Prometheus v2.45 asks the EC2 instance metadata "
                                            "service for it at load time and, off EC2, rejects the config with "
                                            "\"{}\"",
                                            mechanism_error));
}

void Config::validate(yaml::Checker& c) const {
  check_region(c, access.region, "EC2 SD configuration requires a region");
  for (const std::optional<Filter>& f : filters) {
    if (!f) {
      // Go dereferences the nil *EC2Filter and panics.
      c.error_at("filters", "null entry in filters: Prometheus v2.45 crashes on it (nil pointer dereference)");
      return;
    }
    if (f->values.empty()) {
      c.error_at("filters", "EC2 SD configuration filter values cannot be empty");
      return;
    }
  }
  // v2.45 does not validate the inline HTTP client here (it does since 2.48).
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::ec2
