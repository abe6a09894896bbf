#!/usr/bin/env bash
# SDSCOPE_DNS_SERVER points dns_sd at another name server: here a dnsmasq on
# a loopback port (skipped, visibly, where dnsmasq cannot run).
. "$(dirname "$0")/lib.sh"

dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$dnsmasq" ] || { echo "SKIP: dnsmasq not installed (package dnsmasq-base)"; exit 77; }
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$dnsmasq" --no-daemon --port="$port" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
  --conf-file=/dev/null --local=/sd.test/ \
  --srv-host=_http._tcp.web.sd.test,host1.sd.test,8080 --host-record=host1.sd.test,127.0.3.1 >dnsmasq.log 2>&1 &
dns=$!
trap 'kill $dns 2>/dev/null; rm -rf "$SCRATCH"' EXIT
sleep 0.3
kill -0 $dns 2>/dev/null || { echo "SKIP: dnsmasq cannot run here: $(cat dnsmasq.log)"; exit 77; }

cat > prometheus.yml <<'YAML'
scrape_configs:
  - job_name: srv
    dns_sd_configs: [{names: [_http._tcp.web.sd.test]}]
YAML
SDSCOPE_DNS_SERVER=127.0.0.1:$port run targets prometheus.yml -o json --timeout 10s
expect_status 0
expect_out '"instance": "host1.sd.test:8080"'
expect_out '"__meta_dns_srv_record_target": "host1.sd.test."'
finish
