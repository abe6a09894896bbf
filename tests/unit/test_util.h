#pragma once

// Helpers shared by the unit tests.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "discovery/registry.h"
#include "yaml/decode.h"

namespace sdscope::test {

// Parses text as YAML and decodes its root with T's fields (strictly);
// returns every diagnostic as "line:col: message", errors before warnings.
template <class T> std::vector<std::string> decode_errors(std::string_view text, T& out) {
  yaml::Diagnostics diags;
  auto doc = yaml::Document::parse(text);
  REQUIRE(doc);
  yaml::Decoder decoder(diags, "test.yml");
  decoder.decode(doc->root(), out);
  std::vector<std::string> messages;
  for (const yaml::Diagnostic& d : diags.sorted()) {
    messages.push_back(std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + ": " +
                       (d.severity == yaml::Severity::warning ? "warning: " : "") + d.message);
  }
  return messages;
}

struct SdResult {
  std::unique_ptr<discovery::SdConfig> config;
  std::vector<std::string> errors; // "line:col: message", warnings prefixed "warning: "
};

// Decodes one config block of the named mechanism (YAML mapping text).
SdResult decode_sd(std::string_view mechanism, std::string_view text);

// The first error message without its position, or "" when there is none.
std::string first_error(const SdResult& r);

// A new empty directory under the system's temporary directory.
std::filesystem::path scratch_dir();
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);

// A CA, a server certificate for "localhost" and "sd.example.test" (not for
// the IP 127.0.0.1, so server_name is needed), one for the IP 127.0.0.1 and
// a client certificate, made once with the openssl CLI. Members are paths.
struct Pki {
  std::filesystem::path dir;
  std::string ca, server_cert, server_key, loopback_cert, loopback_key, client_cert, client_key, other_ca;

  static const Pki& get();
};

} // namespace sdscope::test
