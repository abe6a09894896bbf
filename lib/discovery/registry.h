#pragma once

#include <span>
#include <string_view>

#include "discovery/sd_config.h"

namespace sdscope::discovery {

struct Mechanism {
  std::string_view name; // "consul"
  std::string_view key;  // "consul_sd_configs"
  ParseFn parse;
  // First Prometheus release that knows the mechanism, when after v2.45.
  std::string_view since = {};
  // Compiled into Debian's prometheus 2.42 (the differential-test oracle).
  bool in_debian = true;
  // sdscope runs its discoverer (targets, explain); else it only checks
  // the config block.
  bool discovers = false;
};

// Every mechanism, sorted by key (the order Prometheus visits a job's SD
// lists in).
std::span<const Mechanism> mechanisms();
const Mechanism* find_mechanism(std::string_view name);

} // namespace sdscope::discovery
