#!/usr/bin/env bash
# sdscope watch's full-screen view in a real terminal: a detached tmux
# session of fixed size runs it against a file_sd whose file is rewritten
# step by step and an http_sd served by python3 on a loopback port (plus
# one that fails); the screen, read with capture-pane, must show the counts
# and the events. Then keys: Enter opens a job, d shows dropped targets, /
# filters, q quits and the terminal must be back as it was.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || { echo "SKIP: tmux missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
"$SDSCOPE" watch --help 2>&1 | grep -q -- --update-interval || { echo "SKIP: sdscope watch is not built yet"; exit 77; }

# Our own tmux server (its socket in the scratch directory), never the user's.
tmux_() { tmux -S "$SCRATCH/tmux.sock" -f /dev/null "$@"; }
cleanup() {
  tmux_ kill-server 2>/dev/null
  if [ -n "${HTTP_PID:-}" ]; then
    kill "$HTTP_PID" 2>/dev/null
    wait "$HTTP_PID" 2>/dev/null
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

screen() { tmux_ capture-pane -p -t watch; }
# Fails showing the screen (as stdout) and sdscope's stderr.
fail_screen() {
  screen > out.txt
  fail "$@"
}
# wait_screen TEXT, wait_gone TEXT: until the screen shows TEXT (a fixed
# string), until it no longer does; the scenario stops if that never comes,
# as what follows builds on it.
wait_until() {
  local want=$1 text=$2 deadline=$((SECONDS + 10)) shown
  while true; do
    if screen | grep -qF -- "$text"; then shown=yes; else shown=no; fi
    [ "$shown" = "$want" ] && return
    if [ $SECONDS -ge $deadline ]; then
      fail_screen "the screen $([ "$want" = yes ] && echo never showed || echo still shows): $text"
      finish
    fi
    sleep 0.1
  done
}
wait_screen() { wait_until yes "$1"; }
wait_gone() { wait_until no "$1"; }
# The row of a job in the overview, spaces squeezed: "node 3 1 +1 -0 ...".
row() { screen | grep -E "^[> ] $1 " | tr -s ' ' | sed -E 's/^>? ?//'; }
# expect_row JOB REGEX: the row starts with what REGEX matches.
expect_row() {
  local got
  got=$(row "$1")
  [[ "$got" =~ ^$2 ]] || fail_screen "row $1: want '$2...', got '$got'"
}
# Replaces a file in one step, as config management does.
put() { printf '%s\n' "$2" > "$1.tmp" && mv "$1.tmp" "$1"; }

: > out.txt
: > err.txt
mkdir -p targets http
put targets/node.json '[{"targets": ["127.0.0.1:9100", "127.0.0.2:9100", "127.0.0.3:9100"], "labels": {"env": "prod"}}]'
put http/api.json '[{"targets": ["127.0.1.1:8080"], "labels": {"team": "a"}}]'
python3 -u -m http.server --bind 127.0.0.1 --directory http 0 > http.log 2>&1 &
HTTP_PID=$!
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' http.log | head -1)
  [ -n "$PORT" ] && break
  sleep 0.05
done
[ -n "$PORT" ] || { echo "FAIL: the http fixture did not start"; cat http.log; exit 1; }

cat > prometheus.yml <<YAML
scrape_configs:
  - job_name: node
    file_sd_configs: [{files: [targets/*.json], refresh_interval: 5m}]
    relabel_configs:
      - source_labels: [__address__]
        regex: 127\.0\.0\.3:.*
        action: drop
  - job_name: api
    http_sd_configs: [{url: "http://127.0.0.1:$PORT/api.json", refresh_interval: 1s}]
  - job_name: broken
    http_sd_configs: [{url: "http://127.0.0.1:1/sd", refresh_interval: 1s}]
YAML

# A shell in a 120x32 terminal, so that the restored screen can be checked.
tmux_ new-session -d -s watch -x 120 -y 32 "env -i PATH=$PATH HOME=$SCRATCH TERM=xterm-256color PS1='$ ' bash --norc --noprofile"
tmux_ send-keys -t watch "cd $SCRATCH && stty -a | grep -o -- '-*icanon' && echo BEFORE-WATCH" Enter
wait_screen BEFORE-WATCH
tmux_ send-keys -t watch "$SDSCOPE watch --update-interval 200ms prometheus.yml 2>err.txt; echo WATCH-EXIT=\$?" Enter

# The first full result: one row per job with its counts and provider state.
wait_screen "sdscope watch  3 jobs"
wait_screen "failing: http/"
expect_row node "node 2 1 "
expect_row api "api 1 0 "
expect_row broken "broken 0 0 "
row node | grep -q " ok$" || fail_screen "node's provider is not ok: $(row node)"
[ "$(tmux_ display -p -t watch '#{alternate_on}')" = 1 ] || fail "not on the alternate screen"

# A target added and a label changed in one rewrite: one update.
put targets/node.json '[{"targets": ["127.0.0.1:9100", "127.0.0.3:9100", "127.0.0.5:9100"], "labels": {"env": "prod"}},
                        {"targets": ["127.0.0.2:9100"], "labels": {"env": "staging"}}]'
wait_screen '~ node    127.0.0.2:9100  env: "prod" → "staging"'
wait_screen '+ node    127.0.0.5:9100  env="prod"'
# (The first targets count as added in the last minute too.)
expect_row node 'node 3 1 \+1 -0 \+3 -0 '

# A target removed, and another job's targets changed by its http_sd.
put targets/node.json '[{"targets": ["127.0.0.1:9100", "127.0.0.3:9100", "127.0.0.5:9100"], "labels": {"env": "prod"}}]'
put http/api.json '[{"targets": ["127.0.1.1:8080", "127.0.1.2:8080"], "labels": {"team": "a"}}]'
wait_screen '- node    127.0.0.2:9100  env="staging"'
wait_screen '+ api     127.0.1.2:8080  team="a"'
# The two jobs' changes may come in separate updates: the column of the last
# update is not checked here.
expect_row node 'node 2 1 \+[0-9]+ -[0-9]+ \+3 -1 '
expect_row api 'api 2 0 \+[0-9]+ -[0-9]+ \+2 -0 '

# Newest first: the removal is above the addition that came before it.
events=$(screen | sed -n '/events, newest first/,$p')
[ "$(echo "$events" | grep -nF '127.0.0.2:9100  env="staging"' | head -1 | cut -d: -f1)" -lt \
  "$(echo "$events" | grep -nF '127.0.0.5:9100' | head -1 | cut -d: -f1)" ] || fail_screen "events are not newest first"

# Enter opens the selected job (the first): its targets and its events.
tmux_ send-keys -t watch Enter
wait_screen "sdscope watch › node  2 active  1 dropped"
wait_screen "providers: file/0 ok"
screen | grep -qE '^> 127\.0\.0\.1:9100 +env="prod" job="node"' || fail_screen "node's first target is not listed"
screen | grep -qE '^  127\.0\.0\.5:9100 +env="prod" job="node"' || fail_screen "node's new target is not listed"
screen | grep -qF "127.0.0.3:9100" && fail_screen "a dropped target is listed before d"
# d shows the dropped target with its discovered labels.
tmux_ send-keys -t watch d
wait_screen "dropped shown"
screen | grep -qE '^  127\.0\.0\.3:9100 +dropped  __meta_filepath=' || fail_screen "the dropped target is not listed"
tmux_ send-keys -t watch d
wait_gone "dropped shown"
# / filters by a label matcher; Enter applies it.
tmux_ send-keys -t watch /
tmux_ send-keys -t watch -l 'instance=~"127\\.0\\.0\\.5:.*"'
tmux_ send-keys -t watch Enter
wait_screen 'filter: instance=~"127\\.0\\.0\\.5:.*"'
wait_gone "127.0.0.1:9100"
screen | grep -qE '^> 127\.0\.0\.5:9100' || fail_screen "the filter hid the matching target"
# A bad matcher is reported and changes nothing.
tmux_ send-keys -t watch / C-u
tmux_ send-keys -t watch -l 'env=~"("'
tmux_ send-keys -t watch Enter
wait_screen "bad filter: col 6: error parsing regexp: missing closing )"
tmux_ send-keys -t watch Escape
wait_gone "bad filter"
# Back to the overview: the matching column counts what the filter keeps.
tmux_ send-keys -t watch Escape
wait_screen "MATCHING"
expect_row node "node 2 1 1 "

# q quits: the shell's screen is back, in cooked mode.
tmux_ send-keys -t watch q
wait_screen "WATCH-EXIT=0"
[ "$(tmux_ display -p -t watch '#{alternate_on}')" = 0 ] || fail "still on the alternate screen"
[ "$(tmux_ display -p -t watch '#{cursor_flag}')" = 1 ] || fail "the cursor is still hidden"
screen | grep -qF BEFORE-WATCH || fail_screen "the shell's screen was not restored"
tmux_ send-keys -t watch "stty -a | grep -o -- '-*icanon' | sed 's/^/AFTER:/'" Enter
wait_screen "AFTER:icanon"

# Ctrl-C quits too, restoring the terminal.
tmux_ send-keys -t watch "clear; $SDSCOPE watch prometheus.yml 2>err.txt; echo SECOND-EXIT=\$?" Enter
wait_screen "sdscope watch  3 jobs"
tmux_ send-keys -t watch C-c
wait_screen "SECOND-EXIT=0"
[ "$(tmux_ display -p -t watch '#{alternate_on}')" = 0 ] || fail "still on the alternate screen after Ctrl-C"
finish
