#!/usr/bin/env bash
# sdscope watch reloads its config when the file changes (and on SIGHUP):
# a provider whose config did not change keeps running (the fixture sees no
# new request from it), a changed one is restarted, an invalid config is
# reported and the old one keeps running.
. "$(dirname "$0")/lib.sh"
start_watch_fixture

"$PYTHON" - "$SDSCOPE" "$SCRATCH" "$HERE" <<'PY' || FAILURES=1
import json, os, signal, sys, time

sdscope, scratch = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from watch_lib import Watch, fixture_port, wait_for
os.chdir(scratch)

def requests(name):
    if not os.path.exists("requests.log"):
        return []
    return [line.split("\t")[1].strip() for line in open("requests.log") if line.startswith(name + "\t")]

port = fixture_port()
for name, address in [("keep", "127.0.2.1:80"), ("change", "127.0.2.2:80")]:
    with open(name + ".json", "w") as f:
        json.dump([{"targets": [address]}], f)

def config(version, extra=""):
    text = f"""scrape_configs:
  - job_name: keep
    http_sd_configs: [{{url: "http://127.0.0.1:{port}/sd/keep", refresh_interval: 1h}}]
  - job_name: change
    http_sd_configs: [{{url: "http://127.0.0.1:{port}/sd/change?v={version}", refresh_interval: 1h}}]
{extra}"""
    with open("prometheus.yml.tmp", "w") as f:  # replaced as an editor would
        f.write(text)
    os.rename("prometheus.yml.tmp", "prometheus.yml")

config(1)
watch = Watch(sdscope, "--events", "--update-interval", "200ms", "prometheus.yml")
def events(kind):
    return [e for e in watch.events() if e["event"] == kind]

wait_for("the first targets", lambda: len(events("added")) == 2)
if requests("keep") != [""] or requests("change") != ["v=1"]:
    sys.exit(f"FAIL: requests before the reload: {open('requests.log').read()}")

# The change job's URL changes, a job is added; keep's provider stays.
config(2, "  - job_name: extra\n    static_configs: [{targets: ['127.0.2.3:80']}]\n")
wait_for("the reload", lambda: len(events("reload")) == 1)
message = events("reload")[0]["message"]
if message != 'config reloaded: 1 provider kept, started http/2, static/3, stopped http/1; job "extra" added':
    sys.exit(f"FAIL: reload message: {message}")
wait_for("the changed provider's request", lambda: requests("change") == ["v=1", "v=2"])
wait_for("the extra job's target", lambda: len(events("added")) == 3)
time.sleep(0.5)  # time for a wrongly restarted provider to ask again
if requests("keep") != [""]:
    sys.exit(f"FAIL: the unchanged provider was restarted: {requests('keep')}")
# Same targets from the restarted provider: no change, and keep's stay.
if events("removed") or events("changed"):
    sys.exit(f"FAIL: unexpected events: {watch.stdout}")

# An invalid config: reported, the old one keeps running.
with open("prometheus.yml", "w") as f:
    f.write("scrape_configs:\n  - job_name: keep\n    scrape_interval: soon\n")
wait_for("the failed reload", lambda: len(events("reload_failed")) == 1)
failed = events("reload_failed")[0]["error"]
if not failed.startswith("prometheus.yml:3:22: ") or "soon" not in failed:
    sys.exit(f"FAIL: reload_failed error: {failed}")
wait_for("the error on stderr", lambda: "config reload failed, the old config keeps running" in watch.stderr)
if events("removed"):
    sys.exit(f"FAIL: targets removed after a failed reload: {watch.stdout}")

# SIGHUP reloads even when the file did not change; with the first config
# back, keep's provider is still the same one.
config(1)
wait_for("the second reload", lambda: len(events("reload")) == 2)
watch.process.send_signal(signal.SIGHUP)
wait_for("the reload on SIGHUP", lambda: len(events("reload")) == 3)
if events("reload")[2]["message"] != "config reloaded: 2 providers kept":
    sys.exit(f"FAIL: SIGHUP reload: {events('reload')[2]}")
wait_for("the extra job's removal", lambda: len(events("removed")) == 1)
if requests("keep") != [""]:
    sys.exit(f"FAIL: keep was asked again: {requests('keep')}")
watch.stop(signal.SIGINT)
PY
finish
