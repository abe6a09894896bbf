#!/usr/bin/env bash
# `check` checks each job as it is parsed and keeps only its name, unless
# --print needs the whole config. Both ways must report exactly the same
# diagnostics, in the same order, for every config we have.
. "$(dirname "$0")/lib.sh"

# same ARGS... FILES...: the diagnostics of check, early and whole, are equal.
same() {
  "$SDSCOPE" check --format json "$@" >early.json 2>&1
  "$SDSCOPE" check --format json --print "$@" 2>whole.json >/dev/null
  diff early.json whole.json >/dev/null || fail "diagnostics differ with --print: $(diff early.json whole.json)"
}

# One config where early checking surely happens (global first) and finds
# things at every level: a bad static target, a lint, a missing file, an
# error only whole-file validation sees (duplicate job name).
cat > mixed.yml <<'YAML'
global: {scrape_interval: 20s}
scrape_configs:
  - job_name: a
    static_configs: [{targets: ["h:1", "h:1"]}]
    relabel_configs: [{target_label: __address__, replacement: "x/y"}]
  - job_name: b
    tls_config: {ca_file: missing-ca.pem}
    static_configs: [{targets: ["h:2"]}]
  - job_name: c
    relabel_configs: [{action: drop, regex: ".*"}]
    static_configs: [{targets: ["h:3"]}]
  - job_name: a
    static_configs: [{targets: ["h:4"]}]
YAML
head -n -2 mixed.yml > mixed-unique.yml

for features in "" "--enable-feature=no-default-scrape-port"; do
  same $features mixed.yml mixed-unique.yml
  same $features --syntax-only mixed.yml mixed-unique.yml
done
# Early checking needs the global section first; give it to every valid
# config of the corpus that has none (in a copy, so relative paths still
# resolve). Invalid ones never get to the checks that run early.
cp -r "$ROOT/testdata" corpus
for f in corpus/differential/*.good.yml corpus/differential/*.newer.yml corpus/config/good/*.yml; do
  grep -q '^global:' "$f" && continue
  { echo 'global: {scrape_timeout: 10s}'; cat "$f"; } > variant.yml
  mv variant.yml "$f"
done
same corpus/differential/*.good.yml corpus/differential/*.newer.yml corpus/config/good/*.yml
grep -c '"valid": true' early.json > valid.txt
[ "$(cat valid.txt)" -gt 200 ] || fail "only $(cat valid.txt) corpus configs were valid"
run check mixed-unique.yml
expect_status 1
expect_out 'is not a valid hostname'
expect_out 'missing-ca.pem'
expect_out 'drops every target of job "c"'
finish
