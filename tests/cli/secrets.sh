#!/usr/bin/env bash
# No secret leaks: secrets.yml sets every secret field sdscope reads (each
# value is greppable); every command and output format, the errors of
# providers that fail, the diagnostics of a broken variant (whose quoted
# source lines contain secrets) and --print must show none of them.
# Discovery runs in a network namespace with only loopback up: every
# provider fails (closed ports, no route), and nothing leaves the machine.
if [ "${SECRETS_INSIDE_NETNS:-}" != 1 ]; then
  unshare -n true 2>/dev/null || { echo "skipped: needs unshare -n (root)"; exit 77; }
  SECRETS_INSIDE_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up 2>/dev/null
. "$(dirname "$0")/lib.sh"

cp "$HERE/secrets.yml" c.yml
mapfile -t secrets < <(grep -oE 'S3CRET-[a-z0-9-]+|5ec2e700-[0-9a-f-]+' c.yml | sort -u)
[ "${#secrets[@]}" -ge 20 ] || { echo "FAIL: only ${#secrets[@]} secrets in secrets.yml"; exit 1; }

# scan WHAT: fails if any secret is in the last command's output.
scan() {
  for secret in "${secrets[@]}"; do
    grep -qF -- "$secret" out.txt err.txt && fail "$1 shows $secret"
  done
  return 0
}
# run_clean WHAT ARGS...: runs sdscope ARGS and scans its output.
run_clean() {
  local what=$1
  shift
  run "$@"
  scan "$what"
}

for format in text json github; do
  run_clean "check --format $format" check --format "$format" c.yml
  expect_status 0
done
run_clean "check --print" check --print c.yml
expect_status 0
expect_out "password: <secret>"
expect_out "proxy_url: http://u:xxxxx@127.0.0.1:9"

# Errors on lines that hold secrets: the quoted lines hide them, the caret
# still points at the right place.
sed -e 's/password: S3CRET-basic-password}/password: S3CRET-basic-password, bogus: 1}/' \
    -e 's/secret_key: 5ec2e700-0000-4000-8000-00000000beef/secret_key: S3CRET-not-a-uuid/' c.yml > broken.yml
secrets+=(S3CRET-not-a-uuid)
for format in text json github; do
  run_clean "check --format $format (broken)" check --format "$format" broken.yml
  expect_status 1
done
run_clean "check (broken)" check broken.yml
expect_out "field bogus not found"
expect_out "password: <secret>, bogus: 1}"
caret_line=$(grep -A2 "field bogus not found" out.txt | tail -n 1)
quoted_line=$(grep -A1 "field bogus not found" out.txt | tail -n 1)
[ "${quoted_line:$((${#caret_line} - 1)):5}" = "bogus" ] || fail "caret does not point at bogus"
run_clean "targets (broken)" targets broken.yml
expect_status 2

for format in table json yaml groups; do
  run_clean "targets -o $format" targets c.yml -o "$format" --dropped --timeout 1s
  expect_status 1
  expect_err 'failed'
done
run_clean "targets -o file_sd" targets c.yml -o file_sd --job basic --timeout 1s
expect_status 1
run_clean "explain" explain c.yml --job basic --target 127.0.0.1:9 --timeout 1s
run_clean "explain kubernetes" explain c.yml --job kubernetes --labels __address__=127.0.0.1:9 --timeout 1s
sed 's/job_name: bearer$/job_name: bearer2/' c.yml > new.yml
for format in table json markdown github; do
  run_clean "diff -o $format" diff c.yml new.yml -o "$format" --timeout 1s
done
run_clean "watch" watch c.yml --once-after 2s --update-interval 0s
timeout 3 "$SDSCOPE" watch c.yml --events --update-interval 0s > out.txt 2> err.txt
STATUS=$?
scan "watch --events"
expect_status 124
expect_err 'failed'
finish
