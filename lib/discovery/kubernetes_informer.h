#pragma once

// One client-go style informer of kubernetes_sd: LIST then WATCH of one
// collection, keeping a store of its objects and telling its owner which
// keys changed.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "discovery/kubernetes_discovery.h"
#include "model/labels.h"
#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::kubernetes {

inline constexpr std::string_view k_user_agent = "Prometheus/2.45.0";
// client-go asks for protobuf first; sdscope reads only JSON.
inline constexpr std::string_view k_accept = "application/json, */*";

// One collection an informer watches.
struct Resource {
  std::string_view kind;       // selector role of its objects: "pod", "endpointslice"
  std::string_view api_path;   // "/api/v1"
  std::string_view collection; // "pods"
  std::string_view go_type;    // for error texts, "*v1.Pod"
  bool namespaced;
  // For roles whose API group version depends on the server (v2.45 probes
  // GET /version): the older path, used below the minimum version.
  std::string_view old_api_path = {};
  int min_minor = 0; // of 1.x, for api_path
};

// An informer's objects by key ("<ns>/<name>", or "<name>" for
// cluster-scoped ones). The informer's thread writes it; discovery reads it
// from every informer's thread, so objects are shared and immutable.
class ObjectStore {
public:
  using Object = std::shared_ptr<const nlohmann::json>;

  Object get(const std::string& key) const;
  // The keys of the objects for which pred(object) is true.
  template <class Pred> std::vector<std::string> keys_where(Pred pred) const {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> keys;
    for (const auto& [key, object] : m_objects) {
      if (pred(*object)) {
        keys.push_back(key);
      }
    }
    return keys;
  }
  void put(const std::string& key, Object object);
  void erase(const std::string& key);
  // Replaces every object (a list); returns the keys that vanished, then
  // the listed ones.
  std::vector<std::string> replace(std::map<std::string, Object> objects);

private:
  mutable std::mutex m_mutex;
  std::map<std::string, Object> m_objects;
};

// Where an informer reports; implementations are thread-safe. Keys name
// objects whose store entry changed (added, modified or deleted).
class InformerEvents {
public:
  virtual ~InformerEvents() = default;
  virtual void changed(size_t index, std::vector<std::string> keys) = 0;
  // The informer's list (initial or a relist) went through and changed keys.
  virtual void listed(size_t index, std::vector<std::string> keys) = 0;
  virtual void failed(size_t index, std::string error) = 0;
};

// The message of a Status body, else the status line.
std::string status_message(const net::HttpResponse& response);

// One page of a LIST response: its objects by key, in the order listed,
// and the list metadata's continue token and resourceVersion. A field of
// an unexpected type is an error, not an exception.
struct ListPage {
  std::vector<std::pair<std::string, ObjectStore::Object>> objects;
  std::string continue_token;
  std::string version;
};
Result<ListPage> parse_list_page(std::string_view body);

// One line of a watch stream. An ERROR event is returned as such (gone when
// its Status has code 410); other types need an object and get its key
// (except BOOKMARK) and resourceVersion.
struct WatchEvent {
  std::string type;
  nlohmann::json object;
  std::string key;
  std::string version;
  bool gone = false;
  std::string message;
};
Result<WatchEvent> parse_watch_event(std::string_view line);

// One informer: a collection in one namespace (or all), its store, and the
// LIST/WATCH loop that keeps the store current.
class Informer {
public:
  Informer(InformerEvents& owner, size_t index, const Resource& resource, std::string url,
           std::map<std::string, std::string> selectors, std::unique_ptr<net::HttpClient> client)
      : m_owner(owner), m_index(index), m_resource(resource), m_go_type(resource.go_type), m_url(std::move(url)),
        m_selectors(std::move(selectors)), m_client(std::move(client)) {}

  void run(std::stop_token stop, const Timing& timing);
  const ObjectStore& store() const { return m_store; }
  const Resource& resource() const { return m_resource; }
  // Puts the probed API path in place of the resource's default one, and
  // its version into the Go type of error texts ("*v1beta1.EndpointSlice").
  void use_api_path(std::string_view from, std::string_view to) {
    if (size_t at = m_url.rfind(from); at != std::string::npos) {
      m_url.replace(at, from.size(), to);
      std::string_view version = to.substr(to.rfind('/') + 1);
      m_go_type = "*" + std::string(version) + m_go_type.substr(m_go_type.find('.'));
    }
  }

private:
  enum class ListMode { initial, resume, consistent };
  enum class WatchEnd { closed, short_close, gone, refused, failed, stopped };
  struct ListError {
    std::string message;
    bool gone = false;
  };

  // The changed keys of a list that went through.
  tl::expected<std::vector<std::string>, ListError> list(std::stop_token stop, ListMode mode,
                                                          std::chrono::milliseconds timeout);
  WatchEnd watch(std::stop_token stop, std::string& error);
  // Applies one line of the stream to the store; false (with end and error
  // set) when the event ends the watch.
  bool handle_event(const std::string& line, WatchEnd& end, std::string& error);
  InformerEvents& m_owner;
  size_t m_index;
  const Resource& m_resource;
  std::string m_go_type; // for error texts, "*v1.Pod"
  std::string m_url;     // the collection
  std::map<std::string, std::string> m_selectors;
  std::unique_ptr<net::HttpClient> m_client;
  ObjectStore m_store;
  std::string m_version;                         // the resume point
};

} // namespace sdscope::discovery::kubernetes
