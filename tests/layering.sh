#!/usr/bin/env bash
# Each folder may include headers only from its own folder and the layers
# below it (README.md, "Architecture").
set -u
cd "$(dirname "$0")/.."
declare -A rank=([util]=0 [yaml]=1 [model]=2 [net]=3 [relabel]=3 [discovery]=4 [config]=5 [scrape]=6 [output]=7 [cli]=8)
bad=0
while IFS= read -r file; do
  case "$file" in cli/*) area=cli ;; *) area=${file#lib/}; area=${area%%/*} ;; esac
  while IFS= read -r inc; do
    target=${inc%%/*}
    [ -n "${rank[$target]:-}" ] || continue
    if [ "$target" != "$area" ] && [ "${rank[$target]}" -ge "${rank[$area]}" ]; then
      echo "$file includes $inc: layer $target is not below $area"
      bad=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find lib cli -name '*.h' -o -name '*.cpp')
[ $bad -eq 0 ] && echo "layering: ok"
exit $bad
