#pragma once

// Throwaway RSA keys for the tests of request signing (gce, stackit, oci),
// made with OpenSSL at run time, and signature checks done the way a
// provider's server does them: with the public key only.

#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <doctest/doctest.h>

namespace sdscope::test {

struct TestRsaKey {
  std::string private_pem; // PKCS#8, unencrypted
  std::string public_pem;  // SubjectPublicKeyInfo
  std::string pkcs1_pem;   // the same key as "BEGIN RSA PRIVATE KEY"

  // A new 2048-bit key (TEST KEY: never used anywhere but these tests).
  static TestRsaKey generate() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    REQUIRE(key != nullptr);
    TestRsaKey out;
    auto write = [&](auto fn) {
      BIO* bio = BIO_new(BIO_s_mem());
      REQUIRE(fn(bio) == 1);
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      std::string text(data, static_cast<size_t>(n));
      BIO_free(bio);
      return text;
    };
    out.private_pem = write([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    out.public_pem = write([&](BIO* b) { return PEM_write_bio_PUBKEY(b, key); });
    out.pkcs1_pem = write([&](BIO* b) {
      return PEM_write_bio_PrivateKey_traditional(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    EVP_PKEY_free(key);
    return out;
  }
  // The private key encrypted (PKCS#8, AES-256-CBC) with passphrase.
  std::string encrypted_pem(const std::string& passphrase) const {
    BIO* in = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    REQUIRE(key != nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), passphrase.data(),
                                          static_cast<int>(passphrase.size()), nullptr, nullptr) == 1);
    char* data = nullptr;
    long n = BIO_get_mem_data(out, &data);
    std::string text(data, static_cast<size_t>(n));
    BIO_free(out);
    EVP_PKEY_free(key);
    return text;
  }
};

// Two keys made once per test run (a key takes a moment to make).
inline const TestRsaKey& test_key() {
  static const TestRsaKey key = TestRsaKey::generate();
  return key;
}
inline const TestRsaKey& other_test_key() {
  static const TestRsaKey key = TestRsaKey::generate();
  return key;
}

// RSASSA-PKCS1-v1_5 verification with a PEM public key; md is "sha256" or
// "sha512".
inline bool rsa_verify(const std::string& public_pem, std::string_view data, std::string_view signature,
                       const char* md) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_get_digestbyname(md), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

} // namespace sdscope::test
