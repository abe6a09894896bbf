#!/usr/bin/env bash
# `sdscope diff`: every kind of change (added, removed, changed, moved and
# newly dropped targets; added, removed and renamed jobs) in every output
# format against golden files; --fail-on; --offline; --old-ref in a
# temporary git repository; one shared provider for an http_sd config that
# both sides have. UPDATE_GOLDEN=1 rewrites the golden files.
. "$(dirname "$0")/lib.sh"
golden=$ROOT/testdata/golden/diff
cp -r "$golden" scenario
for format in table json markdown github; do
  (cd scenario && "$SDSCOPE" diff old.yml new.yml -o $format --color never >../out.txt 2>../err.txt)
  STATUS=$?
  expect_status 0
  [ "${UPDATE_GOLDEN:-}" = 1 ] && cp out.txt "$golden/expected.$format"
  diff -u "$golden/expected.$format" out.txt || fail "-o $format differs from testdata/golden/diff/expected.$format"
done

# The JSON says what each kind of change is.
(cd scenario && "$SDSCOPE" diff old.yml new.yml -o json >../diff.json 2>../err.txt)
job() { jq -c --arg j "$1" ".jobs[] | select(.job == \$j) | $2" diff.json; }
[ "$(job web '.dropped[0].droppedBy')" = '{"rule":1,"action":"drop","file":"new.yml","line":9}' ] ||
  fail "web: staging target not reported as dropped by rule 1 at new.yml:9: $(job web '.dropped')"
[ "$(job web '.changed | length')" = 2 ] || fail "web: want 2 changed targets (team label added)"
[ "$(job api '[.added[].scrapeUrl, .removed[].scrapeUrl]')" = '["http://127.0.0.4:8080/metrics","http://127.0.0.3:8080/metrics"]' ] ||
  fail "api: want 127.0.0.4 added and 127.0.0.3 removed: $(job api '.')"
[ "$(job api '.changed[0].changes')" = '[{"label":"__scrape_interval__","old":"30s","new":"15s"},{"label":"env","old":"prod","new":"production"}]' ] ||
  fail "api: label diff: $(job api '.changed[0].changes')"
[ "$(job batch '[.status, .oldJob]')" = '["renamed","legacy"]' ] || fail "batch is not reported as a rename of legacy"
[ "$(job batch '.changed | length')" = 0 ] || fail "a rename alone changes no target"
[ "$(job db '.removed[0].movedTo')" = '"db-replica"' ] || fail "db: 127.0.3.2 did not move to db-replica"
[ "$(job db-replica '.added[0].movedFrom')" = '"db"' ] || fail "db-replica: 127.0.3.2 did not come from db"
[ "$(job retired '.status')" = '"removed"' ] || fail "retired is not removed"
[ "$(job node '.status')" = '"unchanged"' ] || fail "node changed"

# --fail-on: exit 1 only for the kinds asked for.
(cd scenario && "$SDSCOPE" diff old.yml new.yml --job web --fail-on removed -o json >../out.txt 2>../err.txt)
STATUS=$?
expect_status 0
(cd scenario && "$SDSCOPE" diff old.yml new.yml --job web --fail-on removed,dropped -o json >../out.txt 2>../err.txt)
STATUS=$?
expect_status 1
(cd scenario && "$SDSCOPE" diff old.yml old.yml --fail-on any >../out.txt 2>../err.txt)
STATUS=$?
expect_status 0
expect_out "no job's targets change"
(cd scenario && "$SDSCOPE" diff old.yml new.yml --job node --fail-on any >../out.txt 2>../err.txt)
STATUS=$?
expect_status 0

# Usage and config errors exit 2 with check's messages.
run diff "$golden/old.yml"
expect_status 2
expect_err "needs OLD and NEW"
printf 'scrape_configs:\n  - job_name: a\n    scrape_interval: 1x\n' > bad.yml
run diff bad.yml "$golden/new.yml"
expect_status 2
expect_err "bad.yml:3:22"
run diff "$golden/old.yml" "$golden/new.yml" --job nope
expect_status 2
expect_err 'no job "nope"'

# http_sd: identical in both configs, so one provider serves both sides;
# --offline compares only what needs no network.
cat > server.py <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("requests.log", "a") as f:
            f.write(self.path + "\n")
        body = b'[{"targets": ["127.0.6.1:9100", "127.0.6.2:9100"], "labels": {"zone": "a"}}]'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open("port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
"$PYTHON" server.py & server=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
port=$(cat port)
for side in old new; do
  cat > http_$side.yml <<YAML
scrape_configs:
  - job_name: remote
    http_sd_configs: [{url: "http://127.0.0.1:$port/sd"}]
    relabel_configs:
      - {source_labels: [zone], target_label: region, replacement: "eu-\$1"}
  - job_name: local
    static_configs: [{targets: ["127.0.7.1:80"]}]
YAML
done
sed -i 's/eu-/us-/; s/127.0.7.1/127.0.7.2/' http_new.yml
run diff http_old.yml http_new.yml -o json
expect_status 0
[ "$(wc -l < requests.log)" = 1 ] || fail "the shared http_sd provider asked $(wc -l < requests.log) times, want once"
[ "$(jq -c '.jobs[0].changed | map(.changes)' out.txt)" = '[[{"label":"region","old":"eu-a","new":"us-a"}],[{"label":"region","old":"eu-a","new":"us-a"}]]' ] ||
  fail "http_sd: region change not reported: $(jq -c '.jobs[0]' out.txt)"
rm requests.log
run diff http_old.yml http_new.yml --offline
expect_status 0
expect_out 'job "remote" not compared: --offline, and it uses http_sd'
expect_out '+ http://127.0.7.2:80/metrics'
[ ! -e requests.log ] || fail "--offline asked the http_sd server"
kill $server
# A provider that fails leaves its jobs not compared, and says why.
run diff http_old.yml http_new.yml --timeout 5s
expect_status 0
expect_out 'job "remote" not compared: http/0 failed'
expect_err 'http/0 failed'

# --old-ref: the old config and the files it names come from git.
mkdir repo && cp -r "$golden/targets" repo/ && cp "$golden/old.yml" repo/prometheus.yml
(cd repo && git init -q && git add . && git -c user.name=t -c user.email=t@t commit -qm old) || fail "git setup"
cp "$golden/new.yml" repo/prometheus.yml
echo '[{"targets": ["127.0.5.1:80", "127.0.5.3:80"], "labels": {"env": "prod"}}]' > repo/targets/web.json
(cd repo && "$SDSCOPE" diff --old-ref HEAD prometheus.yml -o json >../ref.json 2>../err.txt)
STATUS=$?
expect_status 0
[ "$(jq -r .old ref.json)" = "HEAD:prometheus.yml" ] || fail "old side not named HEAD:prometheus.yml"
jq -c '.jobs[] | select(.job == "web") | [.removed[].scrapeUrl, .added[].scrapeUrl, (.dropped | length)]' ref.json > web.txt
[ "$(cat web.txt)" = '["http://127.0.5.2:80/metrics",0]' ] ||
  fail "--old-ref: web should lose 127.0.5.2 (gone from the file) and drop nothing new: $(cat web.txt)"
[ "$(jq -r '.jobs[] | select(.job == "batch") | .status' ref.json)" = renamed ] || fail "--old-ref: rename not seen"
(cd repo && "$SDSCOPE" diff --old-ref no-such-ref prometheus.yml >../out.txt 2>../err.txt)
STATUS=$?
expect_status 2
expect_err "--old-ref no-such-ref:"
(cd repo && "$SDSCOPE" diff --old-ref HEAD other.yml prometheus.yml >../out.txt 2>../err.txt)
STATUS=$?
expect_status 2
expect_err "other.yml does not exist at HEAD"
finish
