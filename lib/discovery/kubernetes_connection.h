#pragma once

// How kubernetes_sd reaches the API server (spec/sd-platforms.md §1.2):
// api_server with the inline HTTP client block, a kubeconfig file
// (kubernetes_kubeconfig.h) or the pod's in-cluster configuration. Each
// mode becomes a base URL and an HttpClientConfig, so the informers do not
// care which one was used.

#include <cstdlib>
#include <functional>
#include <string>

#include "model/url.h"
#include "net/http_config.h"
#include "util/result.h"

namespace sdscope::discovery::kubernetes {

struct Connection {
  model::Url server; // may carry a path prefix
  net::HttpClientConfig http_client;
};

// Where rest.InClusterConfig looks: the service account directory and the
// process environment. Tests substitute their own.
struct InClusterEnvironment {
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // An environment variable's value, "" when unset.
  std::function<std::string(const std::string&)> getenv = [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return std::string(value == nullptr ? "" : value);
  };
};

// rest.InClusterConfig: https://<KUBERNETES_SERVICE_HOST:PORT>, the service
// account token (read now, and again by the client as it rotates) and its
// CA when that file holds a usable certificate.
Result<Connection> in_cluster_connection(const InClusterEnvironment& environment);

// clientcmd's inClusterClientConfig.Possible: both variables set and the
// token file present (a kubeconfig without a server falls back to it).
bool in_cluster_possible(const InClusterEnvironment& environment);

// The pod's own namespace for namespaces.own_namespace, verbatim.
Result<std::string> read_own_namespace(const InClusterEnvironment& environment);

} // namespace sdscope::discovery::kubernetes
