#!/usr/bin/env bash
# `sdscope targets` in every output format on a fixed scenario (static and
# file_sd targets, https default ports, params, a dropped, a failed and a
# merged duplicate target, a job without discovery) against golden files.
# UPDATE_GOLDEN=1 rewrites them.
. "$(dirname "$0")/lib.sh"
golden=$ROOT/testdata/golden/targets
cp -r "$golden" scenario
for format in table json yaml groups; do
  (cd scenario && "$SDSCOPE" targets prometheus.yml -o $format --dropped --color never >../out.txt 2>../err.txt)
  STATUS=$?
  expect_status 0
  expect_err 'job "files": instance 0 in group targets/a.json:1: no address'
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    cp out.txt "$golden/expected.$format"
  fi
  diff -u "$golden/expected.$format" out.txt || fail "-o $format differs from testdata/golden/targets/expected.$format"
done
(cd scenario && "$SDSCOPE" targets prometheus.yml -o file_sd --job files >../out.txt 2>../err.txt)
STATUS=$?
expect_status 0
[ "${UPDATE_GOLDEN:-}" = 1 ] && cp out.txt "$golden/expected.file_sd"
diff -u "$golden/expected.file_sd" out.txt || fail "-o file_sd differs from testdata/golden/targets/expected.file_sd"

# The frozen file_sd output, served back through file_sd, gives the same targets.
mkdir -p frozen && cp out.txt frozen/all.json
cat > frozen/prometheus.yml <<'YAML'
scrape_configs:
  - job_name: files
    file_sd_configs: [{files: ["*.json"]}]
    relabel_configs:
      - source_labels: [broken]
        regex: "yes"
        target_label: __address__
        replacement: ""
YAML
(cd frozen && "$SDSCOPE" targets prometheus.yml -o json >../frozen.json 2>/dev/null)
(cd scenario && "$SDSCOPE" targets prometheus.yml -o json --job files >../original.json 2>/dev/null)
labels() { jq -c '[.activeTargets[].labels | del(.from)] | sort' "$1"; }
[ "$(labels frozen.json)" = "$(labels original.json)" ] || fail "frozen file_sd targets differ: $(labels frozen.json) vs $(labels original.json)"

run targets "$golden/prometheus.yml" --job nope
expect_status 2
expect_err 'no job "nope"'
run targets "$golden/prometheus.yml" -o file_sd
expect_status 2
finish
