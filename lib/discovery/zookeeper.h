#pragma once

// The discovery shared by serverset_sd and nerve_sd: members registered as
// znodes under ZooKeeper paths (discovery/zookeeper/zookeeper.go in
// Prometheus v2.45).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/discoverer.h"
#include "model/labels.h"
#include "util/result.h"

namespace sdscope::discovery::zookeeper {

// Maps one znode's data to its target's labels; fails where Go's
// json.Unmarshal fails on it (the node then has a group without targets).
using ParseMember = Result<model::Labels> (*)(std::string_view data, const std::string& path);

// A Finagle serverset member: {"serviceEndpoint": {"host", "port"},
// "additionalEndpoints": {name: {"host", "port"}}, "status", "shard"}.
Result<model::Labels> parse_serverset_member(std::string_view data, const std::string& path);
// An Airbnb Nerve registration: {"host", "port", "name"}.
Result<model::Labels> parse_nerve_member(std::string_view data, const std::string& path);

struct Settings {
  std::vector<std::string> servers; // host[:port], port 2181 by default
  std::vector<std::string> paths;
  std::chrono::milliseconds session_timeout{10000};
  ParseMember parse = nullptr;
  // How long a path's tree waits after a failure before it reads the whole
  // tree again (v2.45: 10s). For tests only.
  std::chrono::milliseconds retry_delay{10000};
};

// The servers as the C client takes them: each resolved now, as
// go-zookeeper does when it connects, "addr:port" joined by commas. Fails
// with Go's wording when a server is malformed or cannot be resolved.
Result<std::string> resolve_servers(const std::vector<std::string>& servers);

// An event-driven discoverer (not a refresh loop): one session, one tree
// cache per path; each znode whose data is new or changed is sent as a
// group with Source = its path (one target, or none when its data is not a
// member), each vanished znode as an empty group. Reports after the first
// read of every path, then whenever the set of problems changes. Fails
// when the servers cannot be resolved.
Result<std::unique_ptr<Discoverer>> make_discoverer(Settings settings);

} // namespace sdscope::discovery::zookeeper
