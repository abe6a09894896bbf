#!/usr/bin/env bash
# Differential test runner for sdscope.
#
# Usage: run.sh SDSCOPE_BINARY CORPUS_DIR
#
# Every *.yml file in CORPUS_DIR starts with header comments:
#   # expect: valid|invalid      what Prometheus v2.45 does with the file
#   # error: <substring>         substring of the v2.45 (first) error message
#   # promtool: skip <reason>    Debian's promtool 2.42 cannot judge it like 2.45
#   # promtool-error: <substr>   2.42 words the error differently: this is the
#                                substring expected in promtool's message
#   # warning: <substring>       sdscope must print a warning containing it (for
#                                keys newer than v2.45, which sdscope accepts
#                                with a lint note by design)
#
# YAML syntax errors come from different scanners (libyaml's port in Go,
# yaml-cpp here): when promtool reports one ("yaml: line N: ..."), sdscope
# must report a syntax error too ("yaml: ..."), not the same words.
#
# For each file the runner
#   1. runs `SDSCOPE check --syntax-only FILE` (exit 0 = valid, 1 = invalid);
#      the first line of the form `FILE:LINE:COL: error: MESSAGE` is the
#      primary error (excerpt and caret lines that follow are ignored);
#   2. checks the verdict against `# expect:` and, when `# error:` is given,
#      that the primary MESSAGE contains it (literal substring);
#   3. unless the file says `# promtool: skip`, and if promtool is on PATH
#      (or $PROMTOOL is set), runs `promtool check config --syntax-only FILE`
#      and requires the same verdict; when both say invalid, the substance of
#      promtool's message (text after `FAILED: `, minus the
#      `parsing YAML file <file>: ` prefix; for `yaml: unmarshal errors:` the
#      first `  line N: ` entry without its `line N: ` prefix) must occur
#      literally in sdscope's primary MESSAGE.  When the file has
#      `# promtool-error:`, 2.42's wording legitimately differs from 2.45's:
#      then promtool's message must contain that substring instead, and
#      sdscope's message is judged by `# error:` only.
#
# Output: one line per failing file, then
#   differential: N files, M compared with promtool, K failures
# Exit status: 0 if K = 0, 1 if K > 0, 2 on usage errors.
#
# Environment: DIFF_JOBS (parallel workers, default: nproc), DIFF_TIMEOUT (seconds
# per command, default 60), PROMTOOL (promtool binary to use).
#
# Only bash, coreutils, grep and sed are used.

set -u

# ---------------------------------------------------------------------------
# helpers

# read_headers FILE: sets H_EXPECT, H_ERROR, H_SKIP (0/1), H_PERR from the
# leading comment block (bash builtins only: this runs once per file).
read_headers() {
    local line
    H_EXPECT="" H_ERROR="" H_SKIP=0 H_PERR="" H_WARN=""
    local have_e=0 have_err=0 have_p=0
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        case $line in
            '#'*) ;;
            *) break ;;
        esac
        case $line in
            '# expect:'*)
                [ $have_e = 0 ] && { H_EXPECT=${line#'# expect:'}; H_EXPECT=${H_EXPECT# }; have_e=1; } ;;
            '# error:'*)
                [ $have_err = 0 ] && { H_ERROR=${line#'# error:'}; H_ERROR=${H_ERROR# }; have_err=1; } ;;
            '# warning:'*)
                H_WARN=${line#'# warning:'}; H_WARN=${H_WARN# } ;;
            '# promtool-error:'*)
                [ $have_p = 0 ] && { H_PERR=${line#'# promtool-error:'}; H_PERR=${H_PERR# }; have_p=1; } ;;
            '# promtool: skip'* | '# promtool:skip'*)
                H_SKIP=1 ;;
        esac
    done <"$1"
}

# run_limited OUTFILE CMD...: run with a timeout, stdout+stderr to OUTFILE
run_limited() {
    local out=$1
    shift
    if [ -n "$HAVE_TIMEOUT" ]; then
        timeout "${DIFF_TIMEOUT:-60}" "$@" >"$out" 2>&1
    else
        "$@" >"$out" 2>&1
    fi
}

# primary_error FILE OUTFILE: sets PRIMARY to the MESSAGE of the first
# `FILE:LINE:COL: error: MESSAGE` line (returns 1 if there is none).
primary_error() {
    local f=$1 out=$2 line
    PRIMARY=""
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ $line =~ ^.+:[0-9]+:[0-9]+:\ error:\  ]] || [[ $line == "$f: error: "* ]]; then
            # the file name never contains ": error: ", so the first one ends the prefix
            PRIMARY=${line#*: error: }
            return 0
        fi
    done <"$out"
    return 1
}

# promtool_message FILE OUTFILE: sets PMSG to the substance of promtool's error
promtool_message() {
    local f=$1 out=$2 line found=0
    PMSG=""
    while IFS= read -r line || [ -n "$line" ]; do
        if [ $found = 0 ]; then
            case $line in
                *'FAILED: '*)
                    PMSG=${line#*FAILED: }
                    PMSG=${PMSG#"parsing YAML file $f: "}
                    [ "$PMSG" = "yaml: unmarshal errors:" ] || return 0
                    found=1 ;;
            esac
        else
            line=${line#"${line%%[![:space:]]*}"}
            if [[ $line =~ ^line\ [0-9]+:\ (.*)$ ]]; then
                PMSG=${BASH_REMATCH[1]}
            else
                PMSG=$line
            fi
            return 0
        fi
    done <"$out"
    [ $found = 1 ]
}

# check_one SDSCOPE FILE RESULTFILE PROMTOOLBIN
# Result file: "<compared 0|1>\t<ok|fail>\t<description>"
check_one() {
    local sd=$1 f=$2 res=$3 pt=$4
    local tmp=$res.out
    local problems=() compared=0

    read_headers "$f"
    local expect=$H_EXPECT want_err=$H_ERROR skip=$H_SKIP perr=$H_PERR want_warn=$H_WARN

    # --- sdscope
    local src sverdict smsg=""
    run_limited "$tmp" "$sd" check --syntax-only "$f"
    src=$?
    cp "$tmp" "$tmp.sd"
    case $src in
        0) sverdict=valid ;;
        1) sverdict=invalid
           if primary_error "$f" "$tmp"; then
               smsg=$PRIMARY
           else
               smsg="<no error line>"
               problems+=("sdscope exit 1 without a 'FILE:LINE:COL: error:' line")
           fi ;;
        124) sverdict="timeout"
             problems+=("sdscope timed out") ;;
        *) sverdict="exit$src"
           IFS= read -r -n 300 smsg <"$tmp"
           problems+=("sdscope exited with status $src") ;;
    esac

    case $expect in
        valid|invalid) ;;
        *) problems+=("bad or missing '# expect:' header") ;;
    esac
    if [ -n "$expect" ] && [ "$sverdict" != "$expect" ] &&
       { [ "$sverdict" = valid ] || [ "$sverdict" = invalid ]; }; then
        problems+=("expected $expect, sdscope says $sverdict")
    fi
    if [ "$sverdict" = invalid ] && [ "$expect" = invalid ] && [ -n "$want_err" ] &&
       [[ $smsg != *"$want_err"* ]]; then
        problems+=("sdscope message lacks '# error: $want_err'")
    fi

    if [ -n "$want_warn" ] && ! grep -qF -- ": warning: " "$tmp.sd" 2>/dev/null; then
        problems+=("sdscope printed no warning")
    elif [ -n "$want_warn" ] && ! grep -F -- ": warning: " "$tmp.sd" | grep -qF -- "$want_warn"; then
        problems+=("sdscope warning lacks '# warning: $want_warn'")
    fi
    rm -f "$tmp.sd"

    # --- promtool
    local pmsg="" pverdict=""
    if [ -n "$pt" ] && [ "$skip" = 0 ]; then
        compared=1
        local prc
        run_limited "$tmp" "$pt" check config --syntax-only "$f"
        prc=$?
        case $prc in
            0) pverdict=valid ;;
            1) pverdict=invalid
               if promtool_message "$f" "$tmp"; then pmsg=$PMSG; else pmsg="<no FAILED line>"; fi ;;
            *) pverdict="exit$prc"
               IFS= read -r -n 300 pmsg <"$tmp"
               problems+=("promtool exited with status $prc") ;;
        esac
        if [ "$pverdict" = valid ] || [ "$pverdict" = invalid ]; then
            if [ "$pverdict" != "$sverdict" ]; then
                problems+=("promtool says $pverdict, sdscope says $sverdict")
            elif [ "$pverdict" = invalid ]; then
                if [ -n "$perr" ]; then
                    if [[ $pmsg != *"$perr"* ]]; then
                        problems+=("promtool message lacks '# promtool-error: $perr' (corpus header is stale)")
                    fi
                elif [[ $pmsg == "yaml: line "* ]]; then
                    [[ $smsg == "yaml: "* ]] || problems+=("promtool reports a YAML syntax error, sdscope does not")
                elif [[ $smsg != *"$pmsg"* ]]; then
                    problems+=("sdscope message does not contain promtool's")
                fi
            fi
            if [ "$pverdict" != "$expect" ] && [ "$sverdict" = "$expect" ]; then
                problems+=("corpus header disagrees with promtool")
            fi
        fi
    fi
    rm -f "$tmp"

    if [ ${#problems[@]} -eq 0 ]; then
        printf '%s\tok\t\n' "$compared" >"$res"
    else
        local joined desc
        joined=$(printf '%s; ' "${problems[@]}")
        joined=${joined%; }
        desc="${f##*/}: $joined | sdscope[$sverdict]: $smsg"
        if [ $compared -eq 1 ]; then
            desc="$desc | promtool[$pverdict]: $pmsg"
        fi
        desc=${desc//$'\n'/ }
        desc=${desc//$'\t'/ }
        printf '%s\tfail\t%s\n' "$compared" "$desc" >"$res"
    fi
}


# ---------------------------------------------------------------------------
# main

if [ $# -ne 2 ]; then
    echo "usage: $0 SDSCOPE_BINARY CORPUS_DIR" >&2
    exit 2
fi
SDSCOPE=$1
CORPUS=${2%/}
if [ ! -x "$SDSCOPE" ]; then
    echo "error: sdscope binary '$SDSCOPE' is not executable" >&2
    exit 2
fi
if [ ! -d "$CORPUS" ]; then
    echo "error: corpus directory '$CORPUS' not found" >&2
    exit 2
fi
case $SDSCOPE in
    /*) ;;
    */*) SDSCOPE=$PWD/$SDSCOPE ;;
esac

PROMTOOL_BIN=${PROMTOOL:-}
if [ -z "$PROMTOOL_BIN" ]; then
    PROMTOOL_BIN=$(command -v promtool 2>/dev/null || true)
fi
if [ -z "$PROMTOOL_BIN" ]; then
    echo "SKIP: promtool not found; differential comparison skipped (verdicts still checked)"
fi

shopt -s nullglob
files=("$CORPUS"/*.yml)
shopt -u nullglob
if [ ${#files[@]} -eq 0 ]; then
    echo "error: no *.yml files in '$CORPUS'" >&2
    exit 2
fi

RESDIR=$(mktemp -d "${TMPDIR:-/tmp}/sdscope-diff-res.XXXXXX") || exit 2
trap 'rm -rf "$RESDIR"' EXIT

HAVE_TIMEOUT=
if command -v timeout >/dev/null 2>&1; then HAVE_TIMEOUT=1; fi

jobs_max=${DIFF_JOBS:-$(nproc 2>/dev/null || echo 2)}
case $jobs_max in ''|*[!0-9]*|0) jobs_max=4 ;; esac

i=0
running=0
for f in "${files[@]}"; do
    i=$((i + 1))
    printf -v n '%06d' "$i"
    check_one "$SDSCOPE" "$f" "$RESDIR/$n" "$PROMTOOL_BIN" &
    running=$((running + 1))
    if [ $running -ge "$jobs_max" ]; then
        wait -n 2>/dev/null || true
        running=$((running - 1))
    fi
done
wait

total=${#files[@]}
compared=0
failures=0
shopt -s nullglob
results=("$RESDIR"/*[0-9])
shopt -u nullglob
for r in "${results[@]}"; do
    IFS=$'\t' read -r c status desc <"$r"
    [ "$c" = 1 ] && compared=$((compared + 1))
    if [ "$status" != ok ]; then
        failures=$((failures + 1))
        echo "FAIL $desc"
    fi
done
# a worker that died without writing its result counts as a failure
done_count=${#results[@]}
if [ "$done_count" -lt "$total" ]; then
    failures=$((failures + total - done_count))
    echo "FAIL $((total - done_count)) file(s) produced no result"
fi

echo "differential: $total files, $compared compared with promtool, $failures failures"
[ $failures -eq 0 ]
