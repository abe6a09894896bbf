// libFuzzer entry point for file_sd's JSON target group files: any bytes
// give groups or an error, never a crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "discovery/target_groups.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)sdscope::discovery::parse_groups_json(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
