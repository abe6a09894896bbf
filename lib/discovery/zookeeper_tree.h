#pragma once

// The tree cache of serverset and nerve discovery: a mirror of one znode
// and all its descendants, kept current by watches, that reports each node
// whose data appeared, changed or vanished (util/treecache/treecache.go in
// Prometheus v2.45).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace sdscope::discovery::zookeeper {

// How the tree cache reads ZooKeeper; each read leaves a watch that is
// later reported with the node's path. std::nullopt: no such node.
class ZnodeReader {
public:
  virtual ~ZnodeReader() = default;
  virtual Result<std::optional<std::string>> get_watch(const std::string& path) = 0;
  virtual Result<std::optional<std::vector<std::string>>> children_watch(const std::string& path) = 0;
};

// A node's new data, or std::nullopt when the node is gone.
struct TreeEvent {
  std::string path;
  std::optional<std::string> data;
};

class TreeCache {
public:
  explicit TreeCache(std::string prefix);
  const std::string& prefix() const { return m_prefix; }

  // Reads the whole tree again with fresh child nodes (the first read and
  // every retry after a failure): every node read sends its data, nodes
  // that vanished meanwhile are sent as gone. On failure the previous
  // children are kept (v2.45's revert), after whatever was sent.
  Result<void> resync(ZnodeReader& reader, std::vector<TreeEvent>& out);

  // A watch on path fired: re-reads that node, and those of its children
  // that are new or were deleted. Fails as v2.45's event handling does,
  // including when the prefix node itself is gone.
  Result<void> node_changed(const std::string& path, ZnodeReader& reader, std::vector<TreeEvent>& out);

private:
  struct Node {
    std::optional<std::string> data; // unset: not read yet, or deleted
    bool stopped = false;            // deleted: the next parent read replaces it
    std::map<std::string, std::unique_ptr<Node>> children;
  };

  Result<void> update(const std::string& path, Node& node, ZnodeReader& reader, std::vector<TreeEvent>& out);
  void remove(const std::string& path, Node& node, std::vector<TreeEvent>& out);
  void report_vanished(const std::string& path, Node& current, Node& previous, std::vector<TreeEvent>& out);

  std::string m_prefix;
  Node m_head;
};

} // namespace sdscope::discovery::zookeeper
