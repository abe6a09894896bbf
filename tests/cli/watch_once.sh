#!/usr/bin/env bash
# sdscope watch --once-after: a summary of the churn, then exit (1 when a
# provider failed); usage and config errors exit 2 before anything starts.
. "$(dirname "$0")/lib.sh"

cat > prometheus.yml <<'YAML'
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:9100', '127.0.0.2:9100']}]
  - job_name: empty
YAML

run watch --once-after 500ms --update-interval 100ms prometheus.yml
expect_status 0
expect_out "watched 500ms"
expect_out "JOB     ACTIVE  INITIAL    ADDED  REMOVED  FLAPPING"
expect_out "node         2        2        0        0         0"
expect_out "empty        0        0        0        0         0"

run watch --once-after 300ms --update-interval 100ms -o json --job node prometheus.yml
expect_status 0
"$PYTHON" -c '
import json, sys
doc = json.load(open("out.txt"))
assert [j["job"] for j in doc["jobs"]] == ["node"], doc
assert doc["jobs"][0]["initial"] == 2 and doc["jobs"][0]["flappingTargets"] == [], doc
assert doc["providers"] == [{"name": "static/0", "jobs": ["node"], "state": "ok"}], doc
' || fail "-o json summary"

# With --events: the event lines, then the summary as the last one.
run watch --once-after 300ms --update-interval 100ms --events --job node prometheus.yml
expect_status 0
[ "$(grep -c '"event":"added"' out.txt)" -eq 2 ] || fail "want 2 added lines"
tail -n 1 out.txt | grep -q '^{"time":"[^"]*","event":"summary","watched":"300ms","updates":1,' ||
  fail "the last line is not the summary"

# A provider that fails: exit 1, with the error on stderr.
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > failing.yml <<YAML
scrape_configs:
  - job_name: api
    http_sd_configs: [{url: "http://127.0.0.1:$port/sd"}]
YAML
run watch --once-after 300ms --update-interval 100ms failing.yml
expect_status 1
expect_err "sdscope: http/0 (job \"api\") failed: "

run watch --update-interval soon prometheus.yml
expect_status 2
expect_err "--update-interval"
run watch --job nope --events prometheus.yml
expect_status 2
expect_err 'no job "nope"'
run watch -o json prometheus.yml
expect_status 2
printf 'scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n' > bad.yml
run watch --events bad.yml
expect_status 2
expect_err "bad.yml:3:22:"
finish
