#!/usr/bin/env bash
# Differential test of `sdscope targets -o json` against vmagent (Debian's
# victoria-metrics package) for kubernetes_sd and consul_sd, which Debian's
# Prometheus 2.42 is built without.
#
# Usage: run.sh SDSCOPE_BINARY SCENARIO_DIR
#
# SCENARIO_DIR (testdata/vmagent) holds NAME.json (the objects fixture.py
# serves: Kubernetes API and Consul agent) and NAME.yml (a config whose
# "@API@" is the fixture's base URL and "@CONSUL@" its host:port). Every
# address in them is in 127.0.0.0/8, and everything runs in a loopback-only
# network namespace (unshare -n): vmagent really scrapes what it finds.
# compare.py then compares every job's active targets; see it for where
# vmagent 1.79 and Prometheus v2.45 differ and which one is followed.
#
# Exit status: 0 all passed, 1 failures, 2 usage error, 77 skipped (missing
# vmagent, python3, curl or unshare).
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 SDSCOPE_BINARY SCENARIO_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
sdscope=$(realpath "$1")
scenarios=$(realpath "$2")
skip() { echo "SKIP: $*"; exit 77; }

if [ "${VMAGENT_DIFF_INSIDE:-}" != 1 ]; then
    command -v vmagent >/dev/null || skip "vmagent not found (apt-get install victoria-metrics)"
    command -v python3 >/dev/null || skip "python3 not found"
    command -v curl >/dev/null || skip "curl not found"
    command -v unshare >/dev/null && unshare -n true 2>/dev/null || skip "cannot create a network namespace"
    VMAGENT_DIFF_INSIDE=1 exec unshare -n "$0" "$@"
fi

ip link set lo up 2>/dev/null || { echo "cannot bring up lo" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sdscope-vmagent-diff.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ "${VMAGENT_DIFF_KEEP:-0}" = 1 ] && echo "work directory: $work" || rm -rf "$work"
}
trap cleanup EXIT

fixture_port=18500 vmagent_port=18429
status=0
for scenario in "$scenarios"/*.json; do
    name=$(basename "$scenario" .json)
    dir=$work/$name
    mkdir -p "$dir"
    python3 "$here/fixture.py" "$scenario" $fixture_port >"$dir/fixture.log" 2>&1 &
    fixture=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$fixture_port/version" >/dev/null && break; sleep 0.1; done
    sed -e "s|@API@|http://127.0.0.1:$fixture_port|g" -e "s|@CONSUL@|127.0.0.1:$fixture_port|g" \
        "$scenarios/$name.yml" >"$dir/prometheus.yml"
    vmagent -promscrape.config="$dir/prometheus.yml" -httpListenAddr=127.0.0.1:$vmagent_port \
        -remoteWrite.url=http://127.0.0.1:1/api/v1/write -remoteWrite.tmpDataPath="$dir/vmagent-data" \
        -loggerLevel=ERROR >"$dir/vmagent.log" 2>&1 &
    vm=$!
    pids=("$fixture" "$vm")
    timeout 60 "$sdscope" targets "$dir/prometheus.yml" -o json >"$dir/sdscope.json" 2>"$dir/sdscope.err"
    echo $? >"$dir/sdscope.rc"
    # vmagent has no "synced" signal: poll until every job has targets and
    # two answers a second apart agree (at most 30 s).
    python3 "$here/compare.py" --wait "http://127.0.0.1:$vmagent_port/api/v1/targets" "$dir" || status=1
    kill "$fixture" "$vm" 2>/dev/null
    wait "$fixture" "$vm" 2>/dev/null
done
exit $status
