#pragma once

// A ZooKeeper session through the C client (libzookeeper_mt), reduced to
// what serverset and nerve discovery need: getData and getChildren with
// watches, and the session's events.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "util/result.h"

struct _zhandle; // the C client's handle

namespace sdscope::discovery::zookeeper {

// What the client's watchers deliver, in the order they deliver it.
struct ClientEvent {
  enum class Kind {
    node,         // a watch on `path` fired (data changed, children changed, deleted)
    connected,    // the session is (again) connected to a server
    disconnected, // the connection broke; the client reconnects, the session and its watches may survive
    expired,      // the session is gone with all its watches (or auth failed): a new session is needed
  };
  Kind kind = Kind::node;
  size_t watcher = 0; // node: the watcher id given with the watch
  std::string path;   // node: the znode path
};

// A thread-safe queue of client events, woken by stop requests.
class EventQueue {
public:
  void push(ClientEvent event);
  // Waits until an event is queued, `until` passes or stop is requested;
  // returns (and removes) everything queued, possibly nothing.
  std::vector<ClientEvent> wait(std::stop_token stop, std::chrono::steady_clock::time_point until);

private:
  std::mutex m_mutex;
  std::condition_variable_any m_queued;
  std::deque<ClientEvent> m_events;
};

// One session. Watches report to the EventQueue, which must outlive the
// Client. Calls are synchronous for the caller and bounded: each waits at
// most the session timeout, and returns early when stop is requested.
class Client {
public:
  // Starts connecting to servers ("host:port,host:port"), in random order.
  // Fails only when the C client rejects the server list.
  static Result<std::unique_ptr<Client>> open(const std::string& servers, std::chrono::milliseconds session_timeout,
                                              EventQueue& events);
  ~Client(); // closes the session
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const;
  // Waits until the session is connected, stop is requested or limit
  // passes; returns connected().
  bool wait_connected(std::stop_token stop, std::chrono::milliseconds limit);

  // getData with a data watch reported as `watcher`: the node's data, or
  // std::nullopt when it does not exist (then no watch is left). Errors
  // use go-zookeeper's wording ("zk: connection closed", ...).
  Result<std::optional<std::string>> get_watch(const std::string& path, size_t watcher, std::stop_token stop);
  // getChildren with a child watch: the child names in the server's order,
  // or std::nullopt when the node does not exist.
  Result<std::optional<std::vector<std::string>>> children_watch(const std::string& path, size_t watcher,
                                                                 std::stop_token stop);

  // For the C client's callbacks only.
  struct Call;
  void on_session_event(int state);
  void on_node_event(size_t watcher, const char* path);

private:
  // A zero timeout is the server's minimum for the session; our waits get
  // at least a second.
  Client(EventQueue& events, std::chrono::milliseconds session_timeout)
      : m_events(events), m_timeout(std::max(session_timeout, std::chrono::milliseconds(1000))) {}
  // Waits for the call registered as id, which the C client took (rc) or
  // refused; forgets it whatever happens.
  Result<std::shared_ptr<Call>> wait_for(uintptr_t id, std::shared_ptr<Call> call, int rc, std::stop_token stop);

  EventQueue& m_events;
  std::chrono::milliseconds m_timeout;
  _zhandle* m_handle = nullptr;
  mutable std::mutex m_mutex;
  std::condition_variable_any m_state_changed;
  int m_state = 0; // the C client's last session state
};

} // namespace sdscope::discovery::zookeeper
