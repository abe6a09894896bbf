// What `sdscope watch` is built on: the update throttle, the churn tracker
// and the manager's ApplyConfig (providers kept across a reload).
#include <sstream>

#include <doctest/doctest.h>

#include "config/config.h"
#include "discovery/manager.h"
#include "discovery/static.h"
#include "discovery/throttle.h"
#include "output/watch_events.h"
#include "scrape/churn.h"

using namespace sdscope;
using namespace std::chrono_literals;

namespace {

using Steady = discovery::UpdateThrottle::Clock;

TEST_SUITE_BEGIN("watch");

TEST_CASE("throttle: one update per tick, only after a change, the first one interval after start") {
  Steady::time_point t0{};
  discovery::UpdateThrottle throttle(5s, t0);
  CHECK_FALSE(throttle.pending());
  CHECK_FALSE(throttle.take(t0 + 5s)); // a tick without a change sends nothing

  throttle.changed(t0 + 1s); // the providers' first results
  CHECK(throttle.due() == t0 + 5s);
  throttle.changed(t0 + 2s); // coalesces
  CHECK(throttle.due() == t0 + 5s);
  CHECK_FALSE(throttle.take(t0 + 4999ms));
  CHECK(throttle.take(t0 + 5s));
  CHECK_FALSE(throttle.take(t0 + 5s)); // taken

  throttle.changed(t0 + 5s + 1ms);
  CHECK(throttle.due() == t0 + 10s);
  CHECK(throttle.take(t0 + 10s + 300ms)); // a late reader still gets it
  throttle.changed(t0 + 10s + 300ms);
  CHECK(throttle.due() == t0 + 15s); // ticks keep their phase: no catching up, no drift

  throttle.take(t0 + 15s);
  throttle.changed(t0 + 20s); // a change right on a tick goes out with it
  CHECK(throttle.due() == t0 + 20s);
  throttle.take(t0 + 20s);
  throttle.changed(t0 + 61s); // after idle ticks: the next one
  CHECK(throttle.due() == t0 + 65s);

  discovery::UpdateThrottle immediate(0s, t0);
  immediate.changed(t0 + 3ms);
  CHECK(immediate.due() == t0 + 3ms);
  CHECK(immediate.take(t0 + 3ms));
  discovery::UpdateThrottle first(5s, t0);
  first.changed(t0); // a change at start waits for the first tick, as in Prometheus
  CHECK(first.due() == t0 + 5s);
}

std::shared_ptr<const model::TargetGroup> group(std::string source, std::vector<model::Labels> targets) {
  return std::make_shared<const model::TargetGroup>(model::TargetGroup{std::move(targets), {}, std::move(source)});
}

model::Labels target(std::string address, std::vector<model::Labels::Pair> more = {}) {
  model::Labels labels{{"__address__", std::move(address)}};
  for (auto& [name, value] : more) {
    labels.set(name, value);
  }
  return labels;
}

// Feeds a ChurnTracker the targets of job "web" (which keeps targets
// labelled drop=yes as dropped ones) built from one group of targets.
struct Feeder {
  using WallClock = scrape::WallClock;
  config::Config config;
  const config::ScrapeConfig* job = nullptr;
  scrape::ChurnTracker tracker;
  WallClock::time_point now{std::chrono::hours(24 * 365 * 30)};

  explicit Feeder(scrape::ChurnLimits limits = {}) : tracker(limits) {
    yaml::Diagnostics diagnostics;
    config = config::load_text(R"(
scrape_configs:
  - job_name: web
    relabel_configs: [{source_labels: [drop], regex: "yes", action: drop}]
)",
                               "test.yml", diagnostics);
    REQUIRE(diagnostics.error_count() == 0);
    job = config::jobs(config)[0];
  }

  // One update 10 s after the last one; returns "kind url" per change.
  std::vector<std::string> update(std::vector<model::Labels> targets) {
    now += 10s;
    scrape::JobTargets built = scrape::build_targets(*job, {{"p/0", group("g", std::move(targets))}});
    return describe(tracker.update({{"web", &built}}, now));
  }
  std::vector<std::string> update_without_targets() {
    now += 10s;
    return describe(tracker.update({{"web", nullptr}}, now));
  }
  static std::vector<std::string> describe(const std::vector<scrape::TargetChange>& changes) {
    std::vector<std::string> out;
    for (const scrape::TargetChange& c : changes) {
      const char* kind = c.kind == scrape::ChangeKind::added ? "added" : c.kind == scrape::ChangeKind::removed ? "removed" : "changed";
      out.push_back(std::string(kind) + " " + c.scrape_url);
    }
    return out;
  }
  const scrape::JobChurn& churn() const { return tracker.snapshot().jobs.at(0); }
};

using Changes = std::vector<std::string>;

TEST_CASE("churn: the first targets are the baseline, then added, removed and changed with a label diff") {
  Feeder f;
  CHECK(f.update_without_targets().empty()); // nothing discovered yet: syncing
  CHECK_FALSE(f.churn().delivered);

  CHECK(f.update({target("127.0.0.1:80"), target("127.0.0.2:80", {{"drop", "yes"}})}) ==
        Changes{"added http://127.0.0.1:80/metrics"});
  CHECK(f.churn().delivered);
  CHECK(f.churn().initial == 1);
  CHECK(f.churn().total_added == 0);
  CHECK(f.churn().active == 1);
  CHECK(f.churn().dropped == 1);
  REQUIRE(f.churn().targets.size() == 2);
  CHECK(f.churn().targets[1].dropped);
  CHECK(f.churn().targets[1].discovered.get("drop") == "yes");

}

TEST_CASE("churn: added, removed and changed with a label diff") {
  Feeder f;
  f.update({target("127.0.0.1:80", {{"env", "a"}, {"zone", "z1"}}), target("127.0.0.2:80")});
  CHECK(f.update({target("127.0.0.1:80", {{"env", "b"}, {"zone", "z1"}}), target("127.0.0.3:80")}) ==
        Changes{"changed http://127.0.0.1:80/metrics", "added http://127.0.0.3:80/metrics",
                "removed http://127.0.0.2:80/metrics"});
  const scrape::JobChurn& churn = f.churn();
  CHECK(churn.added == 1);
  CHECK(churn.removed == 1);
  CHECK(churn.total_added == 1);
  CHECK(churn.total_removed == 1);
  CHECK(churn.last_change == f.now);
  CHECK(churn.targets[0].changed_labels == std::vector<std::string>{"env"});

  const scrape::WatchSnapshot& snapshot = f.tracker.snapshot();
  REQUIRE(snapshot.events.size() == 5); // 2 baseline additions, then these 3, newest first
  const scrape::TargetChange& changed = snapshot.events[2];
  CHECK(changed.kind == scrape::ChangeKind::changed);
  CHECK(changed.labels.get("env") == "b");
  CHECK(changed.previous.get("env") == "a");
  CHECK(changed.labels.get("instance") == "127.0.0.1:80");
  CHECK_FALSE(changed.labels.has("__address__")); // final labels as the API shows them
  CHECK(changed.discovered.get("__address__") == "127.0.0.1:80");
  CHECK(snapshot.events[0].kind == scrape::ChangeKind::removed);
  CHECK(snapshot.events[0].labels.get("instance") == "127.0.0.2:80");

  // The highlight stays until the target changes again.
  CHECK(f.update({target("127.0.0.1:80", {{"env", "b"}, {"zone", "z1"}}), target("127.0.0.3:80")}).empty());
  CHECK(f.churn().targets[0].changed_labels == std::vector<std::string>{"env"});
  CHECK(f.churn().added == 0);
  CHECK(f.churn().last_change == f.now - 10s);
  CHECK(f.churn().active_history == std::vector<size_t>{2, 2, 2});
}

TEST_CASE("churn: a job whose providers have sent nothing keeps its targets") {
  Feeder f;
  f.update({target("127.0.0.1:80")});
  CHECK(f.update_without_targets().empty());
  CHECK(f.churn().active == 1);
  CHECK(f.churn().targets.size() == 1);
}

TEST_CASE("churn: targets sharing a scrape URL are told apart by their labels") {
  Feeder f;
  f.update({target("127.0.0.1:80", {{"a", "1"}}), target("127.0.0.1:80", {{"a", "2"}})});
  CHECK(f.churn().active == 2);
  // The second goes: the first keeps its identity, so this is one removal.
  CHECK(f.update({target("127.0.0.1:80", {{"a", "1"}})}) == Changes{"removed http://127.0.0.1:80/metrics"});
  CHECK(f.churn().targets[0].labels.get("a") == "1");
}

TEST_CASE("churn: an unchanged target is kept as it was; new discovered labels alone are shown, not reported") {
  Feeder f;
  f.update({target("127.0.0.1:80", {{"__meta_zone", "z1"}}), target("127.0.0.1:80", {{"a", "2"}})});
  CHECK(f.update({target("127.0.0.1:80", {{"__meta_zone", "z2"}}), target("127.0.0.1:80", {{"a", "2"}})}).empty());
  REQUIRE(f.churn().targets.size() == 2);
  CHECK(f.churn().targets[0].discovered.get("__meta_zone") == "z2");
  CHECK(f.churn().targets[0].labels.get("instance") == "127.0.0.1:80");
  CHECK(f.churn().targets[1].labels.get("a") == "2");
  CHECK(f.churn().targets[1].scrape_url == "http://127.0.0.1:80/metrics"); // not its labelled identity
  CHECK(f.update({target("127.0.0.1:80", {{"__meta_zone", "z2"}}), target("127.0.0.1:80", {{"a", "3"}})}) ==
        Changes{"added http://127.0.0.1:80/metrics", "removed http://127.0.0.1:80/metrics"});
}

TEST_CASE("churn: flapping is coming and going more than once; counts of the last minute age") {
  Feeder f;
  model::Labels a = target("127.0.0.1:80");
  model::Labels b = target("127.0.0.2:80");
  f.update({a, b});
  f.update({a});    // b went
  f.update({a, b}); // and came back: not yet flapping
  CHECK(f.churn().flapping == 0);
  f.update({a}); // went again
  CHECK(f.churn().flapping == 1);
  CHECK(f.churn().flapping_targets == std::vector<std::string>{"http://127.0.0.2:80/metrics"});
  model::Labels c = target("127.0.0.3:80");
  f.update({a, c}); // new after the baseline: came
  f.update({a});    // went
  CHECK(f.churn().flapping == 1);
  f.update({a, c}); // came again
  CHECK(f.churn().flapping == 2);
  f.update({a, b, c}); // b again: still counted once
  CHECK(f.churn().flapping == 2);
  CHECK(f.churn().total_added == 4);
  CHECK(f.churn().total_removed == 3);

  // Updates every 10 s: the last minute holds the last 6.
  CHECK(f.churn().added_last_minute == 4);
  CHECK(f.churn().removed_last_minute == 2); // the first removal was 60 s ago
  REQUIRE(f.tracker.next_expiry());
  CHECK(*f.tracker.next_expiry() == f.now + 10s); // b's return, 50 s ago
  CHECK(f.tracker.expire(f.now + 31s));
  CHECK(f.churn().added_last_minute == 2);
  CHECK(f.churn().removed_last_minute == 1);
  CHECK_FALSE(f.tracker.expire(f.now + 31s));
  CHECK(f.tracker.expire(f.now + 61s));
  CHECK(f.churn().added_last_minute == 0);
  CHECK_FALSE(f.tracker.next_expiry());
}

TEST_CASE("churn: bounded events and history; a removed job's targets are removed") {
  Feeder f({.events = 3, .history = 2, .window = 60s, .forgotten = 10});
  f.update({target("127.0.0.1:80"), target("127.0.0.2:80")});
  f.update({target("127.0.0.1:80"), target("127.0.0.2:80"), target("127.0.0.3:80"), target("127.0.0.4:80")});
  CHECK(f.tracker.snapshot().events.size() == 3);
  CHECK(f.tracker.snapshot().events[0].scrape_url == "http://127.0.0.4:80/metrics");
  CHECK(f.churn().active_history == std::vector<size_t>{2, 4});
  auto changes = f.tracker.update({}, f.now + 1s);
  CHECK(changes.size() == 4);
  CHECK(f.tracker.snapshot().jobs.empty());
}

TEST_CASE("churn: identities of vanished targets are forgotten beyond the limit") {
  Feeder f({.events = 10, .history = 2, .window = 60s, .forgotten = 4});
  f.update({target("127.0.0.1:80")});
  for (int i = 0; i < 20; ++i) {
    f.update({target("127.0.0.1:80"), target("127.0.1." + std::to_string(i) + ":80")});
  }
  f.update({target("127.0.0.1:80")});
  CHECK(f.churn().total_added == 20);
  CHECK(f.churn().total_removed == 20);
  CHECK(f.churn().flapping == 0);
}

TEST_CASE("event log: one JSON object per line in Prometheus's label shapes") {
  scrape::TargetChange change;
  change.time = scrape::WallClock::time_point(std::chrono::milliseconds(1700000000123));
  change.job = "web";
  change.kind = scrape::ChangeKind::changed;
  change.labels = {{"instance", "127.0.0.1:80"}, {"job", "web"}, {"env", "b"}};
  change.previous = {{"instance", "127.0.0.1:80"}, {"job", "web"}, {"env", "a"}};
  change.discovered = {{"__address__", "127.0.0.1:80"}, {"env", "b"}};
  std::ostringstream out;
  output::write_change_event(out, change);
  CHECK(out.str() == R"({"time":"2023-11-14T22:13:20.123Z","job":"web","event":"changed",)"
                     R"("target":{"env":"b","instance":"127.0.0.1:80","job":"web"},)"
                     R"("discoveredLabels":{"__address__":"127.0.0.1:80","env":"b"},)"
                     R"("previous":{"env":"a","instance":"127.0.0.1:80","job":"web"}})"
                     "\n");
  std::ostringstream reload;
  output::write_reload_event(reload, change.time, "config reloaded: 1 provider kept", false);
  CHECK(reload.str() ==
        R"({"time":"2023-11-14T22:13:20.123Z","event":"reload","message":"config reloaded: 1 provider kept"})"
        "\n");
}

TEST_SUITE_END();

} // namespace
