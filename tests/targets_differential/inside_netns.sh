#!/usr/bin/env bash
# Runs inside `unshare -n` (a network namespace with only a loopback
# interface): the http_sd fixture server, two Prometheus servers (run 1 =
# the scenarios as written, run 2 = relabeling replaced by "drop all") and
# sdscope on every scenario, all talking over 127.0.0.1 only.
#
# Usage: inside_netns.sh WORKDIR PYTHON HTTP_PORT HTTPS_PORT DEADLINE [SDSCOPE]
set -u
work=$1 py=$2 http_port=$3 https_port=$4 deadline=$5 sdscope=${6:-}
prom=${PROMETHEUS:-prometheus}
port1=19091 port2=19092

ip link set lo up || { echo "cannot bring up lo in the network namespace" >&2; exit 3; }
cd "$work" || exit 3

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

# DNS for the dns_sd scenarios: dnsmasq with dnsmasq.conf's records on
# 127.0.0.1:53, and a resolv.conf naming it over /etc/resolv.conf (this
# mount namespace only), read alike by Prometheus and sdscope.
if [ -f dnsmasq.conf ]; then
    dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
    "$dnsmasq" --no-daemon --port=53 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
        --conf-file="$work/dnsmasq.conf" >dnsmasq.log 2>&1 &
    pids+=($!)
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >resolv.conf
    mount --bind "$work/resolv.conf" /etc/resolv.conf || { echo "cannot mount resolv.conf" >&2; exit 3; }
fi

# ZooKeeper for the serverset/nerve scenarios (Debian's zookeeper, run
# directly, not as the service) on 127.0.0.1:$ZK_PORT, loaded with
# znodes.json before Prometheus and sdscope start.
if [ -f znodes.json ]; then
    mkdir -p zookeeper
    printf 'tickTime=2000\ndataDir=%s/zookeeper\nclientPortAddress=127.0.0.1\nclientPort=%s\nadmin.enableServer=false\n' \
        "$work" "${ZK_PORT:-12181}" >zoo.cfg
    java -Xmx128m -XX:+UseSerialGC -cp /usr/share/java/zookeeper.jar org.apache.zookeeper.server.ZooKeeperServerMain \
        "$work/zoo.cfg" >zookeeper.log 2>&1 &
    pids+=($!)
    "$py" "$(dirname "$0")/znodes.py" "${ZK_PORT:-12181}" znodes.json ||
        { echo "ZooKeeper did not start or refused the znodes:" >&2; tail -n 20 zookeeper.log >&2; exit 3; }
fi

# The API fixture: serves WORKDIR over HTTP and HTTPS (see fixture.py)
"$py" "$(dirname "$0")/fixture.py" "$work" "$http_port" "$https_port" >http.log 2>&1 &
pids+=($!)
"$py" - "$http_port" <<'PY' || { echo "fixture HTTP server did not start:" >&2; cat http.log >&2; exit 3; }
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen('http://127.0.0.1:%s/jobs.tsv' % sys.argv[1], timeout=1).read()
        sys.exit(0)
    except Exception:
        time.sleep(0.05)
sys.exit(1)
PY

for n in 1 2; do
    port=$port1; [ $n = 2 ] && port=$port2
    "$prom" --config.file="$work/run$n.yml" --storage.tsdb.path="$work/data$n" \
        --web.listen-address="127.0.0.1:$port" >"prom$n.log" 2>&1 &
    pids+=($!)
done

# sdscope on every scenario while Prometheus warms up (two at a time)
if [ -n "$sdscope" ]; then
    mkdir -p sd
    sd_pids=()
    running=0
    while IFS= read -r s; do
        (
            timeout "${TARGETS_DIFF_SDSCOPE_TIMEOUT:-30}" "$sdscope" targets "$work/$s.yml" -o json \
                >"sd/$s.json" 2>"sd/$s.err"
            echo $? >"sd/$s.rc"
        ) &
        sd_pids+=($!)
        running=$((running + 1))
        if [ $running -ge 2 ]; then wait -n; running=$((running - 1)); fi
    done <scenarios.txt
fi

"$py" "$(dirname "$0")/poll.py" jobs.tsv "$deadline" \
    run1="http://127.0.0.1:$port1" p1.json run2="http://127.0.0.1:$port2" p2.json
rc=$?
if [ -n "$sdscope" ]; then
    for p in "${sd_pids[@]}"; do wait "$p" 2>/dev/null; done
fi
if [ $rc -ne 0 ]; then
    for n in 1 2; do
        echo "--- last lines of Prometheus run $n log:" >&2
        tail -n 15 "prom$n.log" >&2
    done
fi
exit $rc
