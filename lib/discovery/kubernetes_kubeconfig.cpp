// kubeconfig loading as client-go v0.26's clientcmd does it for
// BuildConfigFromFlags("", path): ClientConfigLoadingRules.Load with an
// explicit path, DirectClientConfig.ClientConfig for the current context,
// and the DeferredLoadingClientConfig fallback to in-cluster.
#include "discovery/kubernetes_kubeconfig.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "util/base64.h"
#include "util/os_file.h"
#include "util/strings.h"
#include "yaml/decode.h"
#include "yaml/document.h"
#include "yaml/visit.h"

namespace sdscope::discovery::kubernetes {

namespace {

// The parts of the v1 kubeconfig types that decide the connection.
struct Cluster {
  std::string server;
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string certificate_authority;
  std::string certificate_authority_data; // decoded
  std::string proxy_url;
};

struct User {
  std::string client_certificate, client_key;
  std::string client_certificate_data, client_key_data; // decoded
  std::string token, token_file;
  std::string username, password;
  bool impersonates = false; // as, as-uid, as-groups, as-user-extra
  bool auth_provider = false;
  std::string auth_provider_name;
  bool exec = false;
};

struct Context {
  std::string cluster, user;
};

struct Kubeconfig {
  std::map<std::string, Cluster> clusters;
  std::map<std::string, User> users;
  std::map<std::string, Context> contexts;
  std::string current_context;
};

// Decodes the YAML as client-go does (YAML to JSON, then encoding/json into
// the v1 types): unknown keys are ignored, null leaves a field unset, and
// the first type mismatch is the error, in encoding/json's words.
class Reader {
public:
  Result<Kubeconfig> read(yaml::Node root) {
    Kubeconfig config;
    if (root && !root.is_null() && !root.is_mapping()) {
      // The codec first looks for apiVersion and kind.
      return fail("couldn't get version/kind; json parse error: json: cannot unmarshal " + json_kind(root) +
                  " into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind "
                  "string \"json:\\\"kind,omitempty\\\"\" }");
    }
    Field top{"Config", ""};
    each_pair(root, [&](std::string_view key, yaml::Node value) {
      if (key == "current-context") {
        text(value, top.at(key), config.current_context);
      } else if (key == "clusters") {
        named_list(value, top.at(key), "NamedCluster", "cluster", "Cluster", config.clusters, &Reader::cluster);
      } else if (key == "users") {
        named_list(value, top.at(key), "NamedAuthInfo", "user", "AuthInfo", config.users, &Reader::user);
      } else if (key == "contexts") {
        named_list(value, top.at(key), "NamedContext", "context", "Context", config.contexts, &Reader::context);
      }
    });
    if (!m_error.empty()) {
      return fail(m_error);
    }
    return config;
  }

private:
  // Where a value sits, for UnmarshalTypeError: the innermost Go struct and
  // the JSON field path from the top.
  struct Field {
    std::string_view go_struct;
    std::string path;
    Field at(std::string_view key) const {
      return {go_struct, path.empty() ? std::string(key) : path + "." + std::string(key)};
    }
    Field inside(std::string_view struct_name) const { return {struct_name, path}; }
  };

  static std::string json_kind(yaml::Node n) {
    if (n.is_mapping()) {
      return "object";
    }
    if (n.is_sequence()) {
      return "array";
    }
    switch (n.tag()) {
    case yaml::Tag::bool_:
      return "bool";
    case yaml::Tag::int_:
    case yaml::Tag::float_:
      return "number";
    default:
      return "string";
    }
  }

  void type_error(yaml::Node n, const Field& field, std::string_view go_type) {
    if (m_error.empty()) {
      m_error = "json: cannot unmarshal " + json_kind(n) + " into Go struct field " + std::string(field.go_struct) +
                "." + field.path + " of type " + std::string(go_type);
    }
  }

  static bool is_string(yaml::Node n) {
    return n.is_scalar() && n.tag() != yaml::Tag::bool_ && n.tag() != yaml::Tag::int_ && n.tag() != yaml::Tag::float_;
  }

  void text(yaml::Node n, const Field& field, std::string& out) {
    if (n.is_null()) {
      return;
    }
    if (!is_string(n)) {
      type_error(n, field, "string");
      return;
    }
    out = yaml::scalar_string(n);
  }

  void boolean(yaml::Node n, const Field& field, bool& out) {
    if (n.is_null()) {
      return;
    }
    if (!n.is_scalar() || n.tag() != yaml::Tag::bool_) {
      type_error(n, field, "bool");
      return;
    }
    out = yaml::scalar_bool(n);
  }

  // A []byte field: base64 text.
  void bytes(yaml::Node n, const Field& field, std::string& out) {
    if (n.is_null()) {
      return;
    }
    if (!is_string(n)) {
      type_error(n, field, "[]uint8");
      return;
    }
    Result<std::string> decoded = util::decode_base64_std(yaml::scalar_string(n));
    if (!decoded) {
      if (m_error.empty()) {
        m_error = decoded.error();
      }
      return;
    }
    out = std::move(*decoded);
  }

  template <class F> void each_pair(yaml::Node n, F&& on_pair) {
    for (size_t i = 0; n.is_mapping() && i < n.size(); ++i) {
      if (n.key(i).is_scalar()) {
        on_pair(n.key(i).text(), n.value(i));
      }
    }
  }

  // An object-typed field: a mapping or null.
  bool object(yaml::Node n, const Field& field, std::string_view go_type) {
    if (n.is_null()) {
      return false;
    }
    if (!n.is_mapping()) {
      type_error(n, field, go_type);
      return false;
    }
    return true;
  }

  // A list of {name, <item>} entries, turned into a map by name as the
  // conversion to the internal types does.
  template <class T>
  void named_list(yaml::Node n, const Field& field, std::string_view named_type, std::string_view item_key,
                  std::string_view item_type, std::map<std::string, T>& out,
                  void (Reader::*read_item)(yaml::Node, const Field&, T&)) {
    if (n.is_null()) {
      return;
    }
    std::string v1_named = "v1." + std::string(named_type);
    if (!n.is_sequence()) {
      type_error(n, field, "[]" + v1_named);
      return;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      yaml::Node entry = n.element(i);
      if (!entry.is_null() && !entry.is_mapping()) {
        type_error(entry, field, v1_named);
        continue;
      }
      std::string name;
      T item;
      Field entry_field = field.inside(named_type);
      each_pair(entry, [&](std::string_view key, yaml::Node value) {
        if (key == "name") {
          text(value, entry_field.at(key), name);
        } else if (key == item_key && object(value, entry_field.at(key), "v1." + std::string(item_type))) {
          (this->*read_item)(value, entry_field.at(key).inside(item_type), item);
        }
      });
      if (out.contains(name)) {
        // client-go also prints the whole list, secrets included; sdscope does not.
        duplicate_name(named_type, item_type, name);
        continue;
      }
      out.emplace(std::move(name), std::move(item));
    }
  }

  void duplicate_name(std::string_view named_type, std::string_view item_type, const std::string& name) {
    if (m_error.empty()) {
      m_error = "error converting *[]" + std::string(named_type) + " into *map[string]*api." + std::string(item_type) +
                ": duplicate name " + util::go_quote(name) + " in list";
    }
  }

  void cluster(yaml::Node n, const Field& field, Cluster& out) {
    each_pair(n, [&](std::string_view key, yaml::Node value) {
      Field f = field.at(key);
      if (key == "server") {
        text(value, f, out.server);
      } else if (key == "tls-server-name") {
        text(value, f, out.tls_server_name);
      } else if (key == "insecure-skip-tls-verify") {
        boolean(value, f, out.insecure_skip_tls_verify);
      } else if (key == "certificate-authority") {
        text(value, f, out.certificate_authority);
      } else if (key == "certificate-authority-data") {
        bytes(value, f, out.certificate_authority_data);
      } else if (key == "proxy-url") {
        text(value, f, out.proxy_url);
      }
    });
  }

  void user(yaml::Node n, const Field& field, User& out) {
    each_pair(n, [&](std::string_view key, yaml::Node value) {
      Field f = field.at(key);
      if (key == "client-certificate") {
        text(value, f, out.client_certificate);
      } else if (key == "client-certificate-data") {
        bytes(value, f, out.client_certificate_data);
      } else if (key == "client-key") {
        text(value, f, out.client_key);
      } else if (key == "client-key-data") {
        bytes(value, f, out.client_key_data);
      } else if (key == "token") {
        text(value, f, out.token);
      } else if (key == "tokenFile") {
        text(value, f, out.token_file);
      } else if (key == "username") {
        text(value, f, out.username);
      } else if (key == "password") {
        text(value, f, out.password);
      } else if (key == "as" || key == "as-uid") {
        std::string name;
        text(value, f, name);
        out.impersonates = out.impersonates || !name.empty();
      } else if (key == "as-groups" || key == "as-user-extra") {
        out.impersonates = out.impersonates || (!value.is_null() && value.size() > 0);
      } else if (key == "auth-provider" && object(value, f, "v1.AuthProviderConfig")) {
        out.auth_provider = true;
        each_pair(value, [&](std::string_view provider_key, yaml::Node provider_value) {
          if (provider_key == "name") {
            text(provider_value, f.at(provider_key).inside("AuthProviderConfig"), out.auth_provider_name);
          }
        });
      } else if (key == "exec" && object(value, f, "v1.ExecConfig")) {
        out.exec = true;
      }
    });
  }

  void context(yaml::Node n, const Field& field, Context& out) {
    each_pair(n, [&](std::string_view key, yaml::Node value) {
      if (key == "cluster") {
        text(value, field.at(key), out.cluster);
      } else if (key == "user") {
        text(value, field.at(key), out.user);
      }
    });
  }

  std::string m_error;
};

// ResolveLocalPaths: file references relative to the kubeconfig's directory.
void resolve_paths(Kubeconfig& config, const std::string& path) {
  std::string absolute = path.starts_with('/') ? path : yaml::join_dir(std::filesystem::current_path().string(), path);
  std::string dir = absolute.substr(0, absolute.rfind('/'));
  if (dir.empty()) {
    dir = "/";
  }
  for (auto& [name, cluster] : config.clusters) {
    cluster.certificate_authority = yaml::join_dir(dir, cluster.certificate_authority);
  }
  for (auto& [name, user] : config.users) {
    for (std::string* file : {&user.client_certificate, &user.client_key, &user.token_file}) {
      *file = yaml::join_dir(dir, *file);
    }
  }
}

// ClientConfigLoadingRules.Load for one explicit path.
Result<Kubeconfig> load(const std::string& path) {
  if (std::string error = util::os_stat_error(path); !error.empty()) {
    return fail(error);
  }
  auto file_error = [&](const std::string& error) {
    return fail("error loading config file " + util::go_quote(path) + ": " + error);
  };
  Result<std::string> data = util::os_read_file(path);
  if (!data) {
    return file_error(data.error());
  }
  auto document = yaml::Document::parse(*data);
  if (!document) {
    return file_error(document.error().message);
  }
  Result<Kubeconfig> config = Reader().read(document->root());
  if (!config) {
    return file_error(config.error());
  }
  resolve_paths(*config, path);
  return config;
}

// utilerrors.NewAggregate(errors).Error(): one message as is, several
// de-duplicated in brackets.
std::string aggregate(const std::vector<std::string>& errors) {
  if (errors.size() == 1) {
    return errors[0];
  }
  std::vector<std::string> seen;
  for (const std::string& error : errors) {
    if (std::find(seen.begin(), seen.end(), error) == seen.end()) {
      seen.push_back(error);
    }
  }
  std::string joined;
  for (const std::string& error : seen) {
    joined += (joined.empty() ? "" : ", ") + error;
  }
  return seen.size() == 1 ? joined : "[" + joined + "]";
}

constexpr std::string_view k_empty_cluster = "cluster has no server defined";

// validateAuthInfo, for the fields sdscope reads.
void validate_user(const std::string& name, const User& user, std::vector<std::string>& errors) {
  std::vector<std::string> methods;
  if (!user.token.empty()) {
    methods.emplace_back("token");
  }
  if (!user.username.empty() || !user.password.empty()) {
    methods.emplace_back("basicAuth");
  }
  if (!user.client_certificate.empty() || !user.client_certificate_data.empty()) {
    if (!user.client_certificate.empty() && !user.client_certificate_data.empty()) {
      errors.push_back("client-cert-data and client-cert are both specified for " + name +
                       ". client-cert-data will override.");
    }
    if (!user.client_key.empty() && !user.client_key_data.empty()) {
      errors.push_back("client-key-data and client-key are both specified for " + name +
                       "; client-key-data will override");
    }
    if (user.client_key.empty() && user.client_key_data.empty()) {
      errors.push_back("client-key-data or client-key must be specified for " + name +
                       " to use the clientCert authentication method.");
    }
    for (auto [file, what] : {std::pair{&user.client_certificate, "client-cert"}, {&user.client_key, "client-key"}}) {
      if (Result<std::string> readable = file->empty() ? Result<std::string>() : util::os_read_file(*file);
          !readable) {
        errors.push_back("unable to read " + std::string(what) + " " + *file + " for " + name + " due to " +
                         readable.error());
      }
    }
  }
  if (user.exec && user.auth_provider) {
    errors.push_back("authProvider cannot be provided in combination with an exec plugin for " + name);
  }
  if (methods.size() > 1) {
    errors.push_back("more than one authentication method found for " + name + "; found [" + methods[0] + " " +
                     methods[1] + "], only one is allowed");
  }
}

// client-go's parseProxyURL: "" when usable.
std::string check_proxy_url(const std::string& text, model::Url& url) {
  if (!model::parse_url(text, url).empty()) {
    return "could not parse: " + text;
  }
  if (url.scheme != "http" && url.scheme != "https" && url.scheme != "socks5") {
    return "unsupported scheme " + util::go_quote(url.scheme) + ", must be http, https, or socks5";
  }
  return "";
}

// validateClusterInfo; cluster is absent when the context names none that exists.
void validate_cluster(const std::string& name, const std::optional<Cluster>& cluster,
                      std::vector<std::string>& errors) {
  if (!cluster) {
    errors.emplace_back(k_empty_cluster);
    return;
  }
  if (cluster->server.empty()) {
    errors.push_back(name.empty() ? "default cluster has no server defined"
                                  : "no server found for cluster " + util::go_quote(name));
  }
  if (model::Url proxy; !cluster->proxy_url.empty()) {
    if (std::string error = check_proxy_url(cluster->proxy_url, proxy); !error.empty()) {
      errors.push_back("invalid 'proxy-url' " + util::go_quote(cluster->proxy_url) + " for cluster " +
                       util::go_quote(name) + ": " + error);
    }
  }
  if (!cluster->certificate_authority.empty() && !cluster->certificate_authority_data.empty()) {
    errors.push_back("certificate-authority-data and certificate-authority are both specified for " + name +
                     ". certificate-authority-data will override.");
  }
  if (!cluster->certificate_authority.empty()) {
    if (Result<std::string> readable = util::os_read_file(cluster->certificate_authority); !readable) {
      errors.push_back("unable to read certificate-authority " + cluster->certificate_authority + " for " + name +
                       " due to " + readable.error());
    }
  }
}

// rest.DefaultServerURL: a server without scheme is host:port over http.
Result<model::Url> server_url(const std::string& server) {
  model::Url url;
  if (model::parse_url(server, url).empty() && !url.scheme.empty() && !url.host.empty()) {
    return url;
  }
  if (std::string error = model::parse_url("http://" + server, url); !error.empty()) {
    return fail(error);
  }
  if (!url.path.empty() && url.path != "/") {
    return fail("host must be a URL or a host:port pair: " + util::go_quote(server));
  }
  return url;
}

// getUserIdentificationPartialConfig and getServerIdentificationPartialConfig
// into an HttpClientConfig; the data fields win over the files.
Result<void> add_credentials(const std::string& user_name, const User& user, const Cluster& cluster,
                             net::HttpClientConfig& http) {
  if (user.exec) {
    return fail("sdscope does not run kubeconfig exec credential plugins (user " + util::go_quote(user_name) + ")");
  }
  if (user.auth_provider) {
    return fail("sdscope does not run kubeconfig auth-provider plugins (user " + util::go_quote(user_name) +
                ", provider " + util::go_quote(user.auth_provider_name) + ")");
  }
  if (user.impersonates) {
    return fail("sdscope does not support kubeconfig impersonation (user " + util::go_quote(user_name) + ")");
  }
  if (!user.token_file.empty()) {
    // Read now only to fail as client-go does; the client re-reads it.
    if (user.token.empty()) {
      if (Result<std::string> token = util::os_read_file(user.token_file); !token) {
        return fail(token.error());
      }
    }
    http.authorization = net::Authorization{"Bearer", {}, user.token_file, {}};
  } else if (!user.token.empty()) {
    http.authorization = net::Authorization{"Bearer", {user.token}, {}, {}};
  }
  // transport.Config.HasBasicAuth looks at the username only.
  if (!user.username.empty()) {
    http.basic_auth = net::BasicAuth{user.username, {}, {}, {user.password}, {}, {}};
  }
  net::TlsConfig& tls = http.tls_config;
  if (!user.client_certificate.empty() || !user.client_certificate_data.empty()) {
    if (!user.client_certificate_data.empty()) {
      tls.cert.value = user.client_certificate_data;
    } else {
      tls.cert_file = user.client_certificate;
    }
    if (!user.client_key_data.empty()) {
      tls.key.value = user.client_key_data;
    } else {
      tls.key_file = user.client_key;
    }
  }
  if (!cluster.certificate_authority_data.empty()) {
    tls.ca.value = cluster.certificate_authority_data;
  } else {
    tls.ca_file = cluster.certificate_authority;
  }
  tls.insecure_skip_verify = cluster.insecure_skip_tls_verify;
  tls.server_name = cluster.tls_server_name;
  if (tls.insecure_skip_verify && (!tls.ca.empty() || !tls.ca_file.empty())) {
    return fail("specifying a root certificates file with the insecure flag is not allowed");
  }
  return {};
}

} // namespace

Result<Connection> kubeconfig_connection(const std::string& path, const InClusterEnvironment& in_cluster) {
  Result<Kubeconfig> config = load(path);
  if (!config) {
    return fail(config.error());
  }
  // The current context picks the user and cluster; names that do not exist
  // give empty ones, which validation then reports.
  auto context = config->contexts.find(config->current_context);
  std::string user_name = context != config->contexts.end() ? context->second.user : "";
  std::string cluster_name = context != config->contexts.end() ? context->second.cluster : "";
  auto user_entry = config->users.find(user_name);
  User user = user_entry != config->users.end() ? user_entry->second : User{};
  auto cluster_entry = config->clusters.find(cluster_name);
  std::optional<Cluster> cluster;
  if (cluster_entry != config->clusters.end()) {
    cluster = cluster_entry->second;
  }

  // DirectClientConfig.ConfirmUsable.
  std::vector<std::string> errors;
  if (!config->current_context.empty() && context == config->contexts.end()) {
    errors.push_back("context was not found for specified context: " + config->current_context);
  }
  validate_user(user_name, user, errors);
  validate_cluster(cluster_name, cluster, errors);
  if (errors.size() == 1 && errors[0] == k_empty_cluster) {
    if (in_cluster_possible(in_cluster)) {
      return in_cluster_connection(in_cluster);
    }
    return fail("invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER "
                "environment variable");
  }
  if (!errors.empty()) {
    return fail("invalid configuration: " + aggregate(errors));
  }

  Connection connection;
  Result<model::Url> server = server_url(cluster->server);
  if (!server) {
    return fail(server.error());
  }
  connection.server = *server;
  net::HttpClientConfig& http = connection.http_client;
  if (!cluster->proxy_url.empty()) {
    check_proxy_url(cluster->proxy_url, http.proxy.proxy_url);
  } else {
    http.proxy.proxy_from_environment = true; // client-go's default transport
  }
  // Credentials and TLS settings apply only to https servers.
  if (connection.server.scheme == "https") {
    if (Result<void> added = add_credentials(user_name, user, *cluster, http); !added) {
      return fail(added.error());
    }
  }
  return connection;
}

} // namespace sdscope::discovery::kubernetes
