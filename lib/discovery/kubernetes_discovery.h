#pragma once

// The running part of kubernetes_sd: client-go style LIST+WATCH informers
// feeding the per-role mappings of kubernetes_roles.h.

#include <chrono>
#include <memory>

#include "discovery/discoverer.h"
#include "discovery/kubernetes.h"
#include "util/result.h"

namespace sdscope::discovery::kubernetes {

// Retry pacing: client-go's backoff (0.8 s doubling to 30 s, jitter 1.0)
// by default; tests shorten it.
struct Timing {
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  bool jitter = true;
  // Between failed GET /version probes (roles ingress and endpointslice).
  std::chrono::milliseconds probe_retry{10000};
};

// A discoverer for config, or why sdscope cannot run one (a role or
// connection mode it does not support yet, or an unusable HTTP client
// configuration).
Result<std::unique_ptr<Discoverer>> make_discovery(const Config& config, const Timing& timing = {});

} // namespace sdscope::discovery::kubernetes
