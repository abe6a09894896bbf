#!/usr/bin/env bash
# sdscope watch --events through an http_sd fault (watch_fixture.py): the
# failure is one stderr line naming the provider and job, the targets stay
# (no "removed" event), and when the fault clears the new answer comes in
# and stderr says the provider works again.
. "$(dirname "$0")/lib.sh"
start_watch_fixture

"$PYTHON" - "$SDSCOPE" "$SCRATCH" "$HERE" <<'PY' || FAILURES=1
import json, os, signal, sys

sdscope, scratch = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from watch_lib import Watch, fixture_port, wait_for
os.chdir(scratch)

def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)

port = fixture_port()
write("api.json", json.dumps([{"targets": ["127.0.1.1:8080"]}]))
write("prometheus.yml", f"""scrape_configs:
  - job_name: api
    http_sd_configs: [{{url: "http://127.0.0.1:{port}/sd/api", refresh_interval: 1s}}]
""")
watch = Watch(sdscope, "--events", "--update-interval", "100ms", "prometheus.yml")
def events():
    return [(e["event"], e["target"]["instance"]) for e in watch.events()]
wait_for("the first target", lambda: events() == [("added", "127.0.1.1:8080")])

write("api.status", "503\n")
failed = 'sdscope: http/0 (job "api") failed: server returned HTTP status 503 Service Unavailable\n'
wait_for("the failure on stderr", lambda: watch.events() is not None and failed in watch.stderr)
if events() != [("added", "127.0.1.1:8080")]:
    sys.exit(f"FAIL: the targets changed during the fault: {events()}")

write("api.json", json.dumps([{"targets": ["127.0.1.2:8080"]}]))
os.remove("api.status")
wait_for("the recovery", lambda: sorted(events()[1:]) == [("added", "127.0.1.2:8080"), ("removed", "127.0.1.1:8080")])
wait_for("works again", lambda: watch.events() is not None and 'sdscope: http/0 (job "api") works again\n' in watch.stderr)
watch.stop(signal.SIGTERM)
if watch.stderr.count("failed:") != 1:
    sys.exit(f"FAIL: the failure was not reported once: {watch.stderr!r}")
PY
finish
