#include "discovery/registry.h"

#include <algorithm>

#include "discovery/file.h"
#include "discovery/http.h"

namespace sdscope::discovery {

namespace {

// The one table of mechanisms, sorted by key. Each line names the unit
// that owns the mechanism's config block (and, later, its discoverer).
// Prometheus v2.45 mechanisms first in key order; `since` marks later ones.
constexpr Mechanism k_mechanisms[] = {
    {"file", "file_sd_configs", &file::parse_config},
    {"http", "http_sd_configs", &http::parse_config},
};

} // namespace

std::span<const Mechanism> mechanisms() { return k_mechanisms; }

const Mechanism* find_mechanism(std::string_view name) {
  for (const Mechanism& m : k_mechanisms) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

} // namespace sdscope::discovery
