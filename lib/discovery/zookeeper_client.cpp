// The ZooKeeper C client (libzookeeper_mt, Debian's libzookeeper-mt-dev)
// behind a small synchronous interface, standing in for the go-zookeeper/zk
// v1.0.3 connection Prometheus v2.45 uses.
//
// The C client runs two threads of its own: one does the network I/O and
// reconnects (re-sending the session's watches when it gets the session
// back), the other runs completions and watchers. Our callbacks only record
// results and queue events; everything else happens on the caller's thread.
// Completions find their call through a process-wide table of call ids, so
// a call given up on (timeout, stop) is simply forgotten and a late
// completion finds nothing.
#include "discovery/zookeeper_client.h"

#include <zookeeper/zookeeper.h>

#include <cstdint>
#include <map>

#include <fmt/format.h>

namespace sdscope::discovery::zookeeper {

struct Client::Call {
  bool done = false;
  int rc = 0;
  std::optional<std::string> data;
  std::vector<std::string> children;
};

namespace {

std::mutex g_calls_mutex;
std::condition_variable_any g_call_done;
std::map<uintptr_t, std::shared_ptr<Client::Call>>& calls() {
  static std::map<uintptr_t, std::shared_ptr<Client::Call>> table;
  return table;
}
uintptr_t g_next_call = 1;

// go-zookeeper's wording for the errors the tree cache can meet.
std::string error_text(int rc) {
  switch (rc) {
  case ZCONNECTIONLOSS:
  case ZOPERATIONTIMEOUT:
    return "zk: connection closed";
  case ZSESSIONEXPIRED:
  case ZINVALIDSTATE:
    return "zk: session has been expired by the server";
  case ZNOAUTH:
    return "zk: not authenticated";
  case ZBADARGUMENTS:
    return "zk: invalid path";
  case ZCLOSING:
    return "zk: zookeeper is closing";
  default:
    return fmt::format("zk: {}", zerror(rc));
  }
}

// Registers a call; the completion's data is its id.
std::pair<uintptr_t, std::shared_ptr<Client::Call>> new_call() {
  std::lock_guard lock(g_calls_mutex);
  uintptr_t id = g_next_call++;
  auto call = std::make_shared<Client::Call>();
  calls().emplace(id, call);
  return {id, call};
}

// Runs fill on the call with this id, if it is still waited for.
template <class Fn> void complete(const void* data, int rc, Fn fill) {
  std::lock_guard lock(g_calls_mutex);
  auto it = calls().find(reinterpret_cast<uintptr_t>(data));
  if (it == calls().end()) {
    return;
  }
  it->second->rc = rc;
  if (rc == ZOK) {
    fill(*it->second);
  }
  it->second->done = true;
  g_call_done.notify_all();
}

void data_completion(int rc, const char* value, int value_len, const Stat*, const void* data) {
  // A node without data (-1) reads as empty, as in go-zookeeper.
  complete(data, rc, [&](Client::Call& call) { call.data = std::string(value, value_len > 0 ? value_len : 0); });
}

void children_completion(int rc, const String_vector* strings, const void* data) {
  complete(data, rc, [&](Client::Call& call) {
    for (int32_t i = 0; strings != nullptr && i < strings->count; ++i) {
      call.children.emplace_back(strings->data[i]);
    }
  });
}

void session_watcher(zhandle_t*, int type, int state, const char*, void* context) {
  if (type == ZOO_SESSION_EVENT && context != nullptr) {
    static_cast<Client*>(context)->on_session_event(state);
  }
}

// Node watches carry the watcher id + 1 as their context; the C client also
// hands them every session event, which the session watcher handles.
void node_watcher(zhandle_t* handle, int type, int, const char* path, void* context) {
  if (type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT || path == nullptr) {
    return;
  }
  auto* client = static_cast<Client*>(const_cast<void*>(zoo_get_context(handle)));
  client->on_node_event(reinterpret_cast<uintptr_t>(context) - 1, path);
}

// The C client logs to stderr by default; go-zookeeper's log lines go to
// Prometheus's log at info level, which sdscope does not show either.
void discard_log(const char*) {}

void* watcher_context(size_t watcher) { return reinterpret_cast<void*>(static_cast<uintptr_t>(watcher) + 1); }

} // namespace

void EventQueue::push(ClientEvent event) {
  std::lock_guard lock(m_mutex);
  m_events.push_back(std::move(event));
  m_queued.notify_all();
}

std::vector<ClientEvent> EventQueue::wait(std::stop_token stop, std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(m_mutex);
  m_queued.wait_until(lock, stop, until, [&] { return !m_events.empty(); });
  std::vector<ClientEvent> out(std::make_move_iterator(m_events.begin()), std::make_move_iterator(m_events.end()));
  m_events.clear();
  return out;
}

Result<std::unique_ptr<Client>> Client::open(const std::string& servers, std::chrono::milliseconds session_timeout,
                                             EventQueue& events) {
  std::unique_ptr<Client> client(new Client(events, session_timeout));
  client->m_handle = zookeeper_init2(servers.c_str(), session_watcher, static_cast<int>(session_timeout.count()),
                                     nullptr, client.get(), 0, discard_log);
  if (client->m_handle == nullptr) {
    return fail(fmt::format("zk: cannot use servers {}", servers));
  }
  return client;
}

Client::~Client() {
  if (m_handle != nullptr) {
    zookeeper_close(m_handle); // joins the C client's threads: no callback runs after this
  }
}

bool Client::connected() const {
  std::lock_guard lock(m_mutex);
  return m_state == ZOO_CONNECTED_STATE || m_state == ZOO_READONLY_STATE;
}

bool Client::wait_connected(std::stop_token stop, std::chrono::milliseconds limit) {
  std::unique_lock lock(m_mutex);
  return m_state_changed.wait_for(lock, stop, limit,
                                  [&] { return m_state == ZOO_CONNECTED_STATE || m_state == ZOO_READONLY_STATE; });
}

void Client::on_session_event(int state) {
  {
    std::lock_guard lock(m_mutex);
    m_state = state;
    m_state_changed.notify_all();
  }
  ClientEvent event;
  if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE) {
    event.kind = ClientEvent::Kind::connected;
  } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
    event.kind = ClientEvent::Kind::expired;
  } else {
    event.kind = ClientEvent::Kind::disconnected;
  }
  m_events.push(std::move(event));
}

void Client::on_node_event(size_t watcher, const char* path) {
  m_events.push({ClientEvent::Kind::node, watcher, path});
}

Result<std::shared_ptr<Client::Call>> Client::wait_for(uintptr_t id, std::shared_ptr<Call> call, int rc,
                                                       std::stop_token stop) {
  std::unique_lock lock(g_calls_mutex);
  if (rc == ZOK) {
    g_call_done.wait_for(lock, stop, m_timeout, [&] { return call->done; });
  }
  calls().erase(id);
  if (rc != ZOK) {
    return fail(error_text(rc));
  }
  if (!call->done) {
    return fail(stop.stop_requested() ? std::string("zk: stopped")
                                      : fmt::format("zk: no answer within the session timeout ({}ms)", m_timeout.count()));
  }
  if (call->rc != ZOK && call->rc != ZNONODE) {
    return fail(error_text(call->rc));
  }
  return call;
}

Result<std::optional<std::string>> Client::get_watch(const std::string& path, size_t watcher, std::stop_token stop) {
  if (!connected()) {
    return fail("zk: could not connect to a server");
  }
  auto [id, call] = new_call();
  int rc = zoo_awget(m_handle, path.c_str(), node_watcher, watcher_context(watcher), data_completion,
                     reinterpret_cast<const void*>(id));
  Result<std::shared_ptr<Call>> done = wait_for(id, call, rc, std::move(stop));
  if (!done) {
    return fail(done.error());
  }
  if ((*done)->rc == ZNONODE) {
    return std::optional<std::string>();
  }
  return std::move((*done)->data);
}

Result<std::optional<std::vector<std::string>>> Client::children_watch(const std::string& path, size_t watcher,
                                                                       std::stop_token stop) {
  if (!connected()) {
    return fail("zk: could not connect to a server");
  }
  auto [id, call] = new_call();
  int rc = zoo_awget_children(m_handle, path.c_str(), node_watcher, watcher_context(watcher), children_completion,
                              reinterpret_cast<const void*>(id));
  Result<std::shared_ptr<Call>> done = wait_for(id, call, rc, std::move(stop));
  if (!done) {
    return fail(done.error());
  }
  if ((*done)->rc == ZNONODE) {
    return std::optional<std::vector<std::string>>();
  }
  return std::optional<std::vector<std::string>>(std::move((*done)->children));
}

} // namespace sdscope::discovery::zookeeper
