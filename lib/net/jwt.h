#pragma once

// RSA signing for cloud APIs that authenticate with a private key: JSON Web
// Tokens (RFC 7519) signed RS256/RS512 for OAuth 2.0 JWT-bearer grants
// (Google service accounts, STACKIT key flow), and raw RSA PKCS#1 v1.5
// signatures (OCI HTTP request signatures). OpenSSL's EVP API does the math.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace sdscope::net {

// base64url without padding (RFC 4648 §5, as JWTs use it).
std::string encode_base64url(std::string_view in);
// Accepts input with or without '=' padding; fails on any other byte.
Result<std::string> decode_base64url(std::string_view text);

enum class RsaHash { sha256, sha512 };

// An RSA private key loaded from PEM: PKCS#8 ("BEGIN PRIVATE KEY"),
// encrypted PKCS#8 or PKCS#1 ("BEGIN RSA PRIVATE KEY", possibly with
// Proc-Type encryption) given a passphrase. Immutable; safe to share
// across threads.
class RsaPrivateKey {
public:
  // Fails with a text that never contains the key: "no PEM data found",
  // "not an RSA key" or OpenSSL's reason.
  static Result<RsaPrivateKey> from_pem(std::string_view pem, std::string_view passphrase = {});

  // A fresh key (e.g. an OCI session key).
  static Result<RsaPrivateKey> generate(int bits);

  // RSASSA-PKCS1-v1_5 over data with the hash: the raw signature bytes.
  Result<std::string> sign(std::string_view data, RsaHash hash) const;
  // The public half as DER SubjectPublicKeyInfo.
  std::string public_key_der() const;

  struct Impl;

private:
  explicit RsaPrivateKey(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}
  std::shared_ptr<Impl> m_impl;
};

// An X.509 certificate from PEM: its DER bytes, the SHA-1 fingerprint as
// upper-case colon-separated hex, and its subject's attribute values
// (e.g. every organizationalUnitName).
struct X509Info {
  std::string der;
  std::string sha1_fingerprint;
  std::vector<std::string> subject_ous;
  std::vector<std::string> subject_os;
};
Result<X509Info> parse_x509_pem(std::string_view pem);

// A compact JWS: base64url(header) "." base64url(claims) "." base64url(sig),
// the JSON texts used byte for byte as given, signed RS256 (sha256) or
// RS512 (sha512).
Result<std::string> sign_jwt(std::string_view header_json, std::string_view claims_json, const RsaPrivateKey& key,
                             RsaHash hash);

// application/x-www-form-urlencoded from (key, value) pairs, sorted by key
// as Go's url.Values.Encode writes it.
std::string form_encode(std::vector<std::pair<std::string, std::string>> values);

} // namespace sdscope::net
