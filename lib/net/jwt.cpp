// JWT and RSA signing on OpenSSL's EVP API (see jwt.h). Keys are parsed
// once; every signature is a fresh EVP_MD_CTX, so one key serves threads.
#include "net/jwt.h"

#include <algorithm>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/base64.h"
#include "util/strings.h"

namespace sdscope::net {

struct RsaPrivateKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

namespace {

// The reason of OpenSSL's latest error (and clears the queue).
std::string openssl_reason(std::string_view fallback) {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) {
    return std::string(fallback);
  }
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? std::string(reason) : std::string(fallback);
}

int passphrase_callback(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* passphrase = static_cast<const std::string*>(user);
  int n = std::min<int>(size, static_cast<int>(passphrase->size()));
  std::copy_n(passphrase->data(), n, buf);
  return n;
}

} // namespace

std::string encode_base64url(std::string_view in) {
  std::string out = util::encode_base64_std(in);
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

Result<std::string> decode_base64url(std::string_view text) {
  std::string std_text(text);
  for (char& c : std_text) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '\r' || c == '\n') {
      return fail("illegal base64url data");
    }
  }
  while (std_text.size() % 4 != 0) {
    std_text += '=';
  }
  return util::decode_base64_std(std_text);
}

Result<RsaPrivateKey> RsaPrivateKey::from_pem(std::string_view pem, std::string_view passphrase) {
  if (pem.find("-----BEGIN ") == std::string_view::npos) {
    return fail("no PEM data found");
  }
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::string pass(passphrase);
  ERR_clear_error();
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, &passphrase_callback, &pass);
  BIO_free(bio);
  if (key == nullptr) {
    return fail(openssl_reason("cannot parse the private key"));
  }
  auto impl = std::make_shared<Impl>();
  impl->key = key;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return fail("not an RSA key");
  }
  return RsaPrivateKey(std::move(impl));
}

Result<RsaPrivateKey> RsaPrivateKey::generate(int bits) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (key == nullptr) {
    return fail("RSA key generation failed: " + openssl_reason("unknown error"));
  }
  auto impl = std::make_shared<Impl>();
  impl->key = key;
  return RsaPrivateKey(std::move(impl));
}

std::string RsaPrivateKey::public_key_der() const {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(m_impl->key, &der);
  std::string out = n > 0 ? std::string(reinterpret_cast<char*>(der), static_cast<size_t>(n)) : std::string();
  OPENSSL_free(der);
  return out;
}

Result<X509Info> parse_x509_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    return fail("cannot parse the certificate: " + openssl_reason("no PEM data found"));
  }
  X509Info info;
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n > 0) {
    info.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  }
  OPENSSL_free(der);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(cert, EVP_sha1(), digest, &length);
  constexpr char k_hex[] = "0123456789ABCDEF";
  for (unsigned i = 0; i < length; ++i) {
    info.sha1_fingerprint += (i == 0 ? "" : ":");
    info.sha1_fingerprint += k_hex[digest[i] >> 4];
    info.sha1_fingerprint += k_hex[digest[i] & 15];
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                      static_cast<size_t>(ASN1_STRING_length(data)));
    if (nid == NID_organizationalUnitName) {
      info.subject_ous.push_back(value);
    } else if (nid == NID_organizationName) {
      info.subject_os.push_back(value);
    }
  }
  X509_free(cert);
  return info;
}

Result<std::string> RsaPrivateKey::sign(std::string_view data, RsaHash hash) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = hash == RsaHash::sha256 ? EVP_sha256() : EVP_sha512();
  size_t length = 0;
  std::string signature;
  bool ok = EVP_DigestSignInit(ctx, nullptr, md, nullptr, m_impl->key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size()) ==
                1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    return fail("RSA signing failed: " + openssl_reason("unknown error"));
  }
  return signature;
}

Result<std::string> sign_jwt(std::string_view header_json, std::string_view claims_json, const RsaPrivateKey& key,
                             RsaHash hash) {
  std::string signing_input = encode_base64url(header_json) + "." + encode_base64url(claims_json);
  Result<std::string> signature = key.sign(signing_input, hash);
  if (!signature) {
    return fail(signature.error());
  }
  return signing_input + "." + encode_base64url(*signature);
}

std::string form_encode(std::vector<std::pair<std::string, std::string>> values) {
  std::stable_sort(values.begin(), values.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, value] : values) {
    if (!out.empty()) {
      out += '&';
    }
    out += util::query_escape(key) + "=" + util::query_escape(value);
  }
  return out;
}

} // namespace sdscope::net
