#!/usr/bin/env bash
# Shell completions: the bash script, sourced, offers the commands, each
# command's options, the values of -o, and --job completed with the job
# names of the config on the command line; zsh and fish parse theirs.
. "$(dirname "$0")/lib.sh"
cat > prometheus.yml <<'YAML'
scrape_configs:
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:9100"]}]
  - job_name: api-server
    static_configs: [{targets: ["127.0.0.1:8080"]}]
YAML
"$SDSCOPE" completion bash > sdscope.bash || fail "completion bash"
mkdir bin && ln -s "$SDSCOPE" bin/sdscope
# candidates WORDS...: what the bash completion offers for the last word.
candidates() {
  PATH="$SCRATCH/bin:$PATH" bash -c '
    source ./sdscope.bash
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _sdscope
    printf "%s\n" "${COMPREPLY[@]}"' sh "$@" | sort | tr '\n' ' '
}
expect_candidates() {
  local want=$1; shift
  got=$(candidates "$@")
  [ "$got" = "$want " ] || fail "completing '$*': want '$want', got '$got'"
}
expect_candidates "targets" sdscope tar
expect_candidates "--help --version check completion diff explain mechanisms targets version watch" sdscope ""
expect_candidates "--offline --old-ref --output" sdscope diff --o
expect_candidates "file_sd groups json table yaml" sdscope targets prometheus.yml -o ""
expect_candidates "github json markdown table" sdscope diff -o ""
expect_candidates "api-server node" sdscope targets prometheus.yml --job ""
expect_candidates "node" sdscope watch prometheus.yml --job n
expect_candidates "prometheus.yml" sdscope check prom
expect_candidates "removed" sdscope diff --fail-on rem
[ "$("$SDSCOPE" completion --jobs prometheus.yml | tr '\n' ' ')" = "node api-server " ] || fail "completion --jobs"

# The other shells at least parse their scripts.
"$SDSCOPE" completion zsh > _sdscope && zsh -n _sdscope || fail "zsh script does not parse"
"$SDSCOPE" completion fish > sdscope.fish && fish -n sdscope.fish || fail "fish script does not parse"
grep -q "__fish_seen_subcommand_from diff' -l old-ref" sdscope.fish || fail "fish: no diff --old-ref"
grep -qF "'*--job[Only this job (repeatable)]:job:_sdscope_jobs'" _sdscope || fail "zsh: --job does not complete jobs"
run completion
expect_status 2
finish
