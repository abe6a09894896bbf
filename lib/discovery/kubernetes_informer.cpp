// kubernetes_sd discovery: LIST then WATCH per informer, as client-go
// v0.26's reflector does for Prometheus v2.45 (spec/sd-platforms.md §1.3-
// §1.5; https://kubernetes.io/docs/reference/using-api/api-concepts/).
//
// Each informer lists its collection (`limit=500&resourceVersion=0`, then
// `continue` pages), reports the listed keys, and watches from the list's
// resourceVersion (`allowWatchBookmarks=true&watch=true`, query keys
// sorted). The watch body is newline-delimited JSON events: ADDED,
// MODIFIED and DELETED change the store and report the key, BOOKMARK only
// moves the resume point, ERROR ends the watch. A watch the server
// closes normally is reopened from the last resourceVersion; one that fails
// (410 Gone included) leads, after backoff, to a relist from that version,
// and a relist refused with 410 to a consistent list (no resourceVersion).
// A watch refused (connection refused or HTTP 429) is retried after backoff
// without a relist.
// A relist replaces the informer's store, reporting vanished keys too. Like
// Prometheus, every namespace gets its own informer and its
// own store (duplicated names are not merged).
//
// Deviations: objects are requested as JSON (client-go asks for protobuf,
// which sdscope cannot decode), every informer has its own connection, and
// a LIST gives up after Timing::list_timeout (client-go waits for ever).
#include "discovery/kubernetes_informer.h"

#include <cctype>
#include <random>

#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

namespace {

constexpr std::chrono::seconds k_short_watch{1};
// A watch event longer than this ends the watch (the body of a list has
// the HTTP client's limit; a stream's events are split here).
constexpr size_t k_max_event_bytes = size_t{512} << 20;

// url.Values.Encode: keys sorted (the map keeps them so), "" values dropped
// here because client-go leaves empty selectors out.
std::string encode_query(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) {
      continue;
    }
    out += (out.empty() ? "?" : "&") + key + "=" + util::query_escape(value);
  }
  return out;
}


std::string object_key(const nlohmann::json& object) {
  const nlohmann::json& metadata = object.contains("metadata") ? object["metadata"] : object;
  std::string name = metadata.value("name", "");
  std::string namespace_ = metadata.value("namespace", "");
  return namespace_.empty() ? name : namespace_ + "/" + name;
}

std::string resource_version(const nlohmann::json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return "";
  }
  const nlohmann::json& rv = object["metadata"].value("resourceVersion", nlohmann::json());
  return rv.is_string() ? rv.get<std::string>() : "";
}

bool is_json(const net::HttpResponse& response) {
  return util::to_lower_ascii(response.content_type).find("json") != std::string::npos;
}

} // namespace

std::string status_message(const net::HttpResponse& response) {
  nlohmann::json status = nlohmann::json::parse(response.body, nullptr, false);
  if (status.is_object() && status.contains("message") && status["message"].is_string()) {
    return status["message"].get<std::string>();
  }
  return "the server responded with HTTP " + response.status_line();
}

Result<ListPage> parse_list_page(std::string_view body) {
  try {
    nlohmann::json list = nlohmann::json::parse(body, nullptr, false);
    if (!list.is_object() || (list.contains("items") && !list["items"].is_array() && !list["items"].is_null())) {
      return tl::unexpected(std::string("cannot decode the list response: not a list object"));
    }
    ListPage page;
    if (list.contains("items") && list["items"].is_array()) {
      for (nlohmann::json& item : list["items"]) {
        std::string key = object_key(item); // before the move below
        page.objects.emplace_back(std::move(key), std::make_shared<const nlohmann::json>(std::move(item)));
      }
    }
    const nlohmann::json& metadata = list.value("metadata", nlohmann::json::object());
    page.continue_token = metadata.is_object() ? metadata.value("continue", "") : "";
    page.version = metadata.is_object() ? metadata.value("resourceVersion", "") : "";
    return page;
  } catch (const nlohmann::json::exception& e) {
    return tl::unexpected(std::string("cannot decode the list response: ") + e.what());
  }
}

Result<WatchEvent> parse_watch_event(std::string_view line) {
  try {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    WatchEvent event;
    event.type = parsed.is_object() ? parsed.value("type", "") : "";
    if (parsed.is_object() && parsed.contains("object")) {
      event.object = std::move(parsed["object"]);
    }
    const nlohmann::json& object = event.object;
    if (event.type == "ERROR") {
      // Status.code is an int32: a fraction or a huge number is no code.
      const auto code = object.is_object() ? object.find("code") : object.end();
      event.gone = code != object.end() && code->is_number_integer() && code->get<int64_t>() == 410;
      event.message = object.is_object() ? object.value("message", "watch error") : "watch error";
      return event;
    }
    if (!object.is_object() ||
        (event.type != "ADDED" && event.type != "MODIFIED" && event.type != "DELETED" && event.type != "BOOKMARK")) {
      return tl::unexpected("cannot decode watch event of type " + util::go_quote(event.type));
    }
    event.version = resource_version(object);
    if (event.type != "BOOKMARK") {
      event.key = object_key(object);
    }
    return event;
  } catch (const nlohmann::json::exception& e) {
    return tl::unexpected(std::string("cannot decode watch event: ") + e.what());
  }
}

ObjectStore::Object ObjectStore::get(const std::string& key) const {
  std::lock_guard lock(m_mutex);
  auto it = m_objects.find(key);
  return it == m_objects.end() ? nullptr : it->second;
}

void ObjectStore::put(const std::string& key, Object object) {
  std::lock_guard lock(m_mutex);
  m_objects[key] = std::move(object);
}

void ObjectStore::erase(const std::string& key) {
  std::lock_guard lock(m_mutex);
  m_objects.erase(key);
}

std::vector<std::string> ObjectStore::replace(std::map<std::string, Object> objects) {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> keys;
  for (const auto& [key, object] : m_objects) {
    if (!objects.contains(key)) {
      keys.push_back(key);
    }
  }
  for (const auto& [key, object] : objects) {
    keys.push_back(key);
  }
  m_objects = std::move(objects);
  return keys;
}

tl::expected<std::vector<std::string>, Informer::ListError> Informer::list(std::stop_token stop, ListMode mode,
                                                                         std::chrono::milliseconds timeout) {
  std::map<std::string, ObjectStore::Object> fresh;
  std::string continue_token;
  std::string version;
  do {
    std::map<std::string, std::string> params = m_selectors;
    if (!continue_token.empty()) {
      params["continue"] = continue_token;
      params["limit"] = "500";
    } else if (mode == ListMode::initial) {
      params["limit"] = "500";
      params["resourceVersion"] = "0";
    } else if (mode == ListMode::resume) {
      params["resourceVersion"] = m_version;
    } else {
      params["limit"] = "500";
    }
    std::string url = m_url + encode_query(params);
    Result<net::HttpResponse> response =
        m_client->get(url, {{"Accept", std::string(k_accept)}, {"User-Agent", std::string(k_user_agent)}},
                      timeout, stop);
    if (!response) {
      return tl::unexpected(ListError{response.error()});
    }
    if (response->status != 200) {
      return tl::unexpected(ListError{status_message(*response), response->status == 410});
    }
    if (!is_json(*response)) {
      return tl::unexpected(ListError{"cannot decode a response of content type " +
                                      util::go_quote(response->content_type) + " (sdscope reads only JSON)"});
    }
    Result<ListPage> page = parse_list_page(response->body);
    if (!page) {
      return tl::unexpected(ListError{page.error()});
    }
    for (auto& [key, object] : page->objects) {
      fresh[key] = std::move(object);
    }
    continue_token = std::move(page->continue_token);
    version = std::move(page->version);
  } while (!continue_token.empty() && !stop.stop_requested());

  m_version = version;
  return m_store.replace(std::move(fresh));
}

bool Informer::handle_event(const std::string& line, WatchEnd& end, std::string& error) {
  Result<WatchEvent> event = parse_watch_event(line);
  if (!event) {
    end = WatchEnd::failed;
    error = event.error();
    return false;
  }
  if (event->type == "ERROR") {
    end = event->gone ? WatchEnd::gone : WatchEnd::failed;
    error = event->message;
    return false;
  }
  if (!event->version.empty()) {
    m_version = event->version;
  }
  if (event->type == "BOOKMARK") {
    return true;
  }
  if (event->type == "DELETED") {
    m_store.erase(event->key);
  } else {
    m_store.put(event->key, std::make_shared<const nlohmann::json>(std::move(event->object)));
  }
  m_owner.changed(m_index, {event->key});
  return true;
}

Informer::WatchEnd Informer::watch(std::stop_token stop, std::string& error) {
  static thread_local std::mt19937 random{std::random_device{}()};
  int timeout_seconds = 300 + static_cast<int>(random() % 300);
  std::map<std::string, std::string> params = m_selectors;
  params["allowWatchBookmarks"] = "true";
  params["resourceVersion"] = m_version;
  params["timeoutSeconds"] = std::to_string(timeout_seconds);
  params["watch"] = "true";
  std::string url = m_url + encode_query(params);

  WatchEnd end = WatchEnd::closed;
  size_t events = 0;
  std::string pending;
  auto on_data = [&](std::string_view chunk) {
    if (pending.size() + chunk.size() > k_max_event_bytes) {
      end = WatchEnd::failed;
      error = "watch event exceeds " + std::to_string(k_max_event_bytes) + " bytes";
      return false;
    }
    pending.append(chunk);
    size_t newline = 0;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        continue;
      }
      ++events;
      if (!handle_event(line, end, error)) {
        return false;
      }
    }
    return true;
  };
  auto start = std::chrono::steady_clock::now();
  Result<net::HttpResponse> response =
      m_client->stream(url, {{"Accept", std::string(k_accept)}, {"User-Agent", std::string(k_user_agent)}}, on_data,
                       std::chrono::seconds(timeout_seconds + 60), stop);
  if (stop.stop_requested()) {
    return WatchEnd::stopped;
  }
  if (!response) {
    error = response.error();
    return response.error().find("onnection refused") != std::string::npos ? WatchEnd::refused : WatchEnd::failed;
  }
  if (response->status != 200) {
    error = status_message(*response);
    // client-go retries a throttled watch (429) as it does a refused one.
    return response->status == 410 ? WatchEnd::gone : response->status == 429 ? WatchEnd::refused : WatchEnd::failed;
  }
  if (end == WatchEnd::closed && !pending.empty() && pending.find_first_not_of(" \t\r") != std::string::npos) {
    ++events;
    handle_event(pending, end, error);
  }
  if (end == WatchEnd::closed && events == 0 && std::chrono::steady_clock::now() - start < k_short_watch) {
    error = "very short watch: unexpected watch close - watch lasted less than a second and no items received";
    return WatchEnd::short_close;
  }
  return end;
}

void Informer::run(std::stop_token stop, const Timing& timing) {
  std::mt19937 random{std::random_device{}()};
  std::chrono::milliseconds backoff = timing.backoff_initial;
  auto pause = [&] {
    std::chrono::milliseconds wait = backoff;
    if (timing.jitter) {
      wait += std::chrono::milliseconds(random() % (backoff.count() + 1));
    }
    backoff = std::min(backoff * 2, timing.backoff_max);
    return sleep_for(stop, wait);
  };
  std::string list_failure = "failed to list " + m_go_type + ": ";
  ListMode mode = ListMode::initial;
  while (!stop.stop_requested()) {
    tl::expected<std::vector<std::string>, ListError> listed = list(stop, mode, timing.list_timeout);
    if (stop.stop_requested()) {
      return;
    }
    if (!listed) {
      if (listed.error().gone && mode == ListMode::resume) {
        mode = ListMode::consistent; // at once, as client-go does
        continue;
      }
      m_owner.failed(m_index, list_failure + listed.error().message);
      if (!pause()) {
        return;
      }
      continue;
    }
    m_owner.listed(m_index, std::move(*listed));
    while (true) {
      std::string error;
      WatchEnd end = watch(stop, error);
      if (end == WatchEnd::stopped) {
        return;
      }
      if (end == WatchEnd::closed) {
        backoff = timing.backoff_initial;
        continue;
      }
      if (end == WatchEnd::refused) {
        if (!pause()) {
          return;
        }
        continue;
      }
      if (end != WatchEnd::gone) {
        m_owner.failed(m_index, "watch of " + m_go_type + " ended with: " + error);
      }
      break;
    }
    mode = ListMode::resume;
    if (!pause()) {
      return;
    }
  }
}

} // namespace sdscope::discovery::kubernetes
