// A job's targets from its discovered groups: packing, recomputed
// discovered labels and duplicate merging (spec/core.md §5.4).
#include <doctest/doctest.h>

#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "output/targets.h"
#include "scrape/targets.h"

using namespace sdscope;

namespace {

std::shared_ptr<const model::TargetGroup> group(std::string source, std::vector<model::Labels> targets,
                                                model::Labels labels = {}) {
  return std::make_shared<const model::TargetGroup>(model::TargetGroup{std::move(targets), std::move(labels),
                                                                       std::move(source)});
}

config::Config load(std::string_view yaml) {
  yaml::Diagnostics diagnostics;
  config::Config config = config::load_text(yaml, "test.yml", diagnostics);
  REQUIRE(diagnostics.error_count() == 0);
  return config;
}

std::string text(const model::Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += name + "=" + value + " ";
  }
  return out;
}

} // namespace

TEST_CASE("packed labels keep every label, in order, and compare by content") {
  model::Labels labels{{"a", "1"}, {"b", std::string(300, 'x')}, {"c", "\xe2\x82\xac"}};
  auto pack = [](const model::Labels& l) {
    std::string bytes(model::PackedLabels::packed_size(l), '\0');
    CHECK(model::PackedLabels::pack(l, bytes.data()) == bytes.data() + bytes.size());
    return bytes;
  };
  std::string bytes = pack(labels);
  CHECK(bytes.size() == (1 + 1) + (1 + 1) + (1 + 1) + (2 + 300) + (1 + 1) + (1 + 3)); // 300 needs a 2-byte length
  model::PackedLabels packed(bytes);
  CHECK(packed.unpack() == labels);
  CHECK(packed.get("b").size() == 300);
  CHECK(packed.get("zz").empty());
  std::string again = pack(labels);
  CHECK(packed == model::PackedLabels(again));
  std::string other = pack(model::Labels{{"a", "1"}});
  CHECK_FALSE(packed == model::PackedLabels(other));
  // The names every target has take two bytes; an empty name (labelmap can
  // make one) survives too.
  model::Labels common{{"", "empty"}, {"__address__", "h:1"}, {"__scrape_interval__", "1m"}, {"instance", "h:1"},
                       {"job", ""}, {"jobs", "x"}};
  std::string common_bytes = pack(common);
  CHECK(common_bytes.size() == (2 + 6) + (2 + 4) + (2 + 3) + (2 + 4) + (1 + 4 + 2));
  CHECK(model::PackedLabels(common_bytes).unpack() == common);
  CHECK(model::PackedLabels(common_bytes).get("__scrape_interval__") == "1m");
}

TEST_CASE("discovered labels computed again equal those populate saw") {
  config::Config config = load(R"(
scrape_configs:
  - job_name: j
    params: {module: [m1, m2], empty: [""]}
    relabel_configs: [{source_labels: [drop], regex: "yes", action: drop}]
)");
  const config::ScrapeConfig& job = *config::jobs(config)[0];
  std::vector<discovery::ProvidedGroup> groups = {
      {"p/0", group("g", {model::Labels{{"__address__", "127.0.0.1:1"}, {"x", "target"}},
                          model::Labels{{"__address__", "127.0.0.2:1"}, {"__param_empty", "set"}, {"drop", "yes"}},
                          model::Labels{{"job", "mine"}, {"__scheme__", "https"}}},
                    model::Labels{{"__address__", "group"}, {"x", "group"}, {"y", "group"}, {"__param_module", "g"}})}};
  scrape::JobTargets built = scrape::build_targets(job, groups);
  REQUIRE(built.active.size() == 1);
  REQUIRE(built.dropped.size() == 1);
  REQUIRE(built.failed.size() == 1); // no address: the group's never fills in
  CHECK(text(built.discovered(built.active[0])) ==
        "__address__=127.0.0.1:1 __metrics_path__=/metrics __param_module=m1 __scheme__=http __scrape_interval__=1m "
        "__scrape_timeout__=10s job=j x=target y=group ");
  CHECK(text(built.discovered(built.failed[0])) ==
        "__metrics_path__=/metrics __param_module=m1 __scheme__=https __scrape_interval__=1m __scrape_timeout__=10s "
        "job=mine x=group y=group ");
  for (const scrape::JobTarget* t : {&built.active[0], &built.dropped[0], &built.failed[0]}) {
    model::Labels streamed;
    built.for_each_discovered(*t, [&](std::string_view n, std::string_view v) { streamed.append_sorted(n, v); });
    CHECK(streamed == built.discovered(*t));
  }
  CHECK(built.dropped[0].dropped_by == 0);
  CHECK(built.source(built.active[0]) == "p/0:g");
  CHECK(built.url(built.active[0]) == "http://127.0.0.1:1/metrics?empty=&module=m1&module=m2");
}

TEST_CASE("targets with equal labels are one: the first kept, showing the last one's discovered labels") {
  config::Config config = load(R"(
scrape_configs:
  - job_name: j
    relabel_configs: [{regex: "from", action: labeldrop}]
)");
  const config::ScrapeConfig& job = *config::jobs(config)[0];
  std::vector<discovery::ProvidedGroup> groups = {
      {"a/0", group("1", {model::Labels{{"__address__", "127.0.0.1:80"}, {"from", "first"}},
                          model::Labels{{"__address__", "127.0.0.2:80"}}})},
      {"b/1", group("2", {model::Labels{{"__address__", "127.0.0.1"}, {"from", "second"}},
                          model::Labels{{"__address__", "127.0.0.1:80"}, {"from", "third"}}})}};
  scrape::JobTargets built = scrape::build_targets(job, groups);
  CHECK(built.duplicates_merged == 2);
  REQUIRE(built.active.size() == 2);
  CHECK(built.active[0].labels.get("instance") == "127.0.0.1:80");
  CHECK(built.discovered(built.active[0]).get("from") == "third");
  CHECK(built.source(built.active[0]) == "b/1:2");
  CHECK(built.active[1].labels.get("instance") == "127.0.0.2:80");
}

TEST_CASE("json of many targets, written in parallel batches, is the same as written one by one") {
  config::Config config = load(R"(
scrape_configs:
  - job_name: j
    relabel_configs: [{source_labels: [n], regex: ".*7", action: drop}]
)");
  const config::ScrapeConfig& job = *config::jobs(config)[0];
  std::vector<model::Labels> many;
  for (int i = 0; i < 5000; ++i) {
    many.push_back(model::Labels{{"__address__", fmt::format("127.0.{}.{}:80", i / 250, i % 250)},
                                 {"n", std::to_string(i)}});
  }
  output::TargetsReport report;
  report.jobs.push_back(scrape::build_targets(job, {{"p/0", group("g", many)}}));
  REQUIRE(report.jobs[0].active.size() == 4500);
  std::ostringstream parallel;
  output::write_targets(parallel, report, output::TargetFormat::json, {});

  // The same document from a writer that cannot write elsewhere: one by one.
  auto whole = nlohmann::ordered_json::parse(parallel.str());
  REQUIRE(whole["activeTargets"].size() == 4500);
  REQUIRE(whole["droppedTargets"].size() == 500);
  for (size_t i = 0; i < 4500; ++i) {
    size_t n = i / 9 * 10 + i % 9 + (i % 9 >= 7 ? 1 : 0);
    REQUIRE(whole["activeTargets"][i]["labels"]["n"] == std::to_string(n));
  }
  CHECK(whole.dump(2) + "\n" == parallel.str());
}
