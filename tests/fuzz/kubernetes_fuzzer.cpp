// libFuzzer entry point for what kubernetes_sd reads from an API server:
// the bytes as a LIST response page and, line by line, as watch events;
// every object decoded goes through every role, joined with the others.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "discovery/kubernetes_informer.h"
#include "discovery/kubernetes_roles.h"

namespace k8s = sdscope::discovery::kubernetes;

namespace {

void through_every_role(const nlohmann::json& object, const k8s::Joined& joined) {
  (void)k8s::pod_group(object, joined.nodes);
  (void)k8s::service_group(object);
  (void)k8s::node_group(object);
  (void)k8s::ingress_group(object);
  (void)k8s::endpoints_group(object, joined);
  (void)k8s::endpointslice_group(object, joined, k8s::EndpointSliceApi::v1);
  (void)k8s::endpointslice_group(object, joined, k8s::EndpointSliceApi::v1beta1);
  (void)k8s::endpointslice_service_name(object);
  (void)k8s::pod_node_names(object);
  (void)k8s::endpoints_node_names(object);
  (void)k8s::endpointslice_node_names(object);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, k8s::ObjectStore::Object> store;
  k8s::ObjectLookup lookup = [&store](const std::string& key) -> k8s::ObjectStore::Object {
    auto it = store.find(key);
    return it == store.end() ? nullptr : it->second;
  };
  k8s::Joined joined{lookup, lookup, lookup};

  if (sdscope::Result<k8s::ListPage> page = k8s::parse_list_page(text)) {
    for (const auto& [key, object] : page->objects) {
      store[key] = object;
    }
    for (const auto& [key, object] : page->objects) {
      through_every_role(*object, joined);
    }
  }
  for (size_t start = 0; start < text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    if (sdscope::Result<k8s::WatchEvent> event = k8s::parse_watch_event(text.substr(start, end - start))) {
      if (event->type != "ERROR" && event->type != "BOOKMARK") {
        through_every_role(event->object, joined);
      }
    }
    start = end + 1;
  }
  return 0;
}
