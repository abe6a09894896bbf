// net/jwt: base64url (RFC 4648 vectors), RSA PKCS#1 v1.5 signatures checked
// against the openssl CLI and a public-key verification, JWT assembly, and
// the key formats (PKCS#8, PKCS#1, encrypted PKCS#8).

#include <cstdio>

#include <doctest/doctest.h>

#include "net/jwt.h"
#include "rsa_test_util.h"
#include "test_util.h"
#include "util/base64.h"
#include "util/strings.h"

using namespace sdscope;

namespace {

// `openssl dgst -<md> -sign key` over data: an independent signer.
std::string openssl_cli_signature(const std::string& private_pem, const std::string& data, const char* md) {
  std::filesystem::path dir = test::scratch_dir();
  test::write_file(dir / "key.pem", private_pem);
  test::write_file(dir / "data", data);
  std::string command = "openssl dgst -" + std::string(md) + " -sign " + (dir / "key.pem").string() + " -out " +
                        (dir / "sig").string() + " " + (dir / "data").string();
  REQUIRE(std::system(command.c_str()) == 0);
  std::string signature = test::read_text(dir / "sig");
  std::filesystem::remove_all(dir);
  return signature;
}

} // namespace

TEST_SUITE("jwt") {
  TEST_CASE("jwt: base64url, RFC 4648 vectors, no padding") {
    CHECK(net::encode_base64url("") == "");
    CHECK(net::encode_base64url("f") == "Zg");
    CHECK(net::encode_base64url("fo") == "Zm8");
    CHECK(net::encode_base64url("foo") == "Zm9v");
    CHECK(net::encode_base64url("foob") == "Zm9vYg");
    CHECK(net::encode_base64url("\xfb\xff") == "-_8");
    CHECK(net::decode_base64url("-_8").value() == "\xfb\xff");
    CHECK(net::decode_base64url("Zm9vYg==").value() == "foob");
    CHECK(!net::decode_base64url("+/8"));
    CHECK(!net::decode_base64url("Zm9v!"));
  }

  TEST_CASE("jwt: RS256 and RS512 signatures equal openssl's and verify with the public key") {
    const test::TestRsaKey& key = test::test_key();
    Result<net::RsaPrivateKey> loaded = net::RsaPrivateKey::from_pem(key.private_pem);
    REQUIRE(loaded);
    std::string data = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UifQ";
    Result<std::string> sha256 = loaded->sign(data, net::RsaHash::sha256);
    Result<std::string> sha512 = loaded->sign(data, net::RsaHash::sha512);
    REQUIRE(sha256);
    REQUIRE(sha512);
    CHECK(sha256->size() == 256);
    CHECK(*sha256 == openssl_cli_signature(key.private_pem, data, "sha256"));
    CHECK(*sha512 == openssl_cli_signature(key.private_pem, data, "sha512"));
    CHECK(test::rsa_verify(key.public_pem, data, *sha256, "sha256"));
    CHECK(test::rsa_verify(key.public_pem, data, *sha512, "sha512"));
    CHECK(!test::rsa_verify(key.public_pem, data + "x", *sha256, "sha256"));
    CHECK(!test::rsa_verify(test::other_test_key().public_pem, data, *sha256, "sha256"));
  }

  TEST_CASE("jwt: sign_jwt keeps the JSON texts and signs header.claims") {
    const test::TestRsaKey& key = test::test_key();
    net::RsaPrivateKey loaded = net::RsaPrivateKey::from_pem(key.private_pem).value();
    std::string header = R"({"alg":"RS256","typ":"JWT"})";
    std::string claims = R"({"iss":"a@b","aud":"https://x/token"})";
    Result<std::string> jwt = net::sign_jwt(header, claims, loaded, net::RsaHash::sha256);
    REQUIRE(jwt);
    std::vector<std::string> parts = util::split(*jwt, '.');
    REQUIRE(parts.size() == 3);
    CHECK(net::decode_base64url(parts[0]).value() == header);
    CHECK(net::decode_base64url(parts[1]).value() == claims);
    CHECK(test::rsa_verify(key.public_pem, parts[0] + "." + parts[1], net::decode_base64url(parts[2]).value(),
                           "sha256"));
  }

  TEST_CASE("jwt: key formats: PKCS#1, encrypted PKCS#8 with its passphrase; errors name no key material") {
    const test::TestRsaKey& key = test::test_key();
    std::string data = "payload";
    std::string want = net::RsaPrivateKey::from_pem(key.private_pem)->sign(data, net::RsaHash::sha256).value();
    Result<net::RsaPrivateKey> pkcs1 = net::RsaPrivateKey::from_pem(key.pkcs1_pem);
    REQUIRE(pkcs1);
    CHECK(pkcs1->sign(data, net::RsaHash::sha256).value() == want);
    std::string encrypted = key.encrypted_pem("s3cret pass");
    Result<net::RsaPrivateKey> decrypted = net::RsaPrivateKey::from_pem(encrypted, "s3cret pass");
    REQUIRE(decrypted);
    CHECK(decrypted->sign(data, net::RsaHash::sha256).value() == want);
    Result<net::RsaPrivateKey> wrong = net::RsaPrivateKey::from_pem(encrypted, "wrong");
    REQUIRE(!wrong);
    CHECK(wrong.error().find("s3cret") == std::string::npos);
    CHECK(net::RsaPrivateKey::from_pem("not a key").error() == "no PEM data found");
    std::string broken = key.private_pem.substr(0, 400) + "\n-----END PRIVATE KEY-----\n"; // cut short
    Result<net::RsaPrivateKey> bad = net::RsaPrivateKey::from_pem(broken);
    REQUIRE(!bad);
    CHECK(bad.error().find(key.private_pem.substr(300, 40)) == std::string::npos);
  }

  TEST_CASE("jwt: form_encode sorts by key and escapes as url.Values does") {
    CHECK(net::form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", "a.b-c_d"}}) ==
          "assertion=a.b-c_d&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
    CHECK(net::form_encode({{"b", "x y"}, {"a", "1/2"}}) == "a=1%2F2&b=x+y");
  }
}
