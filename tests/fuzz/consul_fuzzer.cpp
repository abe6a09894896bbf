// libFuzzer entry point for the Consul API bodies consul_sd decodes: the
// catalog's service list, a service's health entries and /v1/agent/self.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "discovery/consul_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace consul = sdscope::discovery::consul;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)consul::parse_catalog(body);
  (void)consul::service_group(body, "web", "dc1", ",");
  (void)consul::datacenter_of(body);
  return 0;
}
