#!/usr/bin/env bash
# Writes the inputs of bench/targets.
#   gen_targets_config.sh static TARGETS GROUPS
#       config (stdout) with one job "bench" holding TARGETS static targets
#       (127.x.y.z addresses) in GROUPS static groups and a 5-rule relabel
#       chain (replace, hashmod, keep, labelmap, replace).
#   gen_targets_config.sh file_sd TARGETS FILES DIR
#       FILES JSON file_sd files DIR/sd/t-NNNN.json holding TARGETS targets in
#       total, and DIR/prometheus.yml with one job "bench" reading sd/*.json
#       and the same relabel chain.
#   gen_targets_config.sh http_sd TARGETS GROUPS DIR URL
#       DIR/sd.json, an http_sd response holding TARGETS targets in GROUPS
#       groups, and DIR/prometheus.yml with one job "bench" reading URL
#       (where DIR/sd.json is to be served) and the same relabel chain.
set -eu
relabel_chain() {
  cat <<'YAML'
    relabel_configs:
      - source_labels: [__address__]
        regex: "127\\.(\\d+)\\.(\\d+)\\.(\\d+):(\\d+)"
        target_label: rack
        replacement: "r$1-$2"
      - source_labels: [__address__]
        modulus: 10
        target_label: __tmp_shard
        action: hashmod
      - source_labels: [__tmp_shard]
        regex: "[0-8]"
        action: keep
      - regex: "grp_(.+)"
        action: labelmap
        replacement: "g_$1"
      - source_labels: [__address__]
        regex: "([^:]+):.*"
        target_label: host
        replacement: "$1"
YAML
}
mode=${1:-static}
case $mode in
static)
  n=${2:-50000} groups=${3:-500}
  printf 'global:\n  scrape_interval: 30s\nscrape_configs:\n  - job_name: bench\n    static_configs:\n'
  awk -v n="$n" -v g="$groups" 'BEGIN {
    per = int((n + g - 1) / g); t = 0
    for (i = 0; i < g && t < n; i++) {
      printf "      - targets: ["
      for (k = 0; k < per && t < n; k++) {
        printf "%s\"127.%d.%d.%d:%d\"", (k ? ", " : ""), int(t / 62500) % 250, int(t / 250) % 250, t % 250 + 1, 9100 + t % 7
        t++
      }
      print "]\n        labels:\n          grp_index: \"" i "\"\n          env: " (i % 3 ? "prod" : "staging")
    }
  }'
  relabel_chain
  ;;
file_sd)
  n=${2:-200000} files=${3:-100} dir=${4:?directory}
  mkdir -p "$dir/sd"
  awk -v n="$n" -v f="$files" -v dir="$dir" 'BEGIN {
    per = int((n + f - 1) / f); t = 0
    for (i = 0; i < f; i++) {
      file = sprintf("%s/sd/t-%04d.json", dir, i)
      printf "[" > file
      grp = 0
      while (grp * 100 < per && t < n) {
        printf "%s\n{\"targets\": [", (grp ? "," : "") > file
        for (k = 0; k < 100 && grp * 100 + k < per && t < n; k++) {
          printf "%s\"127.%d.%d.%d:%d\"", (k ? ", " : ""), int(t / 62500) % 250, int(t / 250) % 250, t % 250 + 1, 9100 + t % 7 > file
          t++
        }
        printf "], \"labels\": {\"grp_file\": \"%d\", \"grp_group\": \"%d\", \"env\": \"prod\"}}", i, grp > file
        grp++
      }
      print "\n]" > file
      close(file)
    }
  }'
  { printf 'global:\n  scrape_interval: 30s\nscrape_configs:\n  - job_name: bench\n    file_sd_configs:\n      - files: ["sd/*.json"]\n'
    relabel_chain; } > "$dir/prometheus.yml"
  ;;
http_sd)
  n=${2:-50000} groups=${3:-500} dir=${4:?directory} url=${5:?URL}
  mkdir -p "$dir"
  awk -v n="$n" -v g="$groups" 'BEGIN {
    per = int((n + g - 1) / g); t = 0
    printf "["
    for (i = 0; i < g && t < n; i++) {
      printf "%s\n{\"targets\": [", (i ? "," : "")
      for (k = 0; k < per && t < n; k++) {
        printf "%s\"127.%d.%d.%d:%d\"", (k ? ", " : ""), int(t / 62500) % 250, int(t / 250) % 250, t % 250 + 1, 9100 + t % 7
        t++
      }
      printf "], \"labels\": {\"grp_index\": \"%d\", \"env\": \"%s\"}}", i, (i % 3 ? "prod" : "staging")
    }
    print "\n]"
  }' > "$dir/sd.json"
  { printf 'global:\n  scrape_interval: 30s\nscrape_configs:\n  - job_name: bench\n    http_sd_configs:\n      - url: %s\n' "$url"
    relabel_chain; } > "$dir/prometheus.yml"
  ;;
*) echo "usage: $0 static [TARGETS GROUPS] | file_sd TARGETS FILES DIR | http_sd TARGETS GROUPS DIR URL" >&2; exit 2 ;;
esac
