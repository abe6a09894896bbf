#pragma once

// The credentials that sign AWS requests, found the way Prometheus v2.45's
// ec2 and lightsail SD find them through the AWS SDK for Go v1 session
// (spec/sd-cloud.md §2.1): static keys, else the environment, else the
// shared credentials (and, with AWS_SDK_LOAD_CONFIG, config) file, else the
// container credentials endpoint or the EC2 instance metadata service (a
// web identity token in the environment comes before the files); with role_arn, those credentials only call
// STS AssumeRole and the role's temporary credentials sign.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "net/aws_sigv4.h"
#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::aws {

struct ServiceEndpoint; // aws_request.h

// What the chain starts from. The defaults are the SDK's; tests point the
// endpoints at loopback and give an environment and home of their own.
struct CredentialsOptions {
  std::string access_key;
  std::string secret_key;
  std::string profile;  // shared-file profile; "" = AWS_PROFILE, else "default"
  std::string role_arn; // "" = no AssumeRole
  std::string region;   // the resolved region (regional STS endpoint, signing)
  // STS base URL; "" = https://sts.amazonaws.com (signed for us-east-1), or
  // https://sts.<region>.amazonaws.com with AWS_STS_REGIONAL_ENDPOINTS=regional
  // (and always for cn-* regions, .amazonaws.com.cn). Not from the config
  // file: the SD config's endpoint never applies to STS.
  std::string sts_endpoint;
  // Instance metadata base URL; "" = AWS_EC2_METADATA_SERVICE_ENDPOINT, else
  // http://169.254.169.254.
  std::string imds_endpoint;
  // Container credentials host for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  // "" = http://169.254.170.2. For tests.
  std::string container_endpoint;
  // The environment to read; nullopt = the process's. For tests.
  std::optional<std::map<std::string, std::string>> environment;
  // The home directory for ~/.aws; "" = $HOME. For tests.
  std::string home;
  // Per-request timeout for IMDS and STS calls.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // The clock (expiry checks, STS signing, session names); null = the system clock.
  std::function<std::chrono::system_clock::time_point()> now;
};

// Resolves credentials on demand and caches them: long-term keys until
// invalidate(), temporary ones (IMDS role, AssumeRole) until shortly before
// they expire (IMDS: 5 minutes before, as SDK v1's EC2RoleProvider; STS:
// 10 seconds before). Thread-safe; the HTTP client (the SD config's, as
// v2.45 hands its client to the SDK session) is used for IMDS and STS.
class CredentialsProvider {
public:
  CredentialsProvider(CredentialsOptions options, std::shared_ptr<net::HttpClient> client);

  // The credentials to sign with, or the SDK's error, e.g.
  // "NoCredentialProviders: no valid providers in chain. Deprecated.\n\tFor
  // verbose messaging see aws.Config.CredentialsChainVerboseErrors",
  // "EmptyStaticCreds: static credentials are empty" or an STS error
  // ("AccessDenied: ...\n\tstatus code: 403, request id: ..."). Never
  // contains a secret.
  Result<net::aws::Credentials> get(std::stop_token stop);
  // Forgets the cached credentials, so the next get() resolves afresh (what
  // v2.45's client rebuild after AuthFailure amounts to).
  void invalidate();

  std::chrono::system_clock::time_point now() const;

private:
  Result<net::aws::Credentials> resolve_base(std::stop_token stop);
  Result<net::aws::Credentials> from_shared_files(bool& found);
  Result<net::aws::Credentials> from_instance_metadata(std::stop_token stop);
  Result<net::aws::Credentials> from_container(std::stop_token stop);
  Result<net::aws::Credentials> from_web_identity(std::stop_token stop);
  Result<net::aws::Credentials> assume_role(const net::aws::Credentials& base, std::stop_token stop);
  std::string env(const std::string& name) const;
  ServiceEndpoint sts_service() const;

  CredentialsOptions m_options;
  std::shared_ptr<net::HttpClient> m_client;
  std::mutex m_mutex;
  std::optional<net::aws::Credentials> m_cached;
  std::chrono::system_clock::duration m_window{};
};

// A factory with the SD configs' fields (v2.45: static keys when either is
// non-empty). sts_endpoint and imds_endpoint: "" for the SDK defaults.
std::shared_ptr<CredentialsProvider> make_credentials_provider(const std::string& access_key,
                                                               const std::string& secret_key,
                                                               const std::string& profile,
                                                               const std::string& role_arn,
                                                               const std::string& region,
                                                               std::shared_ptr<net::HttpClient> client,
                                                               std::chrono::milliseconds timeout,
                                                               std::string sts_endpoint = {},
                                                               std::string imds_endpoint = {});

} // namespace sdscope::discovery::aws
