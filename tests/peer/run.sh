#!/usr/bin/env bash
# Prometheus v2.45's own config test files, checked with --syntax-only (their
# good files name credential files that do not exist, as upstream's loader
# tests do): every *.good.yml is valid, every file in EXPECTED_ERRORS.tsv is
# invalid with the listed text in its message, every other *.bad.yml invalid.
set -u
sdscope=$1
dir=$2
[ -d "$dir" ] || { echo "peer testdata not found at $dir"; exit 1; }
cd "$dir" || exit 1
failures=0
total=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for f in *.good.yml; do
  total=$((total + 1))
  out=$("$sdscope" check --syntax-only --color never "$f" 2>&1)
  rc=$?
  [ $rc -eq 0 ] || fail "$f: want valid, got exit $rc: $(echo "$out" | head -3)"
done

declare -A expected
while IFS=$'\t' read -r file text; do
  case "$file" in '#'*|'') continue ;; esac
  expected[$file]=$text
done < EXPECTED_ERRORS.tsv

for f in *.bad.yml; do
  total=$((total + 1))
  out=$("$sdscope" check --syntax-only --color never "$f" 2>&1)
  rc=$?
  if [ $rc -ne 1 ]; then
    fail "$f: want exit 1, got $rc: $(echo "$out" | head -3)"
    continue
  fi
  want=${expected[$f]:-}
  # Prometheus prefixes every load error with "parsing YAML file <path>: ";
  # sdscope gives the location as file:line:col instead.
  want=${want#parsing YAML file testdata/$f: }
  if [ -n "$want" ] && ! grep -qF -- "$want" <<<"$out"; then
    fail "$f: message lacks [$want]: $(grep -m1 ': error: ' <<<"$out")"
  fi
done
echo "peer suite: $total files, $failures failures"
[ $failures -eq 0 ]
