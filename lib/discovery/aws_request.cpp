// Signed requests to AWS APIs as the AWS SDK for Go v1 sends them
// (aws/corehandlers, aws/client/default_retryer.go, private/protocol/
// {query,ec2query,jsonrpc,restjson}), the SDK Prometheus v2.45 uses for
// ec2_sd and lightsail_sd. Protocols: https://smithy.io/2.0/aws/protocols/
// (awsQuery, ec2Query, awsJson1_1, restJson1).
#include "discovery/aws_request.h"

#include <algorithm>
#include <map>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "discovery/discoverer.h"
#include "util/strings.h"
#include "util/xml.h"

namespace sdscope::discovery::aws {

namespace {

// The error text of awserr.SprintError with a RequestFailure's extra line.
std::string request_failure_text(std::string_view code, std::string_view message, long status,
                                 std::string_view request_id, std::string_view cause = {}) {
  std::string text = fmt::format("{}: {}\n\tstatus code: {}, request id: {}", code, message, status, request_id);
  if (!cause.empty()) {
    text += fmt::format("\ncaused by: {}", cause);
  }
  return text;
}

const util::xml::Element* find_element(const util::xml::Element& e, std::string_view local) {
  if (e.local_name() == local) {
    return &e;
  }
  for (const util::xml::Element& child : e.children) {
    if (const util::xml::Element* found = find_element(child, local)) {
      return found;
    }
  }
  return nullptr;
}

std::string element_text(const util::xml::Element& root, std::string_view local) {
  const util::xml::Element* e = find_element(root, local);
  return e == nullptr ? std::string() : util::trim_space(e->text);
}

std::string request_id_header(const net::HttpResponse& response) {
  std::string id = response.header("X-Amzn-Requestid");
  if (id.empty()) {
    id = response.header("X-Amz-Request-Id");
  }
  return id;
}

AwsError query_error(const net::HttpResponse& response) {
  std::string request_id = request_id_header(response);
  Result<util::xml::Element> doc = util::xml::parse(response.body);
  if (!doc) {
    return {"SerializationError", response.status,
            request_failure_text("SerializationError", "failed to unmarshal error message", response.status,
                                 request_id, doc.error())};
  }
  // EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>;
  // the others: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
  std::string code = element_text(*doc, "Code");
  std::string message = element_text(*doc, "Message");
  std::string id = element_text(*doc, "RequestID");
  if (id.empty()) {
    id = element_text(*doc, "RequestId");
  }
  if (id.empty()) {
    id = request_id;
  }
  return {code, response.status, request_failure_text(code, message, response.status, id)};
}

AwsError json_error(const net::HttpResponse& response, bool rest) {
  std::string request_id = request_id_header(response);
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  std::string code;
  std::string message;
  if (rest) { // restjson takes the code from X-Amzn-Errortype first
    code = response.header("X-Amzn-Errortype");
    code = code.substr(0, code.find(':'));
  }
  if (body.is_object()) {
    for (const char* key : {"__type", "code", "Code"}) {
      if (code.empty() && body.contains(key) && body[key].is_string()) {
        code = body[key].get<std::string>();
      }
    }
    for (const char* key : {"message", "Message"}) {
      if (message.empty() && body.contains(key) && body[key].is_string()) {
        message = body[key].get<std::string>();
      }
    }
  } else if (code.empty()) {
    return {"SerializationError", response.status,
            request_failure_text("SerializationError", "failed decoding error message", response.status, request_id)};
  }
  if (size_t hash = code.rfind('#'); hash != std::string::npos) { // "com.amazonaws...#Code"
    code = code.substr(hash + 1);
  }
  return {code, response.status, request_failure_text(code, message, response.status, request_id)};
}

// The code of an SDK error text "Code: message...".
std::string code_of(std::string_view text) {
  size_t colon = text.find(": ");
  return std::string(text.substr(0, colon == std::string_view::npos ? 0 : colon));
}

bool is_expired_credentials(const AwsError& error) {
  return error.code == "ExpiredToken" || error.code == "ExpiredTokenException" || error.code == "RequestExpired";
}

} // namespace

std::string default_endpoint(std::string_view service, std::string_view region) {
  std::string_view suffix = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return fmt::format("https://{}.{}.{}", service, region, suffix);
}

std::string normalize_endpoint(std::string_view endpoint) {
  std::string url(endpoint);
  if (url.find("://") == std::string::npos) {
    url = "https://" + url;
  }
  while (url.ends_with('/')) {
    url.pop_back();
  }
  return url;
}

std::string form_encode(std::vector<std::pair<std::string, std::string>> params) {
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += util::query_escape(name) + "=" + util::query_escape(value);
  }
  return out;
}

AwsError error_from_response(Protocol protocol, const net::HttpResponse& response) {
  switch (protocol) {
  case Protocol::query:
    return query_error(response);
  case Protocol::json:
    return json_error(response, false);
  case Protocol::rest_json:
    return json_error(response, true);
  }
  return {};
}

bool is_throttle(const AwsError& error) {
  static const char* const k_codes[] = {"Throttling", "ThrottlingException", "ThrottledException",
                                        "RequestThrottledException", "TooManyRequestsException",
                                        "ProvisionedThroughputExceededException", "TransactionInProgressException",
                                        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
                                        "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
                                        "EC2ThrottledException"};
  // aws/request.IsErrorThrottle: these statuses count as throttling too.
  if (error.status == 429 || error.status == 502 || error.status == 503 || error.status == 504) {
    return true;
  }
  return std::find(std::begin(k_codes), std::end(k_codes), error.code) != std::end(k_codes);
}

bool is_retryable(const AwsError& error) {
  if (error.code == "RequestError") {
    return error.text.find("context canceled") == std::string::npos;
  }
  if (error.status >= 500 && error.status != 501) {
    return true;
  }
  return is_throttle(error) || is_expired_credentials(error);
}

AwsResult<net::HttpResponse> send_signed(net::HttpClient& http, const ServiceEndpoint& endpoint, Protocol protocol,
                                         std::string_view method, std::string_view path_and_query,
                                         const net::HttpHeaders& headers, const std::string& body,
                                         const std::function<Result<net::aws::Credentials>(std::stop_token)>& credentials,
                                         const std::function<std::chrono::system_clock::time_point()>& now,
                                         std::chrono::milliseconds timeout, const RetryPolicy& retry,
                                         std::stop_token stop) {
  std::string url = endpoint.base_url + std::string(path_and_query);
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    Result<net::aws::Credentials> creds = credentials(stop);
    if (!creds) {
      return tl::unexpected(AwsError{code_of(creds.error()), 0, creds.error()});
    }
    net::HttpHeaders all = headers;
    net::HttpHeaders signature =
        net::aws::sign_v4(method, url, headers, body, *creds, endpoint.region, endpoint.service, now());
    all.insert(all.end(), signature.begin(), signature.end());
    Result<net::HttpResponse> response =
        method == "GET" ? http.get(url, all, timeout, stop) : http.post(url, all, body, timeout, stop);
    AwsError error;
    if (!response) {
      error = {"RequestError", 0, "RequestError: send request failed\ncaused by: " + response.error()};
    } else if (response->status >= 200 && response->status < 300) {
      return std::move(*response);
    } else {
      error = error_from_response(protocol, *response);
    }
    if (attempt >= retry.max_retries || !is_retryable(error) || stop.stop_requested()) {
      return tl::unexpected(std::move(error));
    }
    std::chrono::milliseconds base = is_throttle(error) ? retry.min_throttle_delay : retry.min_delay;
    auto delay = base * (int64_t{1} << attempt);
    auto jitter = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(delay.count() - 1, 0))(random);
    if (!sleep_for(stop, delay + std::chrono::milliseconds(jitter))) {
      return tl::unexpected(std::move(error));
    }
  }
}

AwsClient::AwsClient(std::shared_ptr<net::HttpClient> http, std::shared_ptr<CredentialsProvider> credentials,
                     ServiceEndpoint endpoint, std::chrono::milliseconds timeout, RetryPolicy retry)
    : m_http(std::move(http)), m_credentials(std::move(credentials)), m_endpoint(std::move(endpoint)),
      m_timeout(timeout), m_retry(retry) {}

AwsResult<std::string> AwsClient::call(Protocol protocol, std::string_view method, std::string_view path_and_query,
                                       const net::HttpHeaders& headers, const std::string& body,
                                       std::stop_token stop) {
  auto credentials = [this](std::stop_token s) { return m_credentials->get(std::move(s)); };
  auto now = [this] { return m_credentials->now(); };
  AwsResult<net::HttpResponse> response =
      send_signed(*m_http, m_endpoint, protocol, method, path_and_query, headers, body, credentials, now, m_timeout,
                  m_retry, stop);
  if (!response && is_expired_credentials(response.error())) {
    // SDK v1 expires the credentials and retries the request once they are fresh.
    m_credentials->invalidate();
    response = send_signed(*m_http, m_endpoint, protocol, method, path_and_query, headers, body, credentials, now,
                           m_timeout, m_retry, stop);
  }
  if (!response) {
    return tl::unexpected(response.error());
  }
  return std::move(response->body);
}

AwsResult<std::string> AwsClient::query(std::string_view action, std::string_view version,
                                        std::vector<std::pair<std::string, std::string>> params,
                                        std::stop_token stop) {
  params.emplace_back("Action", std::string(action));
  params.emplace_back("Version", std::string(version));
  net::HttpHeaders headers{{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  return call(Protocol::query, "POST", "/", headers, form_encode(std::move(params)), std::move(stop));
}

AwsResult<std::string> AwsClient::json(std::string_view target, std::string body, std::stop_token stop) {
  net::HttpHeaders headers{{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", std::string(target)}};
  return call(Protocol::json, "POST", "/", headers, body, std::move(stop));
}

AwsResult<std::string> AwsClient::get(std::string_view path_and_query, std::stop_token stop) {
  return call(Protocol::rest_json, "GET", path_and_query, {}, {}, std::move(stop));
}

} // namespace sdscope::discovery::aws
