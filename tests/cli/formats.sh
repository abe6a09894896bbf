#!/usr/bin/env bash
# --format json and github, and --color.
. "$(dirname "$0")/lib.sh"

printf 'global:\n  scrape_timeout: 2m\nscrape_configs:\n  - job_name: a, b\n' > bad.yml
run check --format json bad.yml
expect_status 1
expect_out '"file": "bad.yml"'
expect_out '"line": 2'
expect_out '"column": 3'
expect_out '"severity": "error"'
expect_out '"message": "global scrape timeout greater than scrape interval"'
expect_out '"valid": false'

run check --format github bad.yml
expect_status 1
expect_out '::error file=bad.yml,line=2,col=3::global scrape timeout greater than scrape interval'

run check --color always bad.yml
expect_out $'\033[1;31merror: '
NO_COLOR=1 run check --color auto bad.yml
expect_no $'\033['
finish
