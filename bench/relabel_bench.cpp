// Relabel throughput: rule applications per second on one core, per action,
// over realistic discovered label sets (a kubernetes pod target with 32
// labels, a static target with 6). Built as the optional target
// relabel_bench when google-benchmark (Debian libbenchmark-dev) is found;
// bench/run runs it. Each iteration restores the label set from a template
// (an assignment that reuses the strings' buffers) and applies one rule;
// BM_reset measures that restore alone, so a rule's own cost is its time
// minus BM_reset's.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "relabel/apply.h"
#include "relabel/rule.h"
#include "yaml/decode.h"
#include "yaml/diagnostics.h"
#include "yaml/document.h"

using namespace sdscope;

namespace {

// Decodes a relabel_configs list; exits on any problem (a broken benchmark
// must not report numbers).
std::vector<relabel::Rule> rules(std::string_view yaml_text) {
  std::vector<relabel::Rule> out;
  yaml::Diagnostics diags;
  auto doc = yaml::Document::parse(yaml_text);
  if (!doc) {
    std::fprintf(stderr, "relabel_bench: unparsable rules:\n%.*s\n", static_cast<int>(yaml_text.size()),
                 yaml_text.data());
    std::exit(2);
  }
  yaml::Decoder decoder(diags, "relabel_bench");
  decoder.decode(doc->root(), out);
  if (!diags.sorted().empty()) {
    std::fprintf(stderr, "relabel_bench: %s\n", diags.sorted().front().message.c_str());
    std::exit(2);
  }
  return out;
}

// The discovered labels of one kubernetes pod-role target (what
// kubernetes_sd gives a container port of a Deployment's pod).
model::Labels pod_labels() {
  return {
      {"__address__", "10.12.3.45:8080"},
      {"__meta_kubernetes_namespace", "payments"},
      {"__meta_kubernetes_pod_annotation_prometheus_io_path", "/metrics"},
      {"__meta_kubernetes_pod_annotation_prometheus_io_port", "8080"},
      {"__meta_kubernetes_pod_annotation_prometheus_io_scrape", "true"},
      {"__meta_kubernetes_pod_annotationpresent_prometheus_io_path", "true"},
      {"__meta_kubernetes_pod_annotationpresent_prometheus_io_port", "true"},
      {"__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape", "true"},
      {"__meta_kubernetes_pod_container_id", "containerd://4f1c9d2e8a7b6c5d4e3f2a1b0c9d8e7f"},
      {"__meta_kubernetes_pod_container_image", "registry.example.com/payments/api:1.42.0"},
      {"__meta_kubernetes_pod_container_init", "false"},
      {"__meta_kubernetes_pod_container_name", "api"},
      {"__meta_kubernetes_pod_container_port_name", "metrics"},
      {"__meta_kubernetes_pod_container_port_number", "8080"},
      {"__meta_kubernetes_pod_container_port_protocol", "TCP"},
      {"__meta_kubernetes_pod_controller_kind", "ReplicaSet"},
      {"__meta_kubernetes_pod_controller_name", "payments-api-7d9f8c6b5"},
      {"__meta_kubernetes_pod_host_ip", "10.0.1.17"},
      {"__meta_kubernetes_pod_ip", "10.12.3.45"},
      {"__meta_kubernetes_pod_label_app", "payments-api"},
      {"__meta_kubernetes_pod_label_app_kubernetes_io_version", "1.42.0"},
      {"__meta_kubernetes_pod_label_pod_template_hash", "7d9f8c6b5"},
      {"__meta_kubernetes_pod_label_team", "Payments-Core"},
      {"__meta_kubernetes_pod_labelpresent_app", "true"},
      {"__meta_kubernetes_pod_labelpresent_app_kubernetes_io_version", "true"},
      {"__meta_kubernetes_pod_labelpresent_pod_template_hash", "true"},
      {"__meta_kubernetes_pod_labelpresent_team", "true"},
      {"__meta_kubernetes_pod_name", "payments-api-7d9f8c6b5-x2k9q"},
      {"__meta_kubernetes_pod_node_name", "node-17.eu-west-1.compute.internal"},
      {"__meta_kubernetes_pod_phase", "Running"},
      {"__meta_kubernetes_pod_ready", "true"},
      {"__meta_kubernetes_pod_uid", "9b2f6c1e-3d4a-4b5c-8d9e-0f1a2b3c4d5e"},
      {"__metrics_path__", "/metrics"},
      {"__scheme__", "http"},
      {"__scrape_interval__", "30s"},
      {"__scrape_timeout__", "10s"},
      {"job", "kubernetes-pods"},
  };
}

// The labels of one static target with group labels.
model::Labels static_labels() {
  return {{"__address__", "127.3.41.7:9100"}, {"__metrics_path__", "/metrics"}, {"__scheme__", "http"},
          {"__scrape_interval__", "30s"},     {"__scrape_timeout__", "10s"},    {"env", "prod"},
          {"grp_index", "17"},                {"job", "bench"}};
}

// Applies the rules of yaml_text to labels over and over; counts rule
// applications (rules that ran, up to a dropping one) as items.
void run(benchmark::State& state, std::string_view yaml_text, const model::Labels& labels) {
  std::vector<relabel::Rule> rs = rules(yaml_text);
  model::Labels work = labels;
  relabel::ApplyResult first = relabel::apply(rs, work);
  const int64_t applied = first.kept ? static_cast<int64_t>(rs.size()) : first.dropped_by + 1;
  for (auto _ : state) {
    work = labels;
    relabel::ApplyResult r = relabel::apply(rs, work);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(work);
  }
  state.SetItemsProcessed(state.iterations() * applied);
}

void BM_reset(benchmark::State& state) {
  const model::Labels labels = pod_labels();
  model::Labels work = labels;
  for (auto _ : state) {
    work = labels;
    benchmark::DoNotOptimize(work);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_reset);

// Every action on the pod label set, with the kind of rule a kubernetes
// scrape config has.
void BM_replace_capture(benchmark::State& s) {
  run(s,
      "- source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]\n"
      "  regex: '([^:]+)(?::\\d+)?;(\\d+)'\n  replacement: '$1:$2'\n  target_label: __address__\n",
      pod_labels());
}
void BM_replace_copy(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_pod_name]\n  target_label: pod\n", pod_labels());
}
void BM_replace_nomatch(benchmark::State& s) {
  run(s,
      "- source_labels: [__meta_kubernetes_pod_label_missing]\n  regex: '(.+)'\n  target_label: missing\n",
      pod_labels());
}
void BM_keep(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]\n  regex: 'true'\n"
         "  action: keep\n",
      pod_labels());
}
void BM_drop(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_pod_container_init]\n  regex: 'true'\n  action: drop\n",
      pod_labels());
}
void BM_keepequal(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_pod_container_port_number]\n"
         "  target_label: __meta_kubernetes_pod_annotation_prometheus_io_port\n  action: keepequal\n",
      pod_labels());
}
void BM_dropequal(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_pod_host_ip]\n  target_label: __meta_kubernetes_pod_ip\n"
         "  action: dropequal\n",
      pod_labels());
}
void BM_hashmod(benchmark::State& s) {
  run(s, "- source_labels: [__address__]\n  modulus: 4\n  target_label: __tmp_hash\n  action: hashmod\n",
      pod_labels());
}
void BM_labelmap(benchmark::State& s) {
  run(s, "- regex: '__meta_kubernetes_pod_label_(.+)'\n  action: labelmap\n", pod_labels());
}
void BM_labeldrop(benchmark::State& s) {
  run(s, "- regex: '__meta_kubernetes_pod_(annotation|labelpresent)_.+'\n  action: labeldrop\n",
      pod_labels());
}
void BM_labelkeep(benchmark::State& s) {
  run(s, "- regex: '__.+|job'\n  action: labelkeep\n", pod_labels());
}
void BM_lowercase(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_pod_label_team]\n  target_label: team\n  action: lowercase\n",
      pod_labels());
}
void BM_uppercase(benchmark::State& s) {
  run(s, "- source_labels: [__meta_kubernetes_namespace]\n  target_label: ns\n  action: uppercase\n",
      pod_labels());
}
// bench/targets' 5-rule chain on a static target (the per-target work of
// `sdscope targets` there).
void BM_chain_static(benchmark::State& s) {
  run(s,
      "- source_labels: [__address__]\n  regex: '127\\.(\\d+)\\.(\\d+)\\.(\\d+):(\\d+)'\n"
      "  target_label: rack\n  replacement: 'r$1-$2'\n"
      "- source_labels: [__address__]\n  modulus: 10\n  target_label: __tmp_shard\n  action: hashmod\n"
      "- source_labels: [__tmp_shard]\n  regex: '[0-9]'\n  action: keep\n"
      "- regex: 'grp_(.+)'\n  action: labelmap\n  replacement: 'g_$1'\n"
      "- source_labels: [__address__]\n  regex: '([^:]+):.*'\n  target_label: host\n  replacement: '$1'\n",
      static_labels());
}

BENCHMARK(BM_replace_capture);
BENCHMARK(BM_replace_copy);
BENCHMARK(BM_replace_nomatch);
BENCHMARK(BM_keep);
BENCHMARK(BM_drop);
BENCHMARK(BM_keepequal);
BENCHMARK(BM_dropequal);
BENCHMARK(BM_hashmod);
BENCHMARK(BM_labelmap);
BENCHMARK(BM_labeldrop);
BENCHMARK(BM_labelkeep);
BENCHMARK(BM_lowercase);
BENCHMARK(BM_uppercase);
BENCHMARK(BM_chain_static);

} // namespace

BENCHMARK_MAIN();
