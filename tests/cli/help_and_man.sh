#!/usr/bin/env bash
# Every option in --help is documented in the man page, and --version works.
. "$(dirname "$0")/lib.sh"
man_page=$ROOT/man/sdscope.1
for cmd in "" check targets watch explain mechanisms; do
  # shellcheck disable=SC2086
  run $cmd --help
  expect_status 0
  for opt in $(grep -o -- '--[a-z][a-z-]*' out.txt | sort -u); do
    [ "$opt" = --help ] && continue
    grep -qF -- "${opt//-/\\-}" "$man_page" || fail "$cmd $opt is not in man/sdscope.1"
  done
done
run --version
expect_status 0
expect_out "Prometheus v2.45"
finish
