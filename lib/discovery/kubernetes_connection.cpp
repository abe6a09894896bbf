#include "discovery/kubernetes_connection.h"

#include <sys/stat.h>

#include "net/http_client.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

namespace {

std::string service_account_file(const InClusterEnvironment& environment, const std::string& name) {
  return environment.service_account_dir + "/" + name;
}

// certutil.NewPool succeeds: the file holds at least one certificate. The
// HTTP client applies the same test when it is built.
bool usable_ca_file(const std::string& path) {
  net::HttpClientConfig probe;
  probe.tls_config.ca_file = path;
  return net::HttpClient::make(probe).has_value();
}

} // namespace

Result<Connection> in_cluster_connection(const InClusterEnvironment& environment) {
  std::string host = environment.getenv("KUBERNETES_SERVICE_HOST");
  std::string port = environment.getenv("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return fail("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                "must be defined");
  }
  std::string token_file = service_account_file(environment, "token");
  // Read once now only to fail as client-go does; requests re-read it.
  if (Result<std::string> token = util::os_read_file(token_file); !token) {
    return fail(token.error());
  }
  Connection connection;
  if (std::string error = model::parse_url("https://" + util::join_host_port(host, port), connection.server);
      !error.empty()) {
    return fail(error);
  }
  connection.http_client.authorization = net::Authorization{"Bearer", {}, token_file, {}};
  // Without a usable CA client-go logs and falls back to the system roots.
  if (std::string ca_file = service_account_file(environment, "ca.crt"); usable_ca_file(ca_file)) {
    connection.http_client.tls_config.ca_file = ca_file;
  }
  // client-go's transport honours HTTP(S)_PROXY and NO_PROXY.
  connection.http_client.proxy.proxy_from_environment = true;
  return connection;
}

bool in_cluster_possible(const InClusterEnvironment& environment) {
  struct stat info {};
  return !environment.getenv("KUBERNETES_SERVICE_HOST").empty() &&
         !environment.getenv("KUBERNETES_SERVICE_PORT").empty() &&
         ::stat(service_account_file(environment, "token").c_str(), &info) == 0 && !S_ISDIR(info.st_mode);
}

Result<std::string> read_own_namespace(const InClusterEnvironment& environment) {
  Result<std::string> contents = util::os_read_file(service_account_file(environment, "namespace"));
  if (!contents) {
    return fail("could not determine the pod's namespace: " + contents.error());
  }
  if (contents->empty()) {
    return fail("could not read own namespace name (empty file)");
  }
  return *contents;
}

} // namespace sdscope::discovery::kubernetes
