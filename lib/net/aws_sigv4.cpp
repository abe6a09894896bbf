// AWS Signature Version 4 as the AWS SDK for Go v1 (aws/signer/v4/v4.go,
// used by Prometheus v2.45's EC2 and Lightsail SD) computes it for header
// signing: canonical request -> string to sign -> signing key derived from
// the secret, date, region and service -> hex HMAC. Reference:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
// Checked against AWS's published aws-sig-v4-test-suite vectors
// (tests/unit/aws_sigv4_test.cpp).
#include "net/aws_sigv4.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sdscope::net::aws {

namespace {

constexpr std::string_view k_algorithm = "AWS4-HMAC-SHA256";

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(k_digits[data[i] >> 4]);
    out.push_back(k_digits[data[i] & 0xf]);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// SDK v1's stripExcessSpaces: trimmed, inner runs of spaces made one.
std::string strip_excess_spaces(std::string_view value) {
  size_t begin = value.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    return {};
  }
  size_t end = value.find_last_not_of(' ');
  std::string out;
  bool in_space = false;
  for (char c : value.substr(begin, end - begin + 1)) {
    if (c == ' ') {
      if (!in_space) {
        out.push_back(c);
      }
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return out;
}

struct UrlParts {
  std::string scheme;
  std::string host; // host[:port], default port dropped
  std::string path; // as written
  std::string query;
};

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  std::string_view rest = url;
  if (scheme_end != std::string_view::npos) {
    parts.scheme = lower(url.substr(0, scheme_end));
    rest = url.substr(scheme_end + 3);
  }
  size_t fragment = rest.find('#');
  rest = rest.substr(0, fragment);
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string host(authority);
  // SDK v1 (aws/request SanitizeHostForHeader) drops the scheme's default port.
  if ((parts.scheme == "http" && host.ends_with(":80")) || (parts.scheme == "https" && host.ends_with(":443"))) {
    host.erase(host.rfind(':'));
  }
  parts.host = std::move(host);
  size_t query = rest.find('?');
  parts.path = std::string(rest.substr(0, query));
  if (query != std::string_view::npos) {
    parts.query = std::string(rest.substr(query + 1));
  }
  return parts;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Go's url.QueryUnescape ('+' is a space); a bad escape is kept as written.
std::string query_unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Go's url.ParseQuery then url.Values.Encode with values sorted, spaces as
// %20: what SDK v1 signs and sends.
std::string canonical_query(std::string_view raw) {
  std::map<std::string, std::vector<std::string>> values;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('&', start);
    std::string_view pair = raw.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = query_unescape(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? std::string() : query_unescape(pair.substr(eq + 1));
      values[key].push_back(std::move(value));
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  std::string out;
  for (auto& [key, list] : values) {
    std::sort(list.begin(), list.end());
    for (const std::string& value : list) {
      if (!out.empty()) {
        out.push_back('&');
      }
      out += uri_encode(key, false) + "=" + uri_encode(value, false);
    }
  }
  return out;
}

bool ignored_header(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" || lower_name == "x-amzn-trace-id";
}

} // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return to_hex(digest.data(), size);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac.data(), &size);
  return std::string(reinterpret_cast<const char*>(mac.data()), size);
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  size_t n = std::strftime(text.data(), text.size(), "%Y%m%dT%H%M%SZ", &utc);
  return std::string(text.data(), n);
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char k_digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
                      b == '_' || b == '.' || b == '~';
    if (unreserved || (keep_slash && b == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(k_digits[b >> 4]);
      out.push_back(k_digits[b & 0xf]);
    }
  }
  return out;
}

CanonicalRequest canonical_request(std::string_view method, std::string_view url, const HttpHeaders& headers,
                                   std::string_view body) {
  UrlParts parts = split_url(url);
  std::map<std::string, std::vector<std::string>> canonical; // sorted by lower-case name
  bool has_host = false;
  for (const auto& [name, value] : headers) {
    std::string key = lower(name);
    if (ignored_header(key)) {
      continue;
    }
    has_host = has_host || key == "host";
    canonical[key].push_back(strip_excess_spaces(value));
  }
  if (!has_host) {
    canonical["host"].push_back(parts.host);
  }

  CanonicalRequest result;
  std::string header_lines;
  for (const auto& [name, values] : canonical) {
    std::string joined;
    for (size_t i = 0; i < values.size(); ++i) {
      joined += (i == 0 ? "" : ",") + values[i];
    }
    header_lines += name + ":" + joined + "\n";
    if (!result.signed_headers.empty()) {
      result.signed_headers.push_back(';');
    }
    result.signed_headers += name;
  }
  std::string path = parts.path.empty() ? std::string("/") : uri_encode(parts.path, true);
  result.text = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", method, path, canonical_query(parts.query), header_lines,
                            result.signed_headers, sha256_hex(body));
  return result;
}

HttpHeaders sign_v4(std::string_view method, std::string_view url, const HttpHeaders& headers, std::string_view body,
                    const Credentials& credentials, std::string_view region, std::string_view service,
                    std::chrono::system_clock::time_point now) {
  std::string timestamp = amz_date(now);
  std::string date = timestamp.substr(0, 8);
  HttpHeaders added;
  added.emplace_back("X-Amz-Date", timestamp);
  if (!credentials.session_token.empty()) {
    added.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }

  HttpHeaders all;
  for (const auto& header : headers) {
    std::string key = lower(header.first);
    if (key != "x-amz-date" && key != "x-amz-security-token") { // ours replace the caller's
      all.push_back(header);
    }
  }
  all.insert(all.end(), added.begin(), added.end());
  CanonicalRequest request = canonical_request(method, url, all, body);

  std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  std::string string_to_sign = fmt::format("{}\n{}\n{}\n{}", k_algorithm, timestamp, scope, sha256_hex(request.text));
  std::string key = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  key = hmac_sha256(key, "aws4_request");
  std::string mac = hmac_sha256(key, string_to_sign);
  std::string signature = to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  added.emplace_back("Authorization", fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", k_algorithm,
                                                  credentials.access_key_id, scope, request.signed_headers,
                                                  signature));
  return added;
}

} // namespace sdscope::net::aws
