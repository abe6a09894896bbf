#!/usr/bin/env bash
# Differential test of `sdscope targets -o json` against a real Prometheus
# server (Debian's 2.42, /usr/bin/prometheus) on the same configs.
#
# Usage: run.sh SDSCOPE_BINARY SCENARIO_DIR
#
# SCENARIO_DIR (testdata/targets) holds one scenario per NAME.yml, or per
# directory NAME/ with NAME/prometheus.yml and the files it names (file_sd
# files, http_sd responses under NAME/http/; "@HTTP@" in the config is the
# base URL of NAME/ on the fixture server, "@HTTPS@" the same over HTTPS,
# "@HTTPS_PORT@" its port, "@TCP@" is "@HTTP@" with the tcp:// scheme (for
# docker_sd/dockerswarm_sd hosts: Docker's client drops an http:// host's
# path); the fixture's certificate is fixture-cert.pem, see fixture.py for
# how requests map to files; NAME/znodes.json maps znode paths to data for
# serverset/nerve scenarios, served by a ZooKeeper at "@ZOOKEEPER@", started
# only when some scenario has znodes). Only `global` (scrape_interval,
# scrape_timeout) and `scrape_configs` may appear; every target address is
# in 127.0.0.0/8 or ::1. A header line "# dup-ok: <reason>" marks scenarios
# whose active targets have duplicates (Prometheus then shows the discovered
# labels of a random one).
#
# How it works:
#   1. prepare.py rewrites every scenario (jobs renamed "NAME/<job>", file
#      paths made relative to the work directory, global durations pushed
#      into the jobs) into WORK/NAME.yml, and merges them all into one config
#      run1.yml, plus run2.yml in which every job's relabel_configs is one
#      rule dropping everything: 2.42's API shows discoveredLabels *after*
#      relabeling for targets whose rules change a label, so the true
#      discovered labels come from run 2's droppedTargets.
#   2. In one loopback-only network namespace (unshare -mn; Prometheus really
#      scrapes what it discovers) it starts the http_sd fixture
#      (fixture.py), both Prometheus servers, and runs
#      `sdscope targets WORK/NAME.yml -o json` for every scenario meanwhile;
#      poll.py waits until every job's scrape pool has synced in both
#      servers and the target lists are stable (upper bound
#      TARGETS_DIFF_DEADLINE, default 60 s), then saves both API answers.
#   3. compare.py compares per job: active (labels, scrapeUrl), discovered
#      labels against run 2, dropped targets (see compare.py for the rules),
#      and prints ok/FAIL/SKIP per scenario with a readable diff.
#
# If sdscope has no `targets` command yet, only the Prometheus side runs
# (every scenario must discover targets) and the test exits 77 (skipped).
# Exit status: 0 all passed, 1 failures, 2 usage error, 77 skipped (missing
# prometheus/python3-yaml/ip/unshare or no network namespace).
#
# Environment: PROMETHEUS (binary), TARGETS_DIFF_DEADLINE,
# TARGETS_DIFF_SDSCOPE_TIMEOUT (seconds per sdscope run, default 30),
# TARGETS_DIFF_KEEP=1 (keep the work directory and print its path).
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SDSCOPE_BINARY SCENARIO_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
SDSCOPE=$1
SCEN=${2%/}
case $SDSCOPE in
    /*) ;;
    *) SDSCOPE=$PWD/$SDSCOPE ;;
esac
[ -d "$SCEN" ] || { echo "error: scenario directory '$SCEN' not found" >&2; exit 2; }

skip() { echo "SKIP: $*"; exit 77; }

PROMETHEUS=${PROMETHEUS:-$(command -v prometheus 2>/dev/null || true)}
[ -n "$PROMETHEUS" ] || skip "prometheus not found (apt-get install prometheus)"
export PROMETHEUS
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then PY=$(command -v "$p"); break; fi
done
[ -n "$PY" ] || skip "python3 with the yaml module not found (apt-get install python3-yaml)"
command -v ip >/dev/null 2>&1 || skip "ip not found (apt-get install iproute2)"
command -v unshare >/dev/null 2>&1 || skip "unshare not found (util-linux)"
unshare -mn true 2>/dev/null || skip "cannot create network and mount namespaces (unshare -mn needs root)"

have_sd=1
if [ ! -x "$SDSCOPE" ]; then
    echo "NOTE: sdscope binary '$SDSCOPE' is not executable: checking the Prometheus side only"
    have_sd=0
elif ! "$SDSCOPE" targets --help 2>/dev/null | grep -q '^Usage:.* targets'; then
    echo "NOTE: '$SDSCOPE targets' is not available yet: checking the Prometheus side only"
    have_sd=0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdscope-targets-diff.XXXXXX") || exit 2
if [ "${TARGETS_DIFF_KEEP:-0}" = 1 ]; then
    echo "work directory: $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

HTTP_PORT=18080 HTTPS_PORT=18443 ZK_PORT=12181
"$PY" "$here/prepare.py" "$SCEN" "$WORK" "http://127.0.0.1:$HTTP_PORT" "https://127.0.0.1:$HTTPS_PORT" \
    "127.0.0.1:$ZK_PORT" ||
    { echo "FAIL: preparing the scenarios"; exit 1; }
# The HTTPS fixture's certificate (self-signed, for 127.0.0.1; its own CA).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$WORK/fixture-key.pem" -out "$WORK/fixture-cert.pem" >/dev/null 2>&1 ||
    { echo "FAIL: openssl could not make the fixture certificate"; exit 1; }

sd_arg=
[ $have_sd = 1 ] && sd_arg=$SDSCOPE
start=$(date +%s)
# dns_sd scenarios resolve through SCENARIO_DIR/dnsmasq.conf (a dnsmasq on
# 127.0.0.1:53, named by a resolv.conf bind-mounted over /etc/resolv.conf in
# a private mount namespace).
[ -f "$SCEN/dnsmasq.conf" ] && cp "$SCEN/dnsmasq.conf" "$WORK/"
if ! ZK_PORT=$ZK_PORT unshare -mn bash "$here/inside_netns.sh" "$WORK" "$PY" "$HTTP_PORT" "$HTTPS_PORT" "${TARGETS_DIFF_DEADLINE:-60}" $sd_arg; then
    echo "FAIL: Prometheus did not deliver the targets of every scenario (see above)"
    exit 1
fi
echo "(Prometheus and sdscope runs took $(( $(date +%s) - start )) s)"

if [ $have_sd = 1 ]; then
    "$PY" "$here/compare.py" "$WORK"
    exit $?
fi
"$PY" "$here/compare.py" "$WORK" --prometheus-only || exit 1
skip "sdscope targets not available; Prometheus side verified"
