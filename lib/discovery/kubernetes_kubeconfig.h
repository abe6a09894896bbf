#pragma once

// kubernetes_sd's kubeconfig_file mode: clientcmd.BuildConfigFromFlags("",
// path) of client-go v0.26 as Prometheus v2.45 calls it, reduced to a
// Connection. The context's namespace is not used: Prometheus takes the
// namespaces from its own config only.

#include <string>

#include "discovery/kubernetes_connection.h"
#include "util/result.h"

namespace sdscope::discovery::kubernetes {

// Loads the kubeconfig at path and resolves its current context. Errors
// read like client-go's (`stat <path>: no such file or directory`,
// `invalid configuration: ...`); a kubeconfig without any server falls back
// to the in-cluster configuration when that is possible, as client-go does.
// sdscope does not run exec or auth-provider plugins and says so.
Result<Connection> kubeconfig_connection(const std::string& path, const InClusterEnvironment& in_cluster);

} // namespace sdscope::discovery::kubernetes
