// The AWS service client of the post-2.45 AWS mechanisms, as the AWS SDK for
// Go v2 behaves for Prometheus 3.x discovery/aws/{ecs,msk,elasticache,rds}.go
// (spec/sd-cloud.md §2.1 to §2.5): region resolution and endpoints as SDK
// v2 does them; signing, retries, error bodies and the credential chain are
// the shared ones (discovery/aws_request, discovery/aws_credentials).
#include "discovery/aws_service.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "discovery/aws_credentials.h"
#include "discovery/aws_request.h"
#include "util/strings.h"

namespace sdscope::discovery::aws_service {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// The base URL of a client: the explicit one > AWS_ENDPOINT_URL_<SVC> >
// AWS_ENDPOINT_URL > https://<prefix>.<region>.amazonaws.com(.cn).
std::string base_url(std::string_view endpoint_prefix, std::string_view env_suffix, const std::string& explicit_url,
                     const std::string& region) {
  std::string url = explicit_url;
  if (url.empty() && env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") != "true") {
    url = env(fmt::format("AWS_ENDPOINT_URL_{}", env_suffix).c_str());
    if (url.empty()) {
      url = env("AWS_ENDPOINT_URL");
    }
  }
  if (url.empty()) {
    return aws::default_endpoint(endpoint_prefix, region);
  }
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

} // namespace

struct Client::Impl {
  ServiceInfo service;
  ec2::AwsAccess access;
  std::string configured_endpoint;
  std::chrono::milliseconds timeout{};
  ClientOptions options;
  std::shared_ptr<net::HttpClient> http;

  std::mutex mutex;
  std::optional<std::string> region;                     // resolved at the first call
  std::shared_ptr<aws::CredentialsProvider> credentials; // made once the region is known
  std::map<int64_t, std::shared_ptr<aws::AwsClient>> clients; // by request timeout

  // The signed-request client (discovery/aws_request) for a timeout.
  Result<std::shared_ptr<aws::AwsClient>> client(std::chrono::milliseconds request_timeout, std::stop_token stop) {
    Result<std::string> r = resolve_region(stop);
    if (!r) {
      return fail(r.error());
    }
    std::lock_guard lock(mutex);
    if (!credentials) {
      // SDK v2 (3.7.2+): static keys only when both are set; STS regional,
      // or AWS_ENDPOINT_URL_STS. external_id is not passed to AssumeRole
      // (the shared chain has no field for it).
      bool both = !access.access_key.empty() && !access.secret_key.value.empty();
      std::string sts = base_url("sts", "STS", options.sts_endpoint, *r);
      credentials = aws::make_credentials_provider(both ? access.access_key : "", both ? access.secret_key.value : "",
                                                   access.profile, access.role_arn, *r, http, timeout, sts,
                                                   options.imds_endpoint);
    }
    std::shared_ptr<aws::AwsClient>& c = clients[request_timeout.count()];
    if (!c) {
      aws::ServiceEndpoint endpoint{
          base_url(service.endpoint_prefix, service.env_suffix,
                   !options.endpoint.empty() ? options.endpoint : configured_endpoint, *r),
          *r, std::string(service.signing_name)};
      // SDK v2's standard retryer: 3 attempts in all.
      aws::RetryPolicy retry;
      retry.max_retries = 2;
      if (options.retry_delay) {
        retry.min_delay = retry.min_throttle_delay = *options.retry_delay;
      }
      c = std::make_shared<aws::AwsClient>(http, credentials, std::move(endpoint), request_timeout, retry);
    }
    return c;
  }

  Result<std::string> resolve_region(std::stop_token stop) {
    {
      std::lock_guard lock(mutex);
      if (region) {
        return *region;
      }
    }
    Result<std::string> r = find_region(std::move(stop));
    if (!r) {
      return fail("could not determine AWS region: " + r.error());
    }
    std::lock_guard lock(mutex);
    region = *r;
    return *r;
  }

  // SDK v2's order (3.14): configured, AWS_REGION, AWS_DEFAULT_REGION, the
  // shared config profile's region, then IMDS placement/region.
  Result<std::string> find_region(std::stop_token stop) {
    if (!access.region.empty()) {
      return access.region;
    }
    for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
      if (std::string v = env(name); !v.empty()) {
        return v;
      }
    }
    if (std::string v = shared_config_region(); !v.empty()) {
      return v;
    }
    if (util::to_lower_ascii(env("AWS_EC2_METADATA_DISABLED")) == "true") {
      return fail("region not found in AWS config or IMDS");
    }
    std::string base = !options.imds_endpoint.empty() ? options.imds_endpoint : env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base.empty()) {
      base = "http://169.254.169.254";
    }
    while (!base.empty() && base.back() == '/') {
      base.pop_back();
    }
    // IMDSv2: a session token when the service hands one out, else a
    // token-less (IMDSv1) GET.
    net::HttpHeaders headers;
    Result<net::HttpResponse> token =
        http->put(base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, "", timeout, stop);
    if (token && token->status == 200) {
      headers.emplace_back("X-aws-ec2-metadata-token", util::trim_space(token->body));
    }
    Result<net::HttpResponse> answer = http->get(base + "/latest/meta-data/placement/region", headers, timeout, stop);
    if (!answer) {
      return fail("failed to get region from IMDS: " + answer.error());
    }
    if (answer->status != 200 || util::trim_space(answer->body).empty()) {
      return fail(fmt::format("failed to get region from IMDS: StatusCode: {}", answer->status));
    }
    return util::trim_space(answer->body);
  }

  // The `region` of the profile in the shared config file.
  std::string shared_config_region() const {
    std::string file = env("AWS_CONFIG_FILE");
    if (file.empty()) {
      std::string home = env("HOME");
      if (home.empty()) {
        return "";
      }
      file = home + "/.aws/config";
    }
    std::string text;
    if (!util::read_file(file, text)) {
      return "";
    }
    std::string profile = !access.profile.empty() ? access.profile : env("AWS_PROFILE");
    if (profile.empty()) {
      profile = "default";
    }
    std::string wanted = profile == "default" ? "default" : "profile " + profile;
    bool in_section = false;
    for (const std::string& raw : util::split(text, '\n')) {
      std::string line = util::trim_space(raw);
      if (line.empty() || line[0] == '#' || line[0] == ';') {
        continue;
      }
      if (line.front() == '[' && line.back() == ']') {
        in_section = util::trim_space(line.substr(1, line.size() - 2)) == wanted;
        continue;
      }
      size_t eq = line.find('=');
      if (in_section && eq != std::string::npos && util::trim_space(line.substr(0, eq)) == "region") {
        return util::trim_space(line.substr(eq + 1));
      }
    }
    return "";
  }

  // SDK v2 wraps every failure as "operation error <service>: <op>, ...";
  // the rest is the shared client's (SDK v1) wording.
  std::string operation_error(std::string_view operation, std::string_view why) const {
    return fmt::format("operation error {}: {}, {}", service.id, operation, why);
  }

  template <class Call>
  Result<std::string> call(std::string_view operation, std::chrono::milliseconds request_timeout, std::stop_token stop,
                           Call call) {
    Result<std::shared_ptr<aws::AwsClient>> c = client(request_timeout, stop);
    if (!c) {
      return fail(operation_error(operation, c.error()));
    }
    aws::AwsResult<std::string> body = call(**c, stop);
    if (!body) {
      return fail(operation_error(operation, body.error().text));
    }
    return std::move(*body);
  }

  Result<Json> decode_json(std::string_view operation, const std::string& body) const {
    Result<Json> json = parse_json(body, k_decoder_eof);
    if (json && !json->is_object()) {
      json = fail("expected a JSON object, got " + json_kind(*json));
    }
    if (!json) {
      return fail(operation_error(operation, "deserialization failed, failed to decode response body, " + json.error()));
    }
    return json;
  }
};

Client::Client(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::make(ServiceInfo service, const ec2::AwsAccess& access, std::string endpoint,
                                             const net::HttpClientConfig& http, std::chrono::milliseconds timeout,
                                             ClientOptions options) {
  auto client = net::HttpClient::make(http);
  if (!client) {
    return fail(client.error());
  }
  auto impl = std::make_unique<Impl>();
  impl->service = service;
  impl->access = access;
  impl->configured_endpoint = std::move(endpoint);
  impl->timeout = timeout;
  impl->options = std::move(options);
  impl->http = std::move(*client);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<std::string> Client::region(std::stop_token stop) { return m_impl->resolve_region(std::move(stop)); }

Result<Json> Client::json_call(std::string_view target_prefix, std::string_view operation, const Json& body,
                               std::chrono::milliseconds timeout, std::stop_token stop) {
  std::string target = fmt::format("{}.{}", target_prefix, operation);
  Result<std::string> answer = m_impl->call(operation, timeout, std::move(stop), [&](aws::AwsClient& c, std::stop_token s) {
    return c.json(target, body.dump(), std::move(s));
  });
  if (!answer) {
    return fail(answer.error());
  }
  return m_impl->decode_json(operation, *answer);
}

Result<util::xml::Element> Client::query_call(std::string_view operation, std::string_view version,
                                              const Params& params, std::chrono::milliseconds timeout,
                                              std::stop_token stop) {
  Result<std::string> answer = m_impl->call(operation, timeout, std::move(stop), [&](aws::AwsClient& c, std::stop_token s) {
    return c.query(operation, version, params, std::move(s));
  });
  if (!answer) {
    return fail(answer.error());
  }
  Result<util::xml::Element> root = util::xml::parse(*answer);
  if (!root) {
    return fail(m_impl->operation_error(operation, "deserialization failed, failed to decode response body, " +
                                                       root.error()));
  }
  // ElastiCache, RDS: <OpResponse><OpResult>...</OpResult>; EC2: <OpResponse>...
  if (const util::xml::Element* result = child(*root, std::string(operation) + "Result")) {
    return *result;
  }
  return root;
}

Result<Json> Client::rest_get(std::string_view operation, const std::string& request_path, const Params& query,
                              std::chrono::milliseconds timeout, std::stop_token stop) {
  std::string target = request_path;
  for (size_t i = 0; i < query.size(); ++i) {
    target += fmt::format("{}{}={}", i == 0 ? "?" : "&", util::query_escape(query[i].first),
                          util::query_escape(query[i].second));
  }
  Result<std::string> answer = m_impl->call(operation, timeout, std::move(stop), [&](aws::AwsClient& c, std::stop_token s) {
    return c.get(target, std::move(s));
  });
  if (!answer) {
    return fail(answer.error());
  }
  return m_impl->decode_json(operation, *answer);
}

ClientOptions client_options(const DiscovererOptions& options) {
  ClientOptions o;
  if (auto it = options.endpoints.find("sts"); it != options.endpoints.end()) {
    o.sts_endpoint = it->second;
  }
  if (auto it = options.endpoints.find("imds"); it != options.endpoints.end()) {
    o.imds_endpoint = it->second;
  }
  return o;
}

const util::xml::Element* child(const util::xml::Element& e, std::string_view name) {
  for (const util::xml::Element& c : e.children) {
    if (c.local_name() == name) {
      return &c;
    }
  }
  return nullptr;
}

const util::xml::Element* path(const util::xml::Element& e, std::initializer_list<std::string_view> names) {
  const util::xml::Element* at = &e;
  for (std::string_view name : names) {
    at = child(*at, name);
    if (at == nullptr) {
      return nullptr;
    }
  }
  return at;
}

std::optional<std::string> text(const util::xml::Element& e, std::initializer_list<std::string_view> names) {
  const util::xml::Element* at = path(e, names);
  if (at == nullptr) {
    return std::nullopt;
  }
  return at->text;
}

std::vector<const util::xml::Element*> children(const util::xml::Element& e, std::string_view name) {
  std::vector<const util::xml::Element*> out;
  for (const util::xml::Element& c : e.children) {
    if (c.local_name() == name) {
      out.push_back(&c);
    }
  }
  return out;
}

std::string rfc3339(std::string_view timestamp) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  std::string s(timestamp);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) !=
      6) {
    return s;
  }
  size_t i = static_cast<size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
    }
  }
  int offset_seconds = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = std::atoi(s.substr(i + 1, 2).c_str());
    int om = std::atoi(s.substr(i + 4, 2).c_str());
    offset_seconds = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i = s.size();
  }
  if (i != s.size()) {
    return s;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t t = timegm(&tm) - offset_seconds;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return out;
}

std::string escape_path_segment(std::string_view segment) {
  // RFC 3986 unreserved characters stay; everything else (':' and '/' in
  // ARNs included) is %XX, upper-case hex.
  std::string out;
  for (unsigned char c : segment) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

} // namespace sdscope::discovery::aws_service
