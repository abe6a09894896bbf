#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "discovery/consul.h"
#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::consul {

// The consul API client settings that NewClient derives from the config.
struct Endpoint {
  std::string scheme;
  std::string address;
  std::string path_prefix;
  std::string datacenter; // configured only
  std::string namespace_;
  std::string partition;
  std::string token;
  // One request's limit: watchTimeout (the 2 min wait) + 15 s, as
  // Prometheus sets its client's Timeout; shorter only in tests.
  std::chrono::milliseconds request_timeout{135000};
};

// The endpoint of config, with the CONSUL_NAMESPACE, CONSUL_PARTITION and
// CONSUL_HTTP_TOKEN environment variables standing in for unset fields.
// Fails on a server address whose scheme is neither http nor https.
Result<Endpoint> endpoint_of(const Config& config);

// Query parameters in the order added; the URL lists them sorted by key.
using Params = std::vector<std::pair<std::string, std::string>>;

struct Answer {
  uint64_t index = 0; // X-Consul-Index, 0 when absent or unparseable
  std::string body;
};

// One consul API call: GET <path> with params and the endpoint's common
// parameters and token, as a blocking query may take (request_timeout at most).
// Fails on a transport error or any status but 200.
Result<Answer> call(net::HttpClient& client, const Endpoint& e, const std::string& path, Params params,
                    std::stop_token stop);

} // namespace sdscope::discovery::consul
