#pragma once

// Checking AWS SigV4 signatures in loopback fixtures: the signature of a
// received request is recomputed from its method, target, signed headers
// and body with the secret of its access key, as AWS does, and a mismatch
// gets the service's real error response.

#include <ctime>
#include <map>
#include <optional>
#include <string>

#include <httplib.h>

#include "net/aws_sigv4.h"

namespace sdscope::test::aws {

// What a request's Authorization header says.
struct SignatureFields {
  std::string access_key_id, date, region, service, signed_headers, signature;
};

inline std::optional<SignatureFields> parse_authorization(const std::string& header) {
  const std::string prefix = "AWS4-HMAC-SHA256 Credential=";
  if (header.rfind(prefix, 0) != 0) {
    return std::nullopt;
  }
  SignatureFields f;
  size_t comma = header.find(", SignedHeaders=");
  size_t sig = header.find(", Signature=");
  if (comma == std::string::npos || sig == std::string::npos) {
    return std::nullopt;
  }
  std::string credential = header.substr(prefix.size(), comma - prefix.size());
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = credential.find('/', start)) != std::string::npos; start = slash + 1) {
    parts.push_back(credential.substr(start, slash - start));
  }
  parts.push_back(credential.substr(start));
  if (parts.size() != 5 || parts[4] != "aws4_request") {
    return std::nullopt;
  }
  f.access_key_id = parts[0];
  f.date = parts[1];
  f.region = parts[2];
  f.service = parts[3];
  f.signed_headers = header.substr(comma + 16, sig - comma - 16);
  f.signature = header.substr(sig + 12);
  return f;
}

// "" when the request is signed correctly for region and service with a
// key of secrets (access key id -> secret), else what is wrong.
inline std::string check_signature(const httplib::Request& req, const std::map<std::string, std::string>& secrets,
                                   const std::string& region, const std::string& service) {
  std::optional<SignatureFields> f = parse_authorization(req.get_header_value("Authorization"));
  if (!f) {
    return "missing or malformed Authorization";
  }
  auto secret = secrets.find(f->access_key_id);
  if (secret == secrets.end()) {
    return "unknown access key";
  }
  if (f->region != region || f->service != service) {
    return "wrong scope " + f->region + "/" + f->service;
  }
  std::string date = req.get_header_value("X-Amz-Date");
  std::tm tm{};
  if (date.size() != 16 || strptime(date.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr || date.substr(0, 8) != f->date) {
    return "bad X-Amz-Date";
  }
  net::HttpHeaders headers;
  net::aws::Credentials credentials{f->access_key_id, secret->second, "", std::nullopt};
  size_t start = 0;
  while (start <= f->signed_headers.size()) {
    size_t end = f->signed_headers.find(';', start);
    std::string name = f->signed_headers.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (name == "x-amz-security-token") {
      credentials.session_token = req.get_header_value("X-Amz-Security-Token");
    } else if (name != "x-amz-date") {
      if (!req.has_header(name)) {
        return "signed header " + name + " missing";
      }
      for (size_t i = 0; i < req.get_header_value_count(name); ++i) {
        headers.emplace_back(name, req.get_header_value(name, i));
      }
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  std::string url = "http://" + req.get_header_value("Host") + req.target;
  net::HttpHeaders expected = net::aws::sign_v4(req.method, url, headers, req.body, credentials, region, service,
                                                std::chrono::system_clock::from_time_t(timegm(&tm)));
  if (expected.back().second != req.get_header_value("Authorization")) {
    return "signature mismatch";
  }
  return "";
}

// EC2's answer to a wrong signature (Query protocol, HTTP 401).
inline void reply_ec2_signature_error(httplib::Response& res) {
  res.status = 401;
  res.set_content("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>AuthFailure</Code>"
                  "<Message>AWS was not able to validate the provided access credentials</Message></Error></Errors>"
                  "<RequestID>b1f4c5d6-0000-4000-8000-000000000001</RequestID></Response>",
                  "text/xml;charset=UTF-8");
}

// The answer of STS and other awsQuery services to a wrong signature (HTTP 403).
inline void reply_query_signature_error(httplib::Response& res) {
  res.status = 403;
  res.set_content("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                  "<Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the "
                  "signature you provided. Check your AWS Secret Access Key and signing method. Consult the service "
                  "documentation for details.</Message></Error><RequestId>c0ffee00-0000-4000-8000-000000000002"
                  "</RequestId></ErrorResponse>",
                  "text/xml");
}

// The answer of JSON 1.1 services (Lightsail, ECS) to a wrong signature.
inline void reply_json_signature_error(httplib::Response& res) {
  res.status = 403;
  res.set_header("X-Amzn-Requestid", "d00dfeed-0000-4000-8000-000000000003");
  res.set_content("{\"__type\":\"InvalidSignatureException\",\"message\":\"The request signature we calculated does not "
                  "match the signature you provided. Check your AWS Secret Access Key and signing method. Consult "
                  "the service documentation for details.\"}",
                  "application/x-amz-json-1.1");
}

} // namespace sdscope::test::aws
