// JWT and RSA signing on OpenSSL's EVP API (see jwt.h). Keys are parsed
// once; every signature is a fresh EVP_MD_CTX, so one key serves threads.
#include "net/jwt.h"

#include <algorithm>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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
