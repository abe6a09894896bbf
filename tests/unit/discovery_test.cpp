// The discovery manager, the refresh helper and file_sd, run for real:
// threads, files on disk and inotify.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "discovery/file.h"
#include "discovery/manager.h"
#include "discovery/static.h"
#include "test_util.h"

namespace sdscope {

namespace {

using namespace std::chrono_literals;
using discovery::Manager;

model::TargetGroup group(std::string source, std::vector<std::string> addresses) {
  model::TargetGroup g;
  g.source = std::move(source);
  for (const std::string& a : addresses) {
    g.targets.push_back(model::Labels{{"__address__", a}});
  }
  return g;
}

// Sends what its test tells it to, when told.
class ScriptedDiscoverer : public discovery::Discoverer {
public:
  struct Script {
    std::mutex mutex;
    std::condition_variable go;
    std::vector<std::vector<model::TargetGroup>> updates;
    std::vector<std::string> reports;
    bool stopped = false;
  };
  explicit ScriptedDiscoverer(std::shared_ptr<Script> s) : m_script(std::move(s)) {}
  void run(std::stop_token stop, discovery::Sink& sink) override {
    std::unique_lock lock(m_script->mutex);
    size_t sent = 0;
    while (!stop.stop_requested()) {
      std::condition_variable_any cv;
      while (sent < m_script->updates.size()) {
        sink.update(m_script->updates[sent]);
        sink.report(m_script->reports[sent]);
        ++sent;
      }
      lock.unlock();
      discovery::sleep_for(stop, 5ms);
      lock.lock();
    }
    m_script->stopped = true;
  }

private:
  std::shared_ptr<Script> m_script;
};

class ScriptedConfig final : public discovery::SdConfig {
public:
  ScriptedConfig(std::string id, std::shared_ptr<ScriptedDiscoverer::Script> s) : m_id(std::move(id)), m_script(std::move(s)) {}
  std::string_view mechanism() const override { return "scripted"; }
  void accept(yaml::Printer&) const override {}
  void accept(yaml::PathJoiner&) override {}
  void accept(yaml::FileCollector&) override {}
  void accept(yaml::SecretCollector&) override {}
  bool equals(const SdConfig& o) const override {
    auto* other = dynamic_cast<const ScriptedConfig*>(&o);
    return other != nullptr && other->m_id == m_id;
  }
  Result<std::unique_ptr<discovery::Discoverer>> make_discoverer(const discovery::DiscovererOptions&) const override {
    ++made;
    return std::make_unique<ScriptedDiscoverer>(m_script);
  }
  mutable int made = 0;

private:
  std::string m_id;
  std::shared_ptr<ScriptedDiscoverer::Script> m_script;
};

void send(ScriptedDiscoverer::Script& s, std::vector<model::TargetGroup> groups, std::string report = "") {
  std::lock_guard lock(s.mutex);
  s.updates.push_back(std::move(groups));
  s.reports.push_back(std::move(report));
}

std::vector<std::string> addresses(const std::vector<discovery::ProvidedGroup>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) {
    for (const auto& t : g.group->targets) {
      out.push_back(g.provider + " " + g.group->source + " " + std::string(t.get("__address__")));
    }
  }
  return out;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/sdscope-test-XXXXXX";
    path = mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& file, const std::string& text) const {
    // Written to a temporary name and renamed, as config management does.
    std::ofstream(path / (file + ".tmp")) << text;
    std::filesystem::rename(path / (file + ".tmp"), path / file);
  }
};

} // namespace

TEST_CASE("manager: equal configs share one provider; groups are replaced by Source") {
  auto script = std::make_shared<ScriptedDiscoverer::Script>();
  ScriptedConfig a("same", script);
  ScriptedConfig b("same", script);
  Manager manager;
  manager.start({{"job1", {&a}}, {"job2", {&b}}});
  CHECK(a.made + b.made == 1);
  auto providers = manager.providers();
  REQUIRE(providers.size() == 1);
  CHECK(providers[0].name == "scripted/0");
  CHECK(providers[0].jobs == std::vector<std::string>{"job1", "job2"});
  CHECK_FALSE(manager.wait_synced(Manager::Clock::now() + 50ms));

  send(*script, {group("s1", {"127.0.0.1:1"}), group("s2", {"127.0.0.2:1"})});
  CHECK(manager.wait_synced(Manager::Clock::now() + 5s));
  send(*script, {group("s1", {"127.0.0.3:1"}), group("s2", {})}, "boom");
  uint64_t version = manager.wait_change(0, Manager::Clock::now() + 5s);
  while (manager.providers()[0].error.empty()) {
    version = manager.wait_change(version, Manager::Clock::now() + 5s);
  }
  auto groups = manager.groups();
  CHECK(addresses(groups["job1"]) == std::vector<std::string>{"scripted/0 s1 127.0.0.3:1"});
  CHECK(addresses(groups["job2"]) == addresses(groups["job1"]));
  CHECK(manager.providers()[0].error == "boom");
  manager.stop();
  CHECK(script->stopped);
}

TEST_CASE("manager: a job without providers still shows; a config that cannot run is a synced failure") {
  discovery::StaticConfig statics({group("0", {"127.0.0.1:9100"})});
  auto unsupported = test::decode_sd("kubernetes", "{role: pod, kubeconfig_file: /nonexistent/kubeconfig}");
  REQUIRE(unsupported.config);
  Manager manager;
  manager.start({{"empty", {}}, {"static", {&statics}}, {"k8s", {unsupported.config.get()}}});
  CHECK(manager.wait_synced(Manager::Clock::now() + 5s));
  auto providers = manager.providers();
  REQUIRE(providers.size() == 3);
  CHECK(providers[0].name == "static/0");
  CHECK(providers[1].name == "static/1");
  CHECK(providers[2].name == "kubernetes/2");
  CHECK(providers[2].error.find("/nonexistent/kubeconfig") != std::string::npos);
  auto groups = manager.groups();
  REQUIRE(groups["empty"].size() == 1);
  CHECK(groups["empty"][0].group->targets.empty());
  CHECK(addresses(groups["static"]) == std::vector<std::string>{"static/1 0 127.0.0.1:9100"});
}

TEST_CASE("manager: apply keeps providers whose config did not change, with their groups, and restarts no other") {
  auto kept_script = std::make_shared<ScriptedDiscoverer::Script>();
  auto changed_script = std::make_shared<ScriptedDiscoverer::Script>();
  auto new_script = std::make_shared<ScriptedDiscoverer::Script>();
  ScriptedConfig a("a", kept_script);
  ScriptedConfig b("b", changed_script);
  Manager manager;
  int fd = manager.change_fd();
  auto readable = [&] {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  };
  auto first_owner = std::make_shared<int>(1);
  std::weak_ptr<int> first = first_owner;
  discovery::ApplyResult started = manager.apply({{"j1", {&a}}, {"j2", {&b}}, {"j3", {}}}, first_owner);
  first_owner.reset();
  CHECK(started.started == std::vector<std::string>{"scripted/0", "scripted/1", "static/2"});
  CHECK(started.jobs_added == std::vector<std::string>{"j1", "j2", "j3"});
  send(*kept_script, {group("s", {"127.0.0.1:1"})});
  auto deadline = Manager::Clock::now() + 5s;
  uint64_t version = 0;
  while (manager.groups()["j1"].empty() && Manager::Clock::now() < deadline) {
    version = manager.wait_change(version, deadline);
  }
  CHECK(readable());
  manager.clear_change_fd();

  ScriptedConfig a_again("a", kept_script);
  ScriptedConfig a_for_j4("a", kept_script);
  ScriptedConfig c("c", new_script);
  discovery::ApplyResult applied = manager.apply({{"j1", {&a_again}}, {"j2", {&c}}, {"j4", {&a_for_j4}}});
  CHECK(applied.kept == std::vector<std::string>{"scripted/0"});
  CHECK(applied.started == std::vector<std::string>{"scripted/3"});
  CHECK(applied.stopped == std::vector<std::string>{"scripted/1", "static/2"});
  CHECK(applied.jobs_added == std::vector<std::string>{"j4"});
  CHECK(applied.jobs_removed == std::vector<std::string>{"j3"});
  CHECK(discovery::describe(applied) ==
        "1 provider kept, started scripted/3, stopped scripted/1, static/2; job \"j4\" added; job \"j3\" removed");
  CHECK(a.made == 1);
  CHECK(a_again.made + a_for_j4.made == 0); // not restarted
  CHECK(c.made == 1);
  CHECK(changed_script->stopped); // joined before apply returned
  CHECK_FALSE(kept_script->stopped);
  CHECK(readable()); // the reload is a change
  CHECK_FALSE(first.expired()); // the kept provider still uses a config of the first owner

  auto groups = manager.groups();
  CHECK(addresses(groups["j1"]) == std::vector<std::string>{"scripted/0 s 127.0.0.1:1"}); // without sending again
  CHECK(addresses(groups["j4"]) == addresses(groups["j1"]));
  CHECK(groups["j2"].empty());
  auto providers = manager.providers();
  REQUIRE(providers.size() == 2);
  CHECK(providers[0].jobs == std::vector<std::string>{"j1", "j4"});
  CHECK(providers[1].name == "scripted/3");

  manager.apply({{"j2", {&c}}});
  CHECK(first.expired()); // the last provider using its configs stopped
  CHECK(kept_script->stopped);
}

TEST_CASE("manager: a provider whose discoverer could not be built is tried again by apply") {
  auto unsupported = test::decode_sd("kubernetes", "{role: pod, kubeconfig_file: /nonexistent/kubeconfig}");
  REQUIRE(unsupported.config);
  Manager manager;
  manager.apply({{"k8s", {unsupported.config.get()}}});
  discovery::ApplyResult again = manager.apply({{"k8s", {unsupported.config.get()}}});
  CHECK(again.kept.empty());
  CHECK(again.started == std::vector<std::string>{"kubernetes/1"});
  CHECK(again.stopped == std::vector<std::string>{"kubernetes/0"});
}

TEST_CASE("file_sd: reads JSON and YAML, keeps a broken file's last groups, empties vanished ones, follows inotify") {
  TempDir dir;
  dir.write("a.json", R"([{"targets": ["127.0.0.1:1", "127.0.0.2:1"], "labels": {"env": "prod"}},
                          {"targets": ["127.0.0.3:1"]}])");
  dir.write("b.yml", "- targets: ['127.0.0.4:1']\n");
  discovery::file::Config config;
  config.files = {(dir.path / "*.json").string(), (dir.path / "*.yml").string()};
  config.refresh_interval = model::Duration::minutes(5); // only inotify can make it refresh in time
  Manager manager;
  manager.start({{"job", {&config}}});
  REQUIRE(manager.wait_synced(Manager::Clock::now() + 5s));
  std::string a = (dir.path / "a.json").string();
  std::string b = (dir.path / "b.yml").string();
  auto groups = manager.groups()["job"];
  CHECK(addresses(groups) == std::vector<std::string>{"file/0 " + a + ":0 127.0.0.1:1", "file/0 " + a + ":0 127.0.0.2:1",
                                                      "file/0 " + a + ":1 127.0.0.3:1", "file/0 " + b + ":0 127.0.0.4:1"});
  CHECK(groups[0].group->labels.get("__meta_filepath") == a);
  CHECK(groups[0].group->labels.get("env") == "prod");

  // Wait for the provider to see each change (it refreshes on inotify).
  auto wait_for = [&](auto done) {
    auto deadline = Manager::Clock::now() + 10s;
    uint64_t version = 0;
    while (!done() && Manager::Clock::now() < deadline) {
      version = manager.wait_change(version, deadline);
    }
    return done();
  };
  dir.write("b.yml", "- targets: ['127.0.0.4:1']\n  bogus: 1\n");
  CHECK(wait_for([&] { return manager.providers()[0].error.find("b.yml") != std::string::npos; }));
  CHECK(manager.providers()[0].error.find(b + ":2:3: field bogus not found") == 0);
  CHECK(addresses(manager.groups()["job"]).size() == 4); // the last good content of b.yml stays

  dir.write("a.json", R"([{"targets": ["127.0.0.9:1"]}])");
  std::filesystem::remove(dir.path / "b.yml");
  // A refresh sends its groups, then reports: wait for both.
  CHECK(wait_for([&] {
    return addresses(manager.groups()["job"]) == std::vector<std::string>{"file/0 " + a + ":0 127.0.0.9:1"} &&
           manager.providers()[0].error.empty();
  }));
}

TEST_CASE("refresh helper: refreshes at once, sends nothing on failure, stops promptly") {
  std::atomic<int> calls = 0;
  discovery::RefreshDiscoverer refresher(60000, [&](std::stop_token) -> Result<std::vector<model::TargetGroup>> {
    if (calls++ == 0) {
      return fail("first attempt fails");
    }
    return std::vector<model::TargetGroup>{group("x", {"127.0.0.1:1"})};
  });
  struct Collect : discovery::Sink {
    std::mutex mutex;
    std::vector<std::string> reports;
    size_t updates = 0;
    void update(std::vector<std::shared_ptr<const model::TargetGroup>>) override {
      std::lock_guard lock(mutex);
      ++updates;
    }
    void report(std::string e) override {
      std::lock_guard lock(mutex);
      reports.push_back(e);
    }
  } sink;
  auto started = std::chrono::steady_clock::now();
  {
    std::jthread thread([&](std::stop_token stop) { refresher.run(stop, sink); });
    while (true) {
      std::lock_guard lock(sink.mutex);
      if (!sink.reports.empty()) {
        break;
      }
    }
  } // the jthread asks to stop and joins: the 60 s wait must end at once
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(sink.reports == std::vector<std::string>{"first attempt fails"});
  CHECK(sink.updates == 0);
}

} // namespace sdscope
