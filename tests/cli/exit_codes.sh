#!/usr/bin/env bash
# Exit status: 0 valid, 1 invalid, 2 usage or I/O error, 3 lint with --lint-fatal.
. "$(dirname "$0")/lib.sh"

printf 'scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ["127.0.0.1:9100"]}]\n' > good.yml
run check good.yml
expect_status 0
expect_out "good.yml: valid (1 job)"

printf 'scrape_configs:\n  - job_name: a\n    scrape_interval: 30\n    static_config: []\n' > bad.yml
run check bad.yml
expect_status 1
# Every problem, the hook error first (as Prometheus reports it), with positions.
expect_out 'bad.yml:3:22: error: not a valid duration string: "30"'
expect_out 'bad.yml:4:5: error: field static_config not found in type config.ScrapeConfig (did you mean static_configs?)'
expect_out 'bad.yml: 2 errors'
[ "$(grep -m1 ': error: ' out.txt)" = 'bad.yml:3:22: error: not a valid duration string: "30"' ] || fail "hook error not first"

run check missing.yml
expect_status 2

run check --format nonsense good.yml
expect_status 2

run nonsense-command
expect_status 2

printf 'scrape_configs:\n  - job_name: a\n    keep_dropped_targets: 5\n    static_configs: [{targets: ["127.0.0.1:9100"]}]\n' > newer.yml
run check newer.yml
expect_status 0
expect_out "newer.yml:3:5: warning: field keep_dropped_targets is new in Prometheus 2.47; v2.45 rejects it"
run check --lint-fatal newer.yml
expect_status 3

# One invalid file among several makes the run invalid.
run check good.yml bad.yml
expect_status 1
finish
