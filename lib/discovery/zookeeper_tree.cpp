// The tree cache behind serverset_sd and nerve_sd
// (util/treecache/treecache.go in Prometheus v2.45; spec/sd-platforms.md
// §11): getData and getChildren, both with watches, on the prefix znode and
// every descendant; a fired watch re-reads its node. The failure handling
// (failure mode, the 10s retry) belongs to the caller; this keeps the tree.
//
// v2.45 runs a goroutine per node waiting for that node's watches; here the
// watches come back as paths and are routed the same way: down the tree
// from the prefix, creating the nodes on the way as v2.45 does.
#include "discovery/zookeeper_tree.h"

#include <set>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::zookeeper {

TreeCache::TreeCache(std::string prefix) : m_prefix(std::move(prefix)) {}

// recursiveNodeUpdate: children that are known and not deleted keep their
// own watches and are not read again. Paths are joined as v2.45 joins them
// (a prefix "/" gives "//child", which ZooKeeper rejects as a path).
Result<void> TreeCache::update(const std::string& path, Node& node, ZnodeReader& reader,
                               std::vector<TreeEvent>& out) {
  Result<std::optional<std::string>> data = reader.get_watch(path);
  if (!data) {
    return fail(data.error());
  }
  if (!*data) {
    remove(path, node, out);
    if (&node == &m_head) {
      return fail(fmt::format("path {} does not exist", path));
    }
    return {};
  }
  if (!node.data || *node.data != **data) {
    node.data = std::move(*data);
    out.push_back({path, node.data});
  }

  Result<std::optional<std::vector<std::string>>> children = reader.children_watch(path);
  if (!children) {
    return fail(children.error());
  }
  if (!*children) {
    remove(path, node, out);
    return {};
  }
  std::set<std::string> current;
  for (const std::string& name : **children) {
    current.insert(name);
    std::unique_ptr<Node>& child = node.children[name];
    if (child == nullptr || child->stopped) {
      child = std::make_unique<Node>();
      if (Result<void> r = update(path + "/" + name, *child, reader, out); !r) {
        return r;
      }
    }
  }
  for (auto it = node.children.begin(); it != node.children.end();) {
    if (!current.contains(it->first)) {
      remove(path + "/" + it->first, *it->second, out);
      it = node.children.erase(it);
    } else {
      ++it;
    }
  }
  return {};
}

// recursiveDelete: the node and its subtree are gone; each node that had
// data is reported once. The children stay until the parent is read again.
void TreeCache::remove(const std::string& path, Node& node, std::vector<TreeEvent>& out) {
  if (&node != &m_head) {
    node.stopped = true;
  }
  if (node.data) {
    out.push_back({path, std::nullopt});
    node.data.reset();
  }
  for (auto& [name, child] : node.children) {
    remove(path + "/" + name, *child, out);
  }
}

Result<void> TreeCache::resync(ZnodeReader& reader, std::vector<TreeEvent>& out) {
  Node previous;
  previous.children = std::move(m_head.children);
  m_head.children.clear();
  if (Result<void> r = update(m_prefix, m_head, reader, out); !r) {
    m_head.children = std::move(previous.children);
    return r;
  }
  report_vanished(m_prefix, m_head, previous, out);
  return {};
}

// resyncState: nodes of the tree before a resync that the new read did not
// find are reported as gone.
void TreeCache::report_vanished(const std::string& path, Node& current, Node& previous,
                                std::vector<TreeEvent>& out) {
  for (auto& [name, node] : previous.children) {
    auto it = current.children.find(name);
    if (it != current.children.end()) {
      report_vanished(path + "/" + name, *it->second, *node, out);
    } else {
      remove(path + "/" + name, *node, out);
    }
  }
}

Result<void> TreeCache::node_changed(const std::string& path, ZnodeReader& reader, std::vector<TreeEvent>& out) {
  std::string_view rest = path;
  if (util::starts_with(rest, m_prefix)) {
    rest.remove_prefix(m_prefix.size());
  }
  std::vector<std::string> parts = util::split(rest, '/');
  Node* node = &m_head;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::unique_ptr<Node>& child = node->children[parts[i]];
    if (child == nullptr) {
      child = std::make_unique<Node>();
    }
    node = child.get();
  }
  if (Result<void> r = update(path, *node, reader, out); !r) {
    return r;
  }
  if (!m_head.data) {
    return fail(fmt::format("path {} no longer exists", m_prefix));
  }
  return {};
}

} // namespace sdscope::discovery::zookeeper
