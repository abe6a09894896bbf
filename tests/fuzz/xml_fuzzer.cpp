// libFuzzer entry point for the XML answers sdscope reads (util/xml.h): the
// bytes as an ec2_sd DescribeAvailabilityZones and DescribeInstances page,
// a eureka_sd application list and a uyuni_sd XML-RPC answer.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "discovery/ec2.h"
#include "discovery/eureka.h"
#include "discovery/xmlrpc.h"

namespace {

namespace xmlrpc = sdscope::discovery::xmlrpc;
using sdscope::util::xml::Element;

// Decodes an XML-RPC value as every Go type uyuni_sd reads, and its members
// and items the same way.
void decode_as_anything(const Element& value) {
  int64_t number = 0;
  std::string text;
  bool flag = false;
  (void)xmlrpc::decode_int(value, number);
  (void)xmlrpc::decode_string(value, text);
  (void)xmlrpc::decode_bool(value, flag);
  (void)xmlrpc::decode_array(value, [](const Element& item) -> sdscope::Result<void> {
    decode_as_anything(item);
    return {};
  });
  (void)xmlrpc::decode_struct(value, [](std::string_view, const Element& member) -> sdscope::Result<void> {
    decode_as_anything(member);
    return {};
  });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace discovery = sdscope::discovery;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto zone_ids = discovery::ec2::zone_ids_from_body(body);
  const std::map<std::string, std::string> no_zones;
  std::string next_token;
  (void)discovery::ec2::targets_from_page(body, "us-east-1", 80, zone_ids ? *zone_ids : no_zones, next_token);
  (void)discovery::eureka::groups_from_apps(body);
  if (auto answer = xmlrpc::read_answer(body); answer && answer->value != nullptr) {
    decode_as_anything(*answer->value);
  }
  return 0;
}
