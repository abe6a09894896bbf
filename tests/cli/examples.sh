#!/usr/bin/env bash
# The CI recipes under examples/ and .pre-commit-hooks.yaml: valid YAML of
# the expected shape, and every sdscope command line in them names a
# command and options that `sdscope <command> --help` lists.
. "$(dirname "$0")/lib.sh"
"$PYTHON" - "$ROOT" > commands.txt <<'PY' || fail "examples do not parse"
import re, shlex, sys, yaml, pathlib
root = pathlib.Path(sys.argv[1])
def lines(node):
    if isinstance(node, str):
        yield from node.splitlines()
    elif isinstance(node, list):
        for n in node:
            yield from lines(n)
    elif isinstance(node, dict):
        for n in node.values():
            yield from lines(n)
gha = yaml.safe_load((root / "examples/github-actions.yml").read_text())
assert "sdscope" in gha["jobs"], "github-actions.yml: no sdscope job"
assert all("run" in s or "uses" in s for s in gha["jobs"]["sdscope"]["steps"]), "a step without run or uses"
gitlab = yaml.safe_load((root / "examples/gitlab-ci.yml").read_text())
assert isinstance(gitlab["sdscope"]["script"], list), "gitlab-ci.yml: no sdscope script"
hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
for h in hooks:
    for key in ("id", "name", "entry", "language", "files"):
        assert key in h, f"hook {h.get('id')}: no {key}"
    re.compile(h["files"])
    assert re.search(h["files"], "monitoring/prometheus.yml"), f"hook {h['id']} misses prometheus.yml"
n = 0
for text in list(lines(gha)) + list(lines(gitlab)) + [h["entry"] + " prometheus.yml" for h in hooks]:
    text = re.sub(r"\$\{\{[^}]*\}\}", "X", text)
    for part in re.split(r"[|;&>]", text):
        words = shlex.split(part.strip()) if part.strip() else []
        if words and words[0] == "sdscope":
            print("\t".join(words[1:]))
            n += 1
assert n >= 6, f"only {n} sdscope commands found"
PY
while IFS=$'\t' read -r -a words; do
  command=${words[0]}
  "$SDSCOPE" "$command" --help > help.txt 2>&1 || { fail "sdscope $command --help"; continue; }
  for w in "${words[@]:1}"; do
    case "$w" in
      --*) grep -qE -- "${w%%=*}([ ,=]|$)" help.txt || fail "sdscope $command has no option $w" ;;
      -?) grep -qE -- "$w," help.txt || fail "sdscope $command has no option $w" ;;
    esac
  done
done < commands.txt
finish
