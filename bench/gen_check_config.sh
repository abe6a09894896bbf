#!/usr/bin/env bash
# Writes a Prometheus config with N jobs (default 5000) to stdout: static
# targets, basic auth, TLS settings and 5 relabel rules each (about 4 MB for 5000 jobs).
n=${1:-5000}
awk -v n="$n" 'BEGIN {
  print "global:\n  scrape_interval: 30s\n  scrape_timeout: 10s\n  external_labels:\n    cluster: bench\nscrape_configs:"
  for (j = 0; j < n; j++) {
    printf "  - job_name: job-%05d\n", j
    print "    scrape_interval: 15s\n    metrics_path: /metrics\n    scheme: http"
    print "    basic_auth:\n      username: user" j "\n      password: secret-" j
    print "    tls_config:\n      insecure_skip_verify: true\n      server_name: job" j ".example.internal"
    print "    static_configs:"
    for (g = 0; g < 2; g++) {
      printf "      - targets: ["
      for (t = 0; t < 3; t++) {
        printf "%s\"127.%d.%d.%d:%d\"", (t ? ", " : ""), (j / 250) % 250, j % 250, g * 10 + t + 1, 9100 + t
      }
      print "]\n        labels:\n          team: team-" (j % 17) "\n          env: " (g ? "prod" : "staging")
    }
    print "    relabel_configs:"
    print "      - source_labels: [__address__]\n        regex: \"([^:]+):(\\\\d+)\"\n        target_label: host\n        replacement: \"$1\""
    print "      - source_labels: [env]\n        regex: staging\n        action: drop"
    print "      - source_labels: [team, env]\n        separator: \"/\"\n        target_label: owner"
    print "      - source_labels: [__address__]\n        modulus: 8\n        target_label: __tmp_shard\n        action: hashmod"
    print "      - regex: \"__meta_(.+)\"\n        action: labelmap\n        replacement: \"meta_$1\""
  }
}'
