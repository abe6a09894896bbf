#pragma once

// A fake AWS service endpoint on 127.0.0.1 for the tests of ecs_sd, msk_sd,
// elasticache_sd, rds_sd and outscale_sd: checks the SigV4 signature of
// every request with the shared fixture check (aws_fixture.h; a wrong one
// gets the service's real error answer), records each call (operation,
// parameters, body) and hands signed calls to the test's handler.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws_fixture.h"
#include "loopback_server.h"
#include "net/aws_sigv4.h"

namespace sdscope::test {

inline constexpr const char* k_aws_key_id = "AKIDEXAMPLE";
inline constexpr const char* k_aws_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// outscale: the OUTSCALE API (JSON POSTs signed for the service "oapi").
enum class AwsProtocol { json, query, ec2_query, rest_json, outscale };

struct AwsCall {
  std::string method;
  std::string target;    // raw path and query
  std::string path;      // decoded path
  std::string operation; // X-Amz-Target's operation, the Query Action, or "" (REST)
  std::map<std::string, std::string> params; // Query form fields or REST query parameters
  nlohmann::json json;                       // JSON 1.1 body
  std::string body;
  std::string scope; // "<date>/<region>/<service>/aws4_request"
  bool signature_ok = false;
};

class FakeAws {
public:
  using Handler = std::function<void(const AwsCall&, httplib::Response&)>;

  // Requests must be signed for service in region.
  FakeAws(std::string service, AwsProtocol protocol, std::string region = "eu-west-1")
      : m_service(std::move(service)), m_region(std::move(region)), m_protocol(protocol) {
    m_server.set_keep_alive_timeout(1);
    auto handle = [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); };
    m_server.Get(".*", handle);
    m_server.Post(".*", handle);
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  void on(Handler h) {
    std::lock_guard lock(m_mutex);
    m_handler = std::move(h);
  }
  // The secret the fake checks signatures with (a wrong one makes every
  // request fail as AWS does).
  void expect_secret(std::string secret) {
    std::lock_guard lock(m_mutex);
    m_secret = std::move(secret);
  }
  std::vector<AwsCall> calls() {
    std::lock_guard lock(m_mutex);
    return m_calls;
  }
  std::vector<std::string> operations() {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const AwsCall& c : m_calls) {
      out.push_back(c.operation.empty() ? c.path : c.operation);
    }
    return out;
  }
  void clear() {
    std::lock_guard lock(m_mutex);
    m_calls.clear();
  }
  void stop() { m_serving.stop(); }

  int port = 0;

  // Answers in each protocol's shape.
  static void json_answer(httplib::Response& res, const nlohmann::json& body, int status = 200) {
    res.status = status;
    res.set_content(body.dump(), "application/x-amz-json-1.1");
  }
  static void rest_answer(httplib::Response& res, const nlohmann::json& body, int status = 200) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }
  static void xml_answer(httplib::Response& res, const std::string& operation, const std::string& result,
                         int status = 200) {
    res.status = status;
    res.set_content("<" + operation + "Response xmlns=\"http://example.test/doc/\"><" + operation + "Result>" +
                        result + "</" + operation + "Result><ResponseMetadata><RequestId>req-1</RequestId>" +
                        "</ResponseMetadata></" + operation + "Response>",
                    "text/xml");
  }
  static void ec2_answer(httplib::Response& res, const std::string& operation, const std::string& inner) {
    res.status = 200;
    res.set_content("<" + operation + "Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r" +
                        "</requestId>" + inner + "</" + operation + "Response>",
                    "text/xml;charset=UTF-8");
  }
  // The service's error answer for code/message in the protocol's shape.
  void error_answer(httplib::Response& res, int status, const std::string& code, const std::string& message) const {
    res.status = status;
    res.set_header("x-amzn-RequestId", "err-req-1");
    switch (m_protocol) {
    case AwsProtocol::json:
      res.set_content(nlohmann::json{{"__type", code}, {"message", message}}.dump(), "application/x-amz-json-1.1");
      break;
    case AwsProtocol::rest_json:
      res.set_header("x-amzn-ErrorType", code + ":http://internal.amazon.com/coral/com.amazonaws.kafka/");
      res.set_content(nlohmann::json{{"message", message}}.dump(), "application/json");
      break;
    case AwsProtocol::query:
      res.set_content("<ErrorResponse xmlns=\"http://example.test/doc/\"><Error><Type>Sender</Type><Code>" + code +
                          "</Code><Message>" + message + "</Message></Error><RequestId>err-req-1</RequestId>" +
                          "</ErrorResponse>",
                      "text/xml");
      break;
    case AwsProtocol::outscale:
      res.set_content(nlohmann::json{{"Errors", {{{"Code", "1"}, {"Type", code}, {"Details", message}}}},
                                     {"ResponseContext", {{"RequestId", "err-req-1"}}}}
                          .dump(),
                      "application/json");
      break;
    case AwsProtocol::ec2_query:
      res.set_content("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>" + code +
                          "</Code><Message>" + message + "</Message></Error></Errors><RequestID>err-req-1" +
                          "</RequestID></Response>",
                      "text/xml;charset=UTF-8");
      break;
    }
  }

private:
  static std::string header_value(const httplib::Request& req, const std::string& name) {
    return req.get_header_value(name);
  }

  // Recomputes the signature with the fake's secret (the shared fixture
  // check); also records the scope the client signed for.
  bool signature_ok(const httplib::Request& req, AwsCall& call) {
    if (auto f = aws::parse_authorization(req.get_header_value("Authorization"))) {
      call.scope = f->date + "/" + f->region + "/" + f->service + "/aws4_request";
    }
    return aws::check_signature(req, {{k_aws_key_id, m_secret}}, m_region, m_service).empty();
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    AwsCall call;
    call.method = req.method;
    call.target = req.target;
    call.path = req.path;
    call.body = req.body;
    if (m_protocol == AwsProtocol::json || m_protocol == AwsProtocol::outscale) {
      call.json = nlohmann::json::parse(req.body, nullptr, false);
    }
    if (m_protocol == AwsProtocol::json) {
      std::string target = header_value(req, "X-Amz-Target");
      call.operation = target.substr(target.find('.') + 1);
    } else if (m_protocol == AwsProtocol::rest_json || m_protocol == AwsProtocol::outscale) {
      for (const auto& [k, v] : req.params) {
        call.params[k] = v;
      }
    } else {
      httplib::Params form;
      httplib::detail::parse_query_text(req.body, form);
      for (const auto& [k, v] : form) {
        call.params[k] = v;
      }
      call.operation = call.params["Action"];
    }
    Handler handler;
    {
      std::lock_guard lock(m_mutex);
      call.signature_ok = signature_ok(req, call);
      m_calls.push_back(call);
      handler = m_handler;
    }
    if (!call.signature_ok) {
      if (m_protocol == AwsProtocol::outscale) {
        error_answer(res, 401, "AccessDenied", "");
      } else if (m_protocol == AwsProtocol::ec2_query) {
        aws::reply_ec2_signature_error(res);
      } else if (m_protocol == AwsProtocol::query) {
        aws::reply_query_signature_error(res);
      } else if (m_protocol == AwsProtocol::json) {
        aws::reply_json_signature_error(res);
      } else {
        error_answer(res, 403, "InvalidSignatureException",
                     "The request signature we calculated does not match the signature you provided.");
      }
      return;
    }
    if (handler) {
      handler(call, res);
    } else {
      res.status = 404;
    }
  }

  std::string m_service;
  std::string m_region;
  AwsProtocol m_protocol;
  std::mutex m_mutex;
  std::string m_secret = k_aws_secret;
  Handler m_handler;
  std::vector<AwsCall> m_calls;
  httplib::Server m_server;
  LoopbackServer m_serving;
};

} // namespace sdscope::test
