#!/usr/bin/env bash
# sdscope watch --events, line by line: a file_sd whose file is rewritten and
# an http_sd fixture (python3 on a loopback port) whose answer changes; each
# change is one JSON line, written once the throttled update goes out.
. "$(dirname "$0")/lib.sh"
start_watch_fixture

"$PYTHON" - "$SDSCOPE" "$SCRATCH" "$HERE" <<'PY' || FAILURES=1
import json, os, signal, sys, time

sdscope, scratch = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from watch_lib import Watch, fixture_port, wait_for
os.chdir(scratch)

def write(path, data):  # replaced in one step, as config management does
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.rename(path + ".tmp", path)

port = fixture_port()
url = f"http://127.0.0.1:{port}/sd/api"
os.mkdir("targets")
file_a = os.path.join(scratch, "targets", "a.json")
write(file_a, [{"targets": ["127.0.0.1:9100", "127.0.0.2:9100"], "labels": {"env": "prod"}}])
write("api.json", [{"targets": ["127.0.1.1:8080"], "labels": {"team": "a"}}])
with open("prometheus.yml", "w") as f:
    f.write(f"""scrape_configs:
  - job_name: files
    file_sd_configs: [{{files: [targets/*.json], refresh_interval: 5m}}]
  - job_name: api
    http_sd_configs: [{{url: "{url}", refresh_interval: 1s}}]
""")

watch = Watch(sdscope, "--events", "--update-interval", "200ms", "prometheus.yml")
seen = 0
def read_lines(n):
    """The next n event lines, without their time (checked apart)."""
    global seen
    wait_for(f"{n} event lines (have: {watch.stdout[seen:]!r})", lambda: len(watch.events()) >= seen + n)
    got = watch.events()[seen:]
    if len(got) > n:
        sys.exit(f"FAIL: unexpected lines: {got[n:]}")
    seen += n
    for event in got:
        assert time.strptime(event.pop("time"), "%Y-%m-%dT%H:%M:%S.%fZ")
    return got

def file_target(address, event="added", **labels):
    target = {"env": "prod", "instance": address, "job": "files", **labels}
    discovered = {"__address__": address, "__meta_filepath": "targets/a.json",  # as the config names it
                  "__metrics_path__": "/metrics",
                  "__scheme__": "http", "__scrape_interval__": "1m", "__scrape_timeout__": "10s",
                  "env": target["env"], "job": "files"}
    return {"job": "files", "event": event, "target": target, "discoveredLabels": discovered}

def api_target(address, team, event="added"):
    return {"job": "api", "event": event, "target": {"instance": address, "job": "api", "team": team},
            "discoveredLabels": {"__address__": address, "__meta_url": url, "__metrics_path__": "/metrics",
                                 "__scheme__": "http", "__scrape_interval__": "1m", "__scrape_timeout__": "10s",
                                 "job": "api", "team": team}}

def expect(got, want):
    key = lambda e: json.dumps(e, sort_keys=True)
    if sorted(got, key=key) != sorted(want, key=key):
        sys.exit("FAIL: got\n" + "\n".join(map(key, got)) + "\nwant\n" + "\n".join(map(key, want)))

started = time.time()
# The first results: every target is added (both providers may come in one
# update or two; the order within a job is the discovery order).
expect(read_lines(3), [file_target("127.0.0.1:9100"), file_target("127.0.0.2:9100"),
                       api_target("127.0.1.1:8080", "a")])
if time.time() - started < 0.15:
    sys.exit("FAIL: the first update came before the first tick of the update interval")

# file_sd: one target goes, one changes a label, one comes.
write(file_a, [{"targets": ["127.0.0.1:9100"], "labels": {"env": "prod"}},
               {"targets": ["127.0.0.3:9100"], "labels": {"env": "prod"}}])
expect(read_lines(2), [file_target("127.0.0.3:9100"), file_target("127.0.0.2:9100", "removed")])
write(file_a, [{"targets": ["127.0.0.1:9100", "127.0.0.3:9100"], "labels": {"env": "staging"}}])
changed = read_lines(2)
want = [file_target("127.0.0.1:9100", "changed", env="staging"), file_target("127.0.0.3:9100", "changed", env="staging")]
for w in want:
    w["previous"] = {"env": "prod", "instance": w["target"]["instance"], "job": "files"}
expect(changed, want)
if [e["target"]["instance"] for e in changed] != ["127.0.0.1:9100", "127.0.0.3:9100"]:
    sys.exit(f"FAIL: changes not in discovery order: {changed}")

# http_sd: the next refresh (1s) brings a new answer.
write("api.json", [{"targets": ["127.0.1.2:8080"], "labels": {"team": "b"}}])
expect(read_lines(2), [api_target("127.0.1.2:8080", "b"), api_target("127.0.1.1:8080", "a", "removed")])

# Nothing else happens: no line while idle.
time.sleep(0.6)
if len(watch.events()) != seen:
    sys.exit("FAIL: output without a change")
watch.stop(signal.SIGTERM)
if watch.stderr:
    sys.exit(f"FAIL: stderr: {watch.stderr}")
PY
finish
