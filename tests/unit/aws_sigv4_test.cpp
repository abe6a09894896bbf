// AWS Signature Version 4 against AWS's published aws-sig-v4-test-suite
// (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html):
// the suite's credentials, date, region and service, each case's request
// and the Authorization header AWS publishes for it.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "net/aws_sigv4.h"

using namespace sdscope;
using net::aws::Credentials;

namespace {

const Credentials k_suite_credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", std::nullopt};

// 2015-08-30T12:36:00Z
std::chrono::system_clock::time_point suite_time() {
  return std::chrono::system_clock::from_time_t(1440938160);
}

struct Vector {
  const char* name;
  const char* method;
  const char* url;
  net::HttpHeaders headers;
  const char* body;
  const char* signed_headers;
  const char* signature;
};

// From the suite's .req and .authz files.
const std::vector<Vector> k_vectors = {
    {"get-vanilla", "GET", "https://example.amazonaws.com/", {}, "", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {}, "",
     "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-value", "GET", "https://example.amazonaws.com/?Param1=value2&Param1=value1", {}, "",
     "host;x-amz-date", "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
    {"get-vanilla-utf8-query", "GET", "https://example.amazonaws.com/?\xe1\x88\xb4=bar", {}, "", "host;x-amz-date",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-unreserved", "GET",
     "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", {}, "",
     "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8", "GET", "https://example.amazonaws.com/\xe1\x88\xb4", {}, "", "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-space", "GET", "https://example.amazonaws.com/example space/", {}, "", "host;x-amz-date",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-header-value-trim", "GET", "https://example.amazonaws.com/",
     {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}}, "", "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-header-key-duplicate", "GET", "https://example.amazonaws.com/",
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}, "",
     "host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"post-vanilla", "POST", "https://example.amazonaws.com/", {}, "", "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query", "POST", "https://example.amazonaws.com/?Param1=value1", {}, "", "host;x-amz-date",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/",
     {{"Content-Type", "application/x-www-form-urlencoded"}}, "Param1=value1", "content-type;host;x-amz-date",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
};

std::string header(const net::HttpHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return "<none>";
}

} // namespace

TEST_SUITE("aws_sigv4") {

TEST_CASE("aws_sigv4: the published test-suite vectors") {
  for (const Vector& v : k_vectors) {
    CAPTURE(v.name);
    net::HttpHeaders headers = v.headers;
    net::HttpHeaders added = net::aws::sign_v4(v.method, v.url, headers, v.body, k_suite_credentials, "us-east-1",
                                               "service", suite_time());
    CHECK(header(added, "X-Amz-Date") == "20150830T123600Z");
    CHECK(header(added, "X-Amz-Security-Token") == "<none>");
    CHECK(header(added, "Authorization") ==
          std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                      "SignedHeaders=") +
              v.signed_headers + ", Signature=" + v.signature);
  }
}

TEST_CASE("aws_sigv4: canonical request of get-vanilla-query-order-key-case, as published (.creq)") {
  net::aws::CanonicalRequest c = net::aws::canonical_request(
      "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {{"X-Amz-Date", "20150830T123600Z"}}, "");
  CHECK(c.text == "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                  "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(net::aws::sha256_hex(c.text) == "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
}

TEST_CASE("aws_sigv4: a session token is sent and signed as X-Amz-Security-Token") {
  Credentials temporary = k_suite_credentials;
  temporary.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  net::HttpHeaders added = net::aws::sign_v4("GET", "https://example.amazonaws.com/", {}, "", temporary, "us-east-1",
                                             "service", suite_time());
  REQUIRE(added.size() == 3);
  CHECK(added[0].first == "X-Amz-Date");
  CHECK(added[1] == std::pair<std::string, std::string>("X-Amz-Security-Token", temporary.session_token));
  // Computed independently (Python hmac/hashlib) from the suite's request.
  CHECK(added[2].second == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                           "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                           "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

TEST_CASE("aws_sigv4: the wire path is encoded once more (SDK v1's double encoding for non-S3 services)") {
  net::aws::CanonicalRequest c = net::aws::canonical_request(
      "GET", "https://kafka.us-east-1.amazonaws.com/v1/clusters/arn%3Aaws%3Akafka%3A1/nodes",
      {{"X-Amz-Date", "20150830T123600Z"}}, "");
  CHECK(c.text.substr(0, c.text.find('\n', 4)) == "GET\n/v1/clusters/arn%253Aaws%253Akafka%253A1/nodes");
}

TEST_CASE("aws_sigv4: Host keeps a non-default port and drops a default one; ignored headers are not signed") {
  net::aws::CanonicalRequest c = net::aws::canonical_request(
      "POST", "http://127.0.0.1:8080", {{"User-Agent", "x"}, {"Authorization", "y"}, {"X-Amz-Target", "T.Op"}}, "{}");
  CHECK(c.text.find("host:127.0.0.1:8080\n") != std::string::npos);
  CHECK(c.signed_headers == "host;x-amz-target");
  CHECK(c.text.substr(0, 7) == "POST\n/\n"); // an empty path signs as "/"
  net::aws::CanonicalRequest d = net::aws::canonical_request("GET", "https://ec2.us-east-1.amazonaws.com:443/", {}, "");
  CHECK(d.text.find("host:ec2.us-east-1.amazonaws.com\n") != std::string::npos);
}

TEST_CASE("aws_sigv4: HMAC-SHA256 matches RFC 4231 test case 2") {
  std::string mac = net::aws::hmac_sha256("Jefe", "what do ya want for nothing?");
  std::string hex;
  for (unsigned char c : mac) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  CHECK(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

} // TEST_SUITE
