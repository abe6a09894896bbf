// serverset_sd and nerve_sd: members registered as znodes in ZooKeeper
// (discovery/zookeeper/zookeeper.go and util/treecache/treecache.go in
// Prometheus v2.45; spec/sd-platforms.md §11).
//
// Not HTTP: the ZooKeeper binary protocol, through the C client
// (zookeeper_client.h), with `timeout` as the session timeout. For every
// configured path a tree cache (zookeeper_tree.h) reads the znode and all
// its descendants with getData and getChildren, leaving watches, and
// re-reads a node when one fires. Every znode read with new data becomes a
// group with Source = its path: one target when the data decodes as a
// member (the way Go's encoding/json fills v2.45's structs: keys match
// case-insensitively, unknown keys are ignored, a type mismatch fails),
// else no target (roots and directories with empty data). A vanished znode
// becomes an empty group.
//
// Failures as in v2.45: a path that cannot be read (missing root, lost
// session, a failed request) puts that path's tree in failure mode: its
// events are ignored, its last groups stay, and the whole tree is read
// again every 10s until it works. A broken connection alone changes
// nothing while the session lasts (the client reconnects and its watches
// come back); it is reported meanwhile. Zookeeper docs:
// https://zookeeper.apache.org/doc/r3.8.0/zookeeperProgrammers.html
#include "discovery/zookeeper.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "discovery/zookeeper_client.h"
#include "discovery/zookeeper_tree.h"
#include "util/strings.h"

namespace sdscope::discovery::zookeeper {

namespace {

constexpr std::string_view k_serverset_path_label = "__meta_serverset_path";
constexpr std::string_view k_serverset_endpoint_prefix = "__meta_serverset_endpoint";
constexpr std::string_view k_serverset_status_label = "__meta_serverset_status";
constexpr std::string_view k_serverset_shard_label = "__meta_serverset_shard";
constexpr std::string_view k_nerve_path_label = "__meta_nerve_path";
constexpr std::string_view k_nerve_endpoint_host_label = "__meta_nerve_endpoint_host";
constexpr std::string_view k_nerve_endpoint_port_label = "__meta_nerve_endpoint_port";
constexpr std::string_view k_nerve_endpoint_name_label = "__meta_nerve_endpoint_name";

constexpr int k_default_port = 2181; // go-zookeeper's DefaultPort

struct Endpoint {
  std::string host;
  int64_t port = 0;
};

// Go decodes into the existing value: a repeated key (in any case) fills
// the same struct again, field by field.
void decode_endpoint(GoDecoder& d, const Json& v, Endpoint& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_object()) {
    d.mismatch(json_kind(v), where, "zookeeper.serversetEndpoint");
    return;
  }
  d.fields(v, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "host")) {
      d.string(value, out.host, fmt::format("{}.Host", where));
    } else if (equal_fold(key, "port")) {
      d.integer(value, out.port, fmt::format("{}.Port", where));
    }
  });
}

// Parses data as Go's json.Unmarshal into a struct does: null is an empty
// member, anything but an object is a type error.
Result<Json> parse_member_json(std::string_view data, std::string_view kind, const std::string& path,
                               std::string_view go_type) {
  Result<Json> json = parse_json(data, k_unmarshal_eof);
  if (!json) {
    return fail(fmt::format("error unmarshaling {} member {}: {}", kind, util::go_quote(path), json.error()));
  }
  if (!json->is_null() && !json->is_object()) {
    return fail(fmt::format("error unmarshaling {} member {}: json: cannot unmarshal {} into Go value of type {}",
                            kind, util::go_quote(path), json_kind(*json), go_type));
  }
  return json;
}

} // namespace

Result<model::Labels> parse_serverset_member(std::string_view data, const std::string& path) {
  Result<Json> json = parse_member_json(data, "serverset", path, "zookeeper.serversetMember");
  if (!json) {
    return fail(json.error());
  }
  Endpoint service;
  std::map<std::string, Endpoint> additional;
  std::string status;
  int64_t shard = 0;
  GoDecoder d;
  if (json->is_object()) {
    d.fields(*json, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "serviceEndpoint")) {
        decode_endpoint(d, value, service, "serversetMember.ServiceEndpoint");
      } else if (equal_fold(key, "additionalEndpoints")) {
        if (value.is_null()) {
          additional.clear(); // null sets a Go map to nil
        } else if (!value.is_object()) {
          d.mismatch(json_kind(value), "serversetMember.AdditionalEndpoints", "map[string]zookeeper.serversetEndpoint");
        } else {
          for (const auto& [name, endpoint] : value.items()) {
            Endpoint& slot = additional[name];
            slot = Endpoint(); // a map element is decoded from zero
            decode_endpoint(d, endpoint, slot, "serversetMember.AdditionalEndpoints");
          }
        }
      } else if (equal_fold(key, "status")) {
        d.string(value, status, "serversetMember.status");
      } else if (equal_fold(key, "shard")) {
        d.integer(value, shard, "serversetMember.shard");
      }
    });
  }
  if (!d.error.empty()) {
    return fail(fmt::format("error unmarshaling serverset member {}: {}", util::go_quote(path), d.error));
  }
  model::Labels labels;
  labels.set(k_serverset_path_label, path);
  labels.set("__address__", util::join_host_port(service.host, std::to_string(service.port)));
  labels.set(fmt::format("{}_host", k_serverset_endpoint_prefix), service.host);
  labels.set(fmt::format("{}_port", k_serverset_endpoint_prefix), std::to_string(service.port));
  for (const auto& [name, endpoint] : additional) {
    std::string clean = util::sanitize_label_name(name);
    labels.set(fmt::format("{}_host_{}", k_serverset_endpoint_prefix, clean), endpoint.host);
    labels.set(fmt::format("{}_port_{}", k_serverset_endpoint_prefix, clean), std::to_string(endpoint.port));
  }
  labels.set(k_serverset_status_label, status);
  labels.set(k_serverset_shard_label, std::to_string(shard));
  return labels;
}

Result<model::Labels> parse_nerve_member(std::string_view data, const std::string& path) {
  Result<Json> json = parse_member_json(data, "nerve", path, "zookeeper.nerveMember");
  if (!json) {
    return fail(json.error());
  }
  std::string host;
  int64_t port = 0;
  std::string name;
  GoDecoder d;
  if (json->is_object()) {
    d.fields(*json, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "host")) {
        d.string(value, host, "nerveMember.host");
      } else if (equal_fold(key, "port")) {
        d.integer(value, port, "nerveMember.port");
      } else if (equal_fold(key, "name")) {
        d.string(value, name, "nerveMember.name");
      }
    });
  }
  if (!d.error.empty()) {
    return fail(fmt::format("error unmarshaling nerve member {}: {}", util::go_quote(path), d.error));
  }
  model::Labels labels;
  labels.set(k_nerve_path_label, path);
  labels.set("__address__", util::join_host_port(host, std::to_string(port)));
  labels.set(k_nerve_endpoint_host_label, host);
  labels.set(k_nerve_endpoint_port_label, std::to_string(port));
  labels.set(k_nerve_endpoint_name_label, name);
  return labels;
}

Result<std::string> resolve_servers(const std::vector<std::string>& servers) {
  std::vector<std::string> found;
  for (const std::string& configured : servers) {
    // FormatServers: a server without any ':' gets the default port.
    std::string server = configured.find(':') == std::string::npos
                             ? util::join_host_port(configured, std::to_string(k_default_port))
                             : configured;
    util::HostPort split = util::split_host_port(server);
    if (!split.ok()) {
      return fail(fmt::format("address {}: {}", server, split.error));
    }
    const std::string host(split.host);
    const std::string port(split.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addresses = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
      return fail(fmt::format("lookup {}: {}", host, rc == EAI_NONAME ? "no such host" : gai_strerror(rc)));
    }
    for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
      char text[NI_MAXHOST];
      if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0) {
        std::string address = util::join_host_port(text, port);
        if (std::find(found.begin(), found.end(), address) == found.end()) {
          found.push_back(std::move(address));
        }
      }
    }
    freeaddrinfo(addresses);
  }
  if (found.empty()) {
    return fail("No hosts found for addresses");
  }
  return fmt::format("{}", fmt::join(found, ","));
}

namespace {

using Clock = std::chrono::steady_clock;

// A tree's reads, their watches reported under the tree's index.
class TreeReader : public ZnodeReader {
public:
  TreeReader(Client* client, size_t watcher, std::stop_token stop)
      : m_client(client), m_watcher(watcher), m_stop(std::move(stop)) {}
  Result<std::optional<std::string>> get_watch(const std::string& path) override {
    if (m_client == nullptr) {
      return fail("zk: could not connect to a server");
    }
    return m_client->get_watch(path, m_watcher, m_stop);
  }
  Result<std::optional<std::vector<std::string>>> children_watch(const std::string& path) override {
    if (m_client == nullptr) {
      return fail("zk: could not connect to a server");
    }
    return m_client->children_watch(path, m_watcher, m_stop);
  }

private:
  Client* m_client;
  size_t m_watcher;
  std::stop_token m_stop;
};

struct PathState {
  explicit PathState(const std::string& path) : tree(path) {}
  TreeCache tree;
  bool failing = false;
  std::string error;
  Clock::time_point retry_at;
};

class ZookeeperDiscoverer : public Discoverer {
public:
  ZookeeperDiscoverer(Settings settings, std::string servers)
      : m_settings(std::move(settings)), m_servers(std::move(servers)) {}

  void run(std::stop_token stop, Sink& sink) override {
    EventQueue events;
    std::vector<PathState> paths;
    for (const std::string& path : m_settings.paths) {
      paths.emplace_back(path);
    }
    std::unique_ptr<Client> client = open(events, sink);
    if (client != nullptr) {
      client->wait_connected(stop, first_connect_wait());
    }
    std::vector<TreeEvent> changes;
    for (size_t i = 0; i < paths.size() && !stop.stop_requested(); ++i) {
      TreeReader reader(client.get(), i, stop);
      if (Result<void> r = paths[i].tree.resync(reader, changes); !r) {
        failure(paths[i], "error during initial read of Zookeeper: " + r.error());
      }
    }
    std::string reported;
    bool disconnected = false;
    if (stop.stop_requested()) {
      return;
    }
    send(changes, sink);
    sink.report(reported = status(paths, disconnected));

    while (!stop.stop_requested()) {
      Clock::time_point wake = Clock::now() + std::chrono::hours(1);
      for (const PathState& p : paths) {
        if (p.failing) {
          wake = std::min(wake, p.retry_at);
        }
      }
      bool expired = false;
      for (const ClientEvent& event : events.wait(stop, wake)) {
        if (stop.stop_requested()) {
          break;
        }
        switch (event.kind) {
        case ClientEvent::Kind::node:
          if (event.watcher < paths.size() && !paths[event.watcher].failing) {
            PathState& p = paths[event.watcher];
            TreeReader reader(client.get(), event.watcher, stop);
            if (Result<void> r = p.tree.node_changed(event.path, reader, changes); !r) {
              failure(p, "error during processing of Zookeeper event: " + r.error());
            }
          }
          break;
        case ClientEvent::Kind::connected:
          disconnected = false;
          break;
        case ClientEvent::Kind::disconnected:
          disconnected = true;
          break;
        case ClientEvent::Kind::expired:
          expired = true;
          break;
        }
      }
      if (expired) {
        // go-zookeeper's EventNotWatching: every tree fails and resyncs on a
        // new session.
        for (PathState& p : paths) {
          if (!p.failing) {
            failure(p, "lost connection to Zookeeper: session expired");
          }
        }
        client.reset();
        client = open(events, sink);
        disconnected = false;
      }
      for (size_t i = 0; i < paths.size() && !stop.stop_requested(); ++i) {
        if (paths[i].failing && Clock::now() >= paths[i].retry_at) {
          retry(paths[i], i, client, events, sink, stop, changes);
        }
      }
      if (stop.stop_requested()) {
        return;
      }
      send(changes, sink);
      if (std::string now = status(paths, disconnected); now != reported) {
        sink.report(reported = now);
      }
    }
  }

private:
  std::unique_ptr<Client> open(EventQueue& events, Sink& sink) {
    Result<std::unique_ptr<Client>> client = Client::open(m_servers, m_settings.session_timeout, events);
    if (!client) {
      sink.report(client.error());
      return nullptr;
    }
    return std::move(*client);
  }

  // go-zookeeper fails the first reads once it has tried every server
  // (a 1s dial timeout each); the C client keeps trying, so the first read
  // waits about as long (2s a server, within the session timeout) before
  // it fails with go-zookeeper's error.
  std::chrono::milliseconds first_connect_wait() const {
    auto addresses = static_cast<int64_t>(std::count(m_servers.begin(), m_servers.end(), ',') + 1);
    return std::clamp(m_settings.session_timeout, std::chrono::milliseconds(1000),
                      std::max(std::chrono::milliseconds(1000), std::chrono::milliseconds(2000 * addresses)));
  }

  void failure(PathState& p, std::string error) {
    p.failing = true;
    p.error = std::move(error);
    p.retry_at = Clock::now() + m_settings.retry_delay;
  }

  // A resync of a failing tree; go-zookeeper would queue the reads until
  // it has tried every server once (about a second), so a client still
  // connecting gets that long.
  void retry(PathState& p, size_t index, std::unique_ptr<Client>& client, EventQueue& events, Sink& sink,
             std::stop_token stop, std::vector<TreeEvent>& changes) {
    if (client == nullptr) {
      client = open(events, sink);
    }
    if (client != nullptr && !client->connected()) {
      client->wait_connected(stop, std::chrono::seconds(1));
    }
    TreeReader reader(client.get(), index, std::move(stop));
    if (Result<void> r = p.tree.resync(reader, changes); !r) {
      failure(p, "error during Zookeeper resync: " + r.error());
    } else {
      p.failing = false;
      p.error.clear();
    }
  }

  void send(std::vector<TreeEvent>& changes, Sink& sink) const {
    if (changes.empty()) {
      return;
    }
    std::vector<model::TargetGroup> groups;
    for (TreeEvent& change : changes) {
      model::TargetGroup& group = groups.emplace_back();
      group.source = change.path;
      if (change.data) {
        if (Result<model::Labels> target = m_settings.parse(*change.data, change.path)) {
          group.targets.push_back(std::move(*target));
        }
      }
    }
    changes.clear();
    sink.update(std::move(groups));
  }

  static std::string status(const std::vector<PathState>& paths, bool disconnected) {
    std::vector<std::string> problems;
    if (disconnected) {
      problems.emplace_back("lost connection to Zookeeper, reconnecting (targets kept)");
    }
    for (const PathState& p : paths) {
      if (p.failing) {
        problems.push_back(fmt::format("{}: {}", p.tree.prefix(), p.error));
      }
    }
    return fmt::format("{}", fmt::join(problems, "; "));
  }

  Settings m_settings;
  std::string m_servers;
};

} // namespace

Result<std::unique_ptr<Discoverer>> make_discoverer(Settings settings) {
  Result<std::string> servers = resolve_servers(settings.servers);
  if (!servers) {
    return fail(servers.error());
  }
  return std::unique_ptr<Discoverer>(std::make_unique<ZookeeperDiscoverer>(std::move(settings), std::move(*servers)));
}

} // namespace sdscope::discovery::zookeeper
