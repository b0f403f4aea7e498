#!/usr/bin/env bash
# scripts/check-layers.sh — the floors of src/, checked over every #include "module/…" line.
#
#   main.c
#   cmd/                              options and wiring; the only code that exits
#   run/ serve/ quality/ report/      making runs; reading them
#   llama/ platform/ gpu/ store/      llama.cpp knowledge · the OS · the accelerators · SQL
#   rundir/                           the run directory's contract
#   util/
#
# A file may include from its own module and from any module on a lower floor, never from a higher
# floor or a sibling on its own floor — except the edges listed in ALLOWED below, each with its reason.
# Exit 0 when the tree keeps the rule, 1 with one line per offending include otherwise.
set -euo pipefail
SRC="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src}"

declare -A FLOOR=([util]=0 [rundir]=1 [llama]=2 [platform]=2 [gpu]=2 [store]=2
                  [run]=3 [serve]=3 [quality]=3 [report]=3 [cmd]=4 [main]=5)
# Sibling edges on one floor that the design wants (docs/ARCHITECTURE.md says why).
ALLOWED=(
    "serve>run"     # serve/ reuses the runner and sampler for the server's process tree
    "quality>run"   # quality/ runs each llama-perplexity pass as an ordinary run
)

bad=0
while IFS= read -r -d '' f; do
    rel=${f#"$SRC"/}
    case "$rel" in
    */*) from=${rel%%/*} ;;
    *) from=main ;;
    esac
    [ -n "${FLOOR[$from]+x}" ] || { echo "check-layers: $rel: module '$from' has no floor"; bad=1; continue; }
    while IFS=: read -r line inc; do
        to=${inc%%/*}
        [ "$to" = "$from" ] && continue
        if [ -z "${FLOOR[$to]+x}" ]; then
            echo "check-layers: $rel:$line includes $inc from unknown module '$to'"; bad=1; continue
        fi
        [ "${FLOOR[$to]}" -lt "${FLOOR[$from]}" ] && continue
        ok=0
        for a in "${ALLOWED[@]}"; do [ "$a" = "$from>$to" ] && ok=1; done
        [ "$ok" -eq 1 ] && continue
        if [ "${FLOOR[$to]}" -gt "${FLOOR[$from]}" ]; then kind="a higher floor"; else kind="a sibling"; fi
        echo "check-layers: $rel:$line includes $inc ($from may not include $kind, $to)"
        bad=1
    done < <(grep -noE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/[^"]+"' "$f" |
             sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done < <(find "$SRC" -name '*.[ch]' -print0 | sort -z)
[ "$bad" -eq 0 ] && echo "check-layers: every include keeps the floors"
exit "$bad"
