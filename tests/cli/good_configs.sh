#!/usr/bin/env bash
# Every config under testdata/config/good is valid, and the example config
# passes the full check.
. "$(dirname "$0")/lib.sh"
for f in "$ROOT"/testdata/config/good/*.yml; do
  run check --syntax-only "$f"
  [ "$STATUS" -eq 0 ] || fail "$f: want valid"
done
run check "$ROOT/testdata/example/prometheus.yml"
expect_status 0
finish
