#!/usr/bin/env bash
# sdscope targets against a failing http_sd (watch_fixture.py's faults): the
# provider's error is printed with its mechanism and job, and a server that
# never answers costs no more than --timeout. The whole fault matrix, for
# http_sd, consul_sd and kubernetes_sd, is in tests/unit/faults_test.cpp.
. "$(dirname "$0")/lib.sh"
start_watch_fixture
for _ in $(seq 200); do [ -s port.txt ] && break; sleep 0.05; done
port=$(cat port.txt)
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# HTTP 500: reported at once, with the provider (mechanism/n) and the job.
echo 500 >api.status
cat >prometheus.yml <<YML
scrape_configs:
  - job_name: api
    http_sd_configs: [{url: "http://127.0.0.1:$port/sd/api", refresh_interval: 1s}]
YML
start=$(now_ms)
run targets --timeout 5s -o json prometheus.yml
took=$(($(now_ms) - start))
expect_status 1
expect_err 'sdscope: http/0 (job "api") failed: server returned HTTP status 500 Internal Server Error'
[ "$took" -lt 3000 ] || fail "a 500 took ${took} ms to report"

# No answer at all: the refresh's own timeout is 1m, --timeout 1s wins.
touch slow.hang
cat >slow.yml <<YML
scrape_configs:
  - job_name: slow
    http_sd_configs: [{url: "http://127.0.0.1:$port/sd/slow", refresh_interval: 1m}]
YML
start=$(now_ms)
run targets --timeout 1s -o json slow.yml
took=$(($(now_ms) - start))
expect_status 1
expect_err 'sdscope: http/0 (job "slow") has not delivered its first result after 1s'
[ "$took" -lt 2500 ] || fail "targets --timeout 1s took ${took} ms"
finish
