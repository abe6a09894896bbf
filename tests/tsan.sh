#!/bin/sh
# The concurrency tests under ThreadSanitizer: configures a TSan build of
# this source in DIR (-DENABLE_TSAN=ON: tests/ then defines only the
# manager, watch and fault-injection unit cases and the watch CLI
# scenarios), builds sdscope and those, and runs them. Any data race fails
# the run (halt_on_error). A compiler launcher (ccache) set in the
# environment as CMAKE_CXX_COMPILER_LAUNCHER is used.
# Usage: tests/tsan.sh DIR
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
cmake -S "$src" -B "$dir" -DENABLE_TSAN=ON -DSDSCOPE_WERROR=ON > "$dir.configure.log" 2>&1 ||
  { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j2 --target sdscope concurrency_tests > "$dir.build.log" 2>&1 ||
  { tail -n 60 "$dir.build.log"; exit 1; }
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
ctest --test-dir "$dir" -j2 --output-on-failure
