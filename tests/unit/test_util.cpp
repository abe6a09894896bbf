#include "test_util.h"

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

} // namespace sdscope::test
