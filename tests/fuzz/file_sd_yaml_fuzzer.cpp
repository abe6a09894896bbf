// libFuzzer entry point for file_sd's YAML target group files: any bytes
// give groups plus diagnostics, never a crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "discovery/target_groups.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sdscope::yaml::Diagnostics diagnostics;
  (void)sdscope::discovery::parse_groups_yaml(std::string_view(reinterpret_cast<const char*>(data), size),
                                              "fuzz.yml", diagnostics);
  return 0;
}
