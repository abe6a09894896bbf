// libFuzzer entry point for the config loader: any bytes must load to a
// Config plus diagnostics, never crash, hang or leak. Built with
// -DENABLE_FUZZING=ON and clang; the corpus lives in tests/fuzz/corpus/config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <yaml-cpp/emitter.h>

#include "config/config.h"
#include "discovery/target_groups.h"
#include "yaml/visit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sdscope::yaml::Diagnostics diagnostics;
  sdscope::config::Config config = sdscope::config::load_text(text, "fuzz.yml", diagnostics);
  if (diagnostics.error_count() == 0) {
    YAML::Emitter emitter;
    sdscope::yaml::Printer printer(emitter);
    printer.value(config);
  }
  // The same bytes as a file_sd / http_sd target group file.
  (void)sdscope::discovery::parse_groups_json(text);
  sdscope::discovery::parse_groups_yaml(text, "fuzz.yml", diagnostics);
  return 0;
}
