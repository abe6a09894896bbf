#pragma once

// Sending signed requests to AWS APIs the way the AWS SDK for Go v1 does
// (Prometheus v2.45's ec2 and lightsail SD): the wire protocols of
// spec/sd-cloud.md §2.5 (Query, JSON 1.1, REST-JSON GET), SigV4 signing,
// the SDK's retries of throttling, 5xx and transport errors with jittered
// backoff, and errors worded as the SDK's awserr.RequestFailure:
// "<Code>: <message>\n\tstatus code: <n>, request id: <id>".

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "discovery/aws_credentials.h"
#include "net/aws_sigv4.h"
#include "net/http_client.h"

namespace sdscope::discovery::aws {

// A failed AWS call: the AWS error code (what v2.45 compares, e.g.
// "AuthFailure"; "RequestError" for transport failures, "SerializationError"
// for an error body that cannot be read), the HTTP status (0 without a
// response) and the SDK's full text, which never holds a secret.
struct AwsError {
  std::string code;
  long status = 0;
  std::string text;
};
template <class T> using AwsResult = tl::expected<T, AwsError>;

enum class Protocol { query, json, rest_json };

// Where one service client sends and how it signs.
struct ServiceEndpoint {
  std::string base_url; // scheme://host[:port], no trailing slash (the config's endpoint or the default host)
  std::string region;   // signing region
  std::string service;  // signing service name: "ec2", "lightsail", "sts", ...
};

// The SDK v1 DefaultRetryer: up to max_retries more attempts, waiting
// [d, 2d) with d = min_delay * 2^retry (min_throttle_delay for throttling
// errors).
struct RetryPolicy {
  int max_retries = 3;
  std::chrono::milliseconds min_delay{30};
  std::chrono::milliseconds min_throttle_delay{500};
};

// The default endpoint of a service in a region as SDK v1 resolves it:
// https://<service>.<region>.amazonaws.com (.amazonaws.com.cn for cn-*).
std::string default_endpoint(std::string_view service, std::string_view region);

// SDK v1 accepts an endpoint without a scheme and assumes https://; a
// trailing '/' is dropped.
std::string normalize_endpoint(std::string_view endpoint);

// Go's url.Values.Encode: sorted by name, QueryEscape'd (space as '+').
std::string form_encode(std::vector<std::pair<std::string, std::string>> params);

// The AwsError of a non-2xx response of the given protocol, as SDK v1's
// unmarshalers word it.
AwsError error_from_response(Protocol protocol, const net::HttpResponse& response);

// Whether SDK v1 retries this failure, and whether as a throttle.
bool is_retryable(const AwsError& error);
bool is_throttle(const AwsError& error);

// Sends one request signed with the given credentials, retrying as
// RetryPolicy says; returns the 2xx response. path_and_query is appended
// to the base URL ("/" for Query and JSON). For Query, body is the form;
// for JSON, headers carry X-Amz-Target. Used by AwsClient and by STS.
AwsResult<net::HttpResponse> send_signed(net::HttpClient& http, const ServiceEndpoint& endpoint, Protocol protocol,
                                         std::string_view method, std::string_view path_and_query,
                                         const net::HttpHeaders& headers, const std::string& body,
                                         const std::function<Result<net::aws::Credentials>(std::stop_token)>& credentials,
                                         const std::function<std::chrono::system_clock::time_point()>& now,
                                         std::chrono::milliseconds timeout, const RetryPolicy& retry,
                                         std::stop_token stop);

// One service client: credentials from the provider, signing for the
// endpoint's scope. An ExpiredToken/RequestExpired error makes the provider
// resolve afresh and the call retry, as SDK v1 does.
class AwsClient {
public:
  AwsClient(std::shared_ptr<net::HttpClient> http, std::shared_ptr<CredentialsProvider> credentials,
            ServiceEndpoint endpoint, std::chrono::milliseconds timeout, RetryPolicy retry = {});

  // AWS Query: POST / with Action, Version and params form-encoded
  // (Content-Type: application/x-www-form-urlencoded; charset=utf-8).
  AwsResult<std::string> query(std::string_view action, std::string_view version,
                               std::vector<std::pair<std::string, std::string>> params, std::stop_token stop);
  // AWS JSON 1.1: POST / with X-Amz-Target: <target> and the JSON body
  // (Content-Type: application/x-amz-json-1.1).
  AwsResult<std::string> json(std::string_view target, std::string body, std::stop_token stop);
  // REST-JSON: GET <base><path_and_query> (already escaped).
  AwsResult<std::string> get(std::string_view path_and_query, std::stop_token stop);

  CredentialsProvider& credentials() { return *m_credentials; }
  const ServiceEndpoint& endpoint() const { return m_endpoint; }

private:
  AwsResult<std::string> call(Protocol protocol, std::string_view method, std::string_view path_and_query,
                              const net::HttpHeaders& headers, const std::string& body, std::stop_token stop);

  std::shared_ptr<net::HttpClient> m_http;
  std::shared_ptr<CredentialsProvider> m_credentials;
  ServiceEndpoint m_endpoint;
  std::chrono::milliseconds m_timeout;
  RetryPolicy m_retry;
};

} // namespace sdscope::discovery::aws
