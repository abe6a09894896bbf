#include "test_util.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace sdscope::test {

SdResult decode_sd(std::string_view mechanism, std::string_view text) {
  const discovery::Mechanism* m = discovery::find_mechanism(mechanism);
  REQUIRE_MESSAGE(m != nullptr, "unknown mechanism ", std::string(mechanism));
  yaml::Diagnostics diags;
  auto doc = yaml::Document::parse(text);
  REQUIRE(doc);
  yaml::Decoder decoder(diags, "test.yml");
  SdResult result;
  result.config = m->parse(decoder, doc->root());
  for (const yaml::Diagnostic& d : diags.sorted()) {
    result.errors.push_back(std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + ": " +
                            (d.severity == yaml::Severity::warning ? "warning: " : "") + d.message);
  }
  return result;
}

std::string first_error(const SdResult& r) {
  for (const std::string& e : r.errors) {
    size_t colon = e.find(": ");
    std::string message = e.substr(colon + 2);
    if (message.rfind("warning: ", 0) != 0) {
      return message;
    }
  }
  return "";
}

std::filesystem::path scratch_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sdscope-test-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

namespace {

Pki make_pki() {
  Pki p;
  p.dir = scratch_dir();
  std::string d = p.dir.string();
  write_file(p.dir / "server.ext", "subjectAltName=DNS:localhost,DNS:sd.example.test\n"
                                   "extendedKeyUsage=serverAuth\n");
  write_file(p.dir / "loopback.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  write_file(p.dir / "client.ext", "extendedKeyUsage=clientAuth\n");
  std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  auto signed_by_ca = [&](const std::string& name, const std::string& subject) {
    return " && openssl req" + key + " -keyout " + name + ".key -out " + name + ".csr -subj " + subject +
           " && openssl x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -out " + name +
           ".crt -days 2 -extfile " + name + ".ext";
  };
  std::string script = "cd " + d + " && openssl req -x509" + key +
                       " -keyout ca.key -out ca.crt -days 2 -subj /CN=sdscope-test-ca" +
                       " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign" +
                       " && openssl req -x509" + key + " -keyout other.key -out other.crt -days 2 -subj /CN=other-ca" +
                       signed_by_ca("server", "/CN=localhost") + signed_by_ca("loopback", "/CN=127.0.0.1") +
                       signed_by_ca("client", "/CN=sdscope-client");
  REQUIRE(std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0);
  p.ca = (p.dir / "ca.crt").string();
  p.other_ca = (p.dir / "other.crt").string();
  p.server_cert = (p.dir / "server.crt").string();
  p.server_key = (p.dir / "server.key").string();
  p.loopback_cert = (p.dir / "loopback.crt").string();
  p.loopback_key = (p.dir / "loopback.key").string();
  p.client_cert = (p.dir / "client.crt").string();
  p.client_key = (p.dir / "client.key").string();
  return p;
}

} // namespace

const Pki& Pki::get() {
  static const Pki pki = make_pki();
  return pki;
}

} // namespace sdscope::test
