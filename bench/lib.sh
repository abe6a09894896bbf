# Shared helpers of the bench/ case scripts (sourced, not run).
#
# A case script prints its own human-readable report; when BENCH_RESULTS
# names a file (bench/run sets it) it also appends one tab-separated line per
# measured metric to it:
#   case, metric, sdscope value, peer (name and value), ratio, goal, status, load
# where status is met, MISSED or "-" (no goal) and load is the 1-minute load
# average when the measurement ended.

# load1: the 1-minute load average.
load1() { cut -d' ' -f1 /proc/loadavg; }

# measure OUT ERR CMD...: runs CMD $runs times with stdout to OUT and stderr
# to ERR; prints "cpu wall rss", each the best over the runs (CPU and wall
# in seconds, user+sys for CPU, peak RSS in KiB); warns when a run fails.
measure() {
  local out=$1 err=$2 best_cpu="" best_wall="" best_rss="" rc cpu wall user sys rss
  shift 2
  for _ in $(seq "$runs"); do
    rc=0
    /usr/bin/time -f "%e %U %S %M" -o "$out.time" "$@" > "$out" 2> "$err" || rc=$?
    if [ $rc -ne 0 ]; then
      echo "warning: '$*' exited with $rc: $(head -c 300 "$err")" >&2
    fi
    read -r wall user sys rss < <(tail -n 1 "$out.time")
    cpu=$(awk "BEGIN{print $user + $sys}")
    if [ -z "$best_cpu" ] || awk "BEGIN{exit !($cpu < $best_cpu)}"; then best_cpu=$cpu; fi
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; fi
    if [ -z "$best_rss" ] || [ "$rss" -lt "$best_rss" ]; then best_rss=$rss; fi
  done
  rm -f "$out.time"
  echo "$best_cpu $best_wall $best_rss"
}

# mb KIB: KiB as MB with one decimal.
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ratio A B: A/B with three decimals ("-" when B is 0 or empty).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else printf "-" }'; }

# status VALUE MAX: met when VALUE <= MAX, MISSED otherwise, "-" without MAX.
status() {
  if [ -z "$2" ] || [ "$1" = - ]; then echo -; return; fi
  awk -v v="$1" -v m="$2" 'BEGIN { print (v + 0 <= m + 0 ? "met" : "MISSED") }'
}

# result CASE METRIC SDSCOPE PEER RATIO GOAL STATUS: records one metric for
# bench/run (GOAL "-" and STATUS "-" when the metric has none; STATUS from
# `status`).
result() {
  [ -n "${BENCH_RESULTS:-}" ] || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$(load1)" >> "$BENCH_RESULTS"
}

# prometheus_time_to_show CONFIG JOB EXPECTED PORT WORKDIR: starts the
# Prometheus server (PROMETHEUS, default /usr/bin/prometheus) on CONFIG,
# listening on 127.0.0.1:PORT, and prints "seconds rss_kib": the time from
# its start until its scrape pool of JOB holds EXPECTED active targets (the
# list /api/v1/targets shows), and its peak RSS at that moment. Polls the
# gauge prometheus_target_scrape_pool_targets every 0.1 s, then checks once
# that /api/v1/targets lists them all (not timed, and given up after 60 s:
# with tens of thousands of failing scrapes under way the answer can take
# that long, and fetching the whole list on every poll would load the
# server more than the wait itself). Prints
# "- -" when it does not get there within PROM_DEADLINE seconds (default
# 120). Must run in a loopback-only network namespace: Prometheus scrapes
# what it finds.
prometheus_time_to_show() {
  local config=$1 job=$2 expected=$3 port=$4 dir=$5 prom=${PROMETHEUS:-/usr/bin/prometheus}
  local start pid n shown="" rss=-
  rm -rf "$dir/prom-data"
  start=$(date +%s.%N)
  "$prom" --config.file="$config" --storage.tsdb.path="$dir/prom-data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn > "$dir/prometheus.log" 2>&1 &
  pid=$!
  local polls=$(( ${PROM_DEADLINE:-120} * 10 ))
  for _ in $(seq "$polls"); do
    n=$(curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null |
        awk -v j="$job" '$1 == "prometheus_target_scrape_pool_targets{scrape_job=\"" j "\"}" {print $2}')
    if [ -n "$n" ] && [ "${n%%.*}" -ge "$expected" ]; then
      shown=$(date +%s.%N)
      rss=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
      break
    fi
    sleep 0.1
  done
  if [ -n "$shown" ]; then
    n=$(curl -s --max-time 60 "http://127.0.0.1:$port/api/v1/targets?state=active" | grep -o '"scrapeUrl"' | wc -l)
    if [ "$n" -eq 0 ]; then
      echo "note: /api/v1/targets did not answer within 60 s; the gauge's count stands" >&2
    elif [ "$n" -lt "$expected" ]; then
      echo "warning: Prometheus's gauge counted $expected targets of $job but /api/v1/targets lists $n" >&2
      shown=""
    fi
  else
    echo "warning: Prometheus did not show $expected active targets of $job within ${PROM_DEADLINE:-120} s" >&2
  fi
  # Its graceful shutdown of thousands of scrape loops takes minutes.
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -z "$shown" ]; then
    tail -n 5 "$dir/prometheus.log" >&2
    echo "- -"
    return
  fi
  echo "$(awk -v s="$start" -v e="$shown" 'BEGIN { printf "%.2f", e - s }') $rss"
}

# sdscope_binary HERE: $SDSCOPE, else the Release build (build-release/),
# else build/.
sdscope_binary() {
  if [ -n "${SDSCOPE:-}" ]; then echo "$SDSCOPE"
  elif [ -x "$1/../build-release/sdscope" ]; then realpath "$1/../build-release/sdscope"
  else realpath -m "$1/../build/sdscope"; fi
}
