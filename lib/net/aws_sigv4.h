#pragma once

// AWS Signature Version 4 (algorithm AWS4-HMAC-SHA256), as the AWS SDK for
// Go v1 signs requests of every service Prometheus v2.45 calls (EC2,
// Lightsail, STS; spec/sd-cloud.md §2.4). SHA-256 and HMAC-SHA256 come from
// OpenSSL.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_client.h"

namespace sdscope::net::aws {

// A key pair, with the session token of temporary credentials.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // "" for long-term keys
  // When temporary credentials stop working; nullopt for keys that do not
  // expire.
  std::optional<std::chrono::system_clock::time_point> expires;

  bool operator==(const Credentials&) const = default;
};

// The headers to add to a request so that it is signed: X-Amz-Date,
// X-Amz-Security-Token (only with a session token) and Authorization, in
// that order. The request is method, url and body plus headers (what the
// caller will send; Host is taken from the URL unless headers name it).
// Every header given is signed except Authorization, User-Agent and
// X-Amzn-Trace-Id (SDK v1's ignore list); names are lower-cased, values
// trimmed with inner runs of spaces collapsed, repeated names joined with
// ','. The canonical URI is the URL's path as written (it is what goes on
// the wire) URI-encoded once more, byte by byte, every byte except
// A-Z a-z 0-9 - _ . ~ and '/' as %XX: the double encoding SDK v1 applies to
// every service but S3 ("" becomes "/"). The canonical query is the URL's
// query decoded as Go's url.ParseQuery does, sorted by name then value and
// encoded the same way ('+' in a value therefore signs as a space). A
// default port (:80 for http, :443 for https) is dropped from Host as SDK
// v1 does. Pure: now is the signing time.
HttpHeaders sign_v4(std::string_view method, std::string_view url, const HttpHeaders& headers,
                    std::string_view body, const Credentials& credentials, std::string_view region,
                    std::string_view service, std::chrono::system_clock::time_point now);

// The pieces of the signature, exposed for tests and for fixtures that
// check a signature by recomputing it.

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);
// The raw 32-byte HMAC-SHA256 of data under key.
std::string hmac_sha256(std::string_view key, std::string_view data);
// "YYYYMMDDTHHMMSSZ" in UTC.
std::string amz_date(std::chrono::system_clock::time_point t);

struct CanonicalRequest {
  std::string text;           // the six lines, as hashed
  std::string signed_headers; // "host;x-amz-date"
};
// The canonical request of a request whose headers already include
// X-Amz-Date (and X-Amz-Security-Token); Host is added from the URL
// unless present.
CanonicalRequest canonical_request(std::string_view method, std::string_view url, const HttpHeaders& headers,
                                   std::string_view body);

// The URI encoding of SigV4 (RFC 3986 unreserved bytes kept, the rest
// %XX upper case); keep_slash leaves '/' alone, for paths.
std::string uri_encode(std::string_view s, bool keep_slash);

} // namespace sdscope::net::aws
