#pragma once

// One AWS service client as the AWS SDK for Go v2 builds it for the
// post-2.45 AWS mechanisms (ecs_sd, msk_sd, elasticache_sd, rds_sd): the
// region resolved at the first call (configured, environment, shared
// config, IMDS), the endpoint from the config (or AWS_ENDPOINT_URL_<SERVICE>
// / AWS_ENDPOINT_URL), 3 attempts in all. Signing, sending, retrying and
// error bodies are the shared aws::AwsClient's and the credentials the
// shared aws::CredentialsProvider's; errors are prefixed as SDK v2 does:
//   operation error ECS: ListClusters, <the shared client's error text>
// Wire protocols: AWS JSON 1.1 (ECS), AWS Query (ElastiCache, RDS, EC2) and
// REST-JSON (MSK). See spec/sd-cloud.md §2.1 to §2.5.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "discovery/discoverer.h"
#include "discovery/ec2.h"
#include "discovery/go_json.h"
#include "net/http_client.h"
#include "net/http_config.h"
#include "util/result.h"
#include "util/xml.h"

namespace sdscope::discovery::aws_service {

// How the SDK names and reaches one service.
struct ServiceInfo {
  std::string_view id;              // in errors: "ECS", "EC2", "Kafka", "ElastiCache", "RDS"
  std::string_view signing_name;    // SigV4 service: "ecs", "ec2", "kafka", "elasticache", "rds"
  std::string_view endpoint_prefix; // https://<prefix>.<region>.amazonaws.com
  std::string_view env_suffix;      // AWS_ENDPOINT_URL_<suffix>
};

inline constexpr ServiceInfo k_ecs{"ECS", "ecs", "ecs", "ECS"};
inline constexpr ServiceInfo k_ec2{"EC2", "ec2", "ec2", "EC2"};
inline constexpr ServiceInfo k_kafka{"Kafka", "kafka", "kafka", "KAFKA"};
inline constexpr ServiceInfo k_elasticache{"ElastiCache", "elasticache", "elasticache", "ELASTICACHE"};
inline constexpr ServiceInfo k_rds{"RDS", "rds", "rds", "RDS"};

// Settings tests choose (the config has no field for them).
struct ClientOptions {
  // Replaces every other endpoint source (e.g. ECS's EC2 client, which
  // ignores the config's endpoint).
  std::string endpoint;
  // The base delay of retries (throttling or not); nullopt = the shared
  // client's defaults.
  std::optional<std::chrono::milliseconds> retry_delay;
  // STS (role_arn) and instance metadata base URLs; "" = the SDK's
  // (AWS_ENDPOINT_URL_STS / regional STS; AWS_EC2_METADATA_SERVICE_ENDPOINT
  // or 169.254.169.254).
  std::string sts_endpoint;
  std::string imds_endpoint;
};

// The test hooks of DiscovererOptions::endpoints: "sts" and "imds" (the
// config has no fields for them).
ClientOptions client_options(const DiscovererOptions& options);

// Query parameters, in the order the SDK writes them.
using Params = std::vector<std::pair<std::string, std::string>>;

class Client {
public:
  // endpoint: the config's `endpoint` ("" = none, or when the client must
  // ignore it). Fails as building the HTTP client fails.
  // timeout bounds each credential and region lookup request.
  static Result<std::unique_ptr<Client>> make(ServiceInfo service, const ec2::AwsAccess& access, std::string endpoint,
                                              const net::HttpClientConfig& http, std::chrono::milliseconds timeout,
                                              ClientOptions options = {});
  ~Client();

  // The region: configured, else from the SDK's config sources or IMDS,
  // resolved once (`could not determine AWS region: ...`).
  Result<std::string> region(std::stop_token stop);

  // AWS JSON 1.1: POST / with X-Amz-Target <prefix>.<operation>.
  Result<Json> json_call(std::string_view target_prefix, std::string_view operation, const Json& body,
                         std::chrono::milliseconds timeout, std::stop_token stop);
  // AWS Query: POST / with Action, Version and params; returns the root
  // element of the answer.
  Result<util::xml::Element> query_call(std::string_view operation, std::string_view version, const Params& params,
                                        std::chrono::milliseconds timeout, std::stop_token stop);
  // REST-JSON GET of path (already escaped) with a query.
  Result<Json> rest_get(std::string_view operation, const std::string& path, const Params& query,
                        std::chrono::milliseconds timeout, std::stop_token stop);

  struct Impl;

private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Helpers for reading Query answers: the first child with this local name
// (nullptr if none), and the text of a child path ("" if absent).
const util::xml::Element* child(const util::xml::Element& e, std::string_view name);
const util::xml::Element* path(const util::xml::Element& e, std::initializer_list<std::string_view> names);
std::optional<std::string> text(const util::xml::Element& e, std::initializer_list<std::string_view> names);
// Every child named name (Query lists: <member>, <item>, or the element's
// own name).
std::vector<const util::xml::Element*> children(const util::xml::Element& e, std::string_view name);

// An AWS timestamp (ISO 8601 / RFC 3339, any fraction or offset) as Go's
// time.Time.Format(time.RFC3339) prints it after the SDK parsed it (UTC,
// whole seconds); the text unchanged if it does not parse.
std::string rfc3339(std::string_view timestamp);

// The SigV4 canonical-URI escaping of one path segment as the SDK writes
// it into REST paths (before SigV4 escapes the path again).
std::string escape_path_segment(std::string_view segment);

} // namespace sdscope::discovery::aws_service
