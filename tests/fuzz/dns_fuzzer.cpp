// libFuzzer entry point for dns_sd's reply decoder (the bytes a DNS server
// sends back) and its query builder (names from the config).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "discovery/dns_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace dns = sdscope::discovery::dns;
  (void)dns::parse_message(data, size);
  (void)dns::build_query(std::string_view(reinterpret_cast<const char*>(data), size), dns::k_type_srv);
  return 0;
}
