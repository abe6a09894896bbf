// libFuzzer entry point for the config loader: any bytes must load to a
// Config plus diagnostics, never crash, hang or leak. Built with
// -DENABLE_FUZZING=ON and clang; the corpus lives in tests/fuzz/corpus/config.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <yaml-cpp/emitter.h>

#include "config/config.h"
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
  // Loading with jobs consumed as they are parsed (as check does) must find
  // the same problems, and in a valid config the same jobs.
  sdscope::yaml::Diagnostics early_diagnostics;
  sdscope::config::LoadOptions early;
  early.consume_job = [](const sdscope::config::ScrapeConfig&) {};
  sdscope::config::Config consumed = sdscope::config::load_text(text, "fuzz.yml", early_diagnostics, early);
  if (early_diagnostics.items().size() != diagnostics.items().size() ||
      (diagnostics.error_count() == 0 &&
       sdscope::config::job_count(consumed) != sdscope::config::job_count(config))) {
    std::abort();
  }
  return 0;
}
