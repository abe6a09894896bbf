#pragma once

// The running part of kubernetes_sd: client-go style LIST+WATCH informers
// feeding the per-role mappings of kubernetes_roles.h.

#include <chrono>
#include <memory>

#include "discovery/discoverer.h"
#include "discovery/kubernetes.h"
#include "discovery/kubernetes_connection.h"
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
  // The longest a LIST (or /version) request may take. client-go sets none
  // and relies on the API server's own limit (--request-timeout, 1 min by
  // default); without one, a server that never answers would hold the
  // informer for ever, even after it recovers.
  std::chrono::milliseconds list_timeout{120000};
};

// A discoverer for config, or why sdscope cannot run one (a role it does
// not support yet, a connection that cannot be set up, or an unusable HTTP
// client configuration). in_cluster says where the in-cluster mode and
// namespaces.own_namespace look.
Result<std::unique_ptr<Discoverer>> make_discovery(const Config& config, const Timing& timing = {},
                                                   const InClusterEnvironment& in_cluster = {});

} // namespace sdscope::discovery::kubernetes
