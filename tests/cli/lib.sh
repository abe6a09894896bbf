# Helpers for the CLI scenarios: each scenario sources this file, gets the
# sdscope binary as $1 and a scratch directory, and calls expect_* helpers.
set -u
SDSCOPE=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd) # tests/cli
ROOT=$(cd "$HERE/../.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH" || exit 1
FAILURES=0
# Debian's python3 for fixtures: a python3 earlier in PATH may be a
# version-manager shim that takes seconds to start on a loaded machine.
PYTHON=$(command -v /usr/bin/python3 python3 | head -n 1)

# run ARGS...: runs sdscope, capturing stdout, stderr and the exit status.
run() {
  "$SDSCOPE" "$@" >out.txt 2>err.txt
  STATUS=$?
}

fail() {
  echo "FAIL: $*"
  echo "--- stdout"; cat out.txt
  echo "--- stderr"; cat err.txt
  FAILURES=$((FAILURES + 1))
}

expect_status() { [ "$STATUS" -eq "$1" ] || fail "want exit $1, got $STATUS"; }
expect_out() { grep -qF -- "$1" out.txt || fail "stdout lacks: $1"; }
expect_err() { grep -qF -- "$1" err.txt || fail "stderr lacks: $1"; }
expect_no() { ! grep -qF -- "$1" out.txt err.txt || fail "output contains: $1"; }

# start_watch_fixture: serves $SCRATCH with watch_fixture.py (the loopback
# http_sd fixture; it writes its port to port.txt) until the scenario exits;
# skips the scenario when python3 is missing.
start_watch_fixture() {
  [ -n "$PYTHON" ] || { echo "SKIP: python3 missing"; exit 77; }
  "$PYTHON" "$HERE/watch_fixture.py" "$SCRATCH" &
  WATCH_FIXTURE=$!
  trap 'kill $WATCH_FIXTURE 2>/dev/null; rm -rf "$SCRATCH"' EXIT
}

finish() {
  [ "$FAILURES" -eq 0 ] && echo "ok"
  exit $((FAILURES > 0))
}
