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
#
# scripts/check-layers.sh [SRC [LIBOSTELCORE]]: with the built library (CMake's test lint/layers
# passes it), the same rule is held over the symbols too, which an include line cannot show (a
# function declared in one module's header and defined in another module's file): each object file
# of the archive is its source file under SRC (no two share a name, docs/STYLE.md), and every
# symbol it leaves undefined (nm) that another object file defines is a use of that one's module.
# Exit 0 when the tree keeps the rule, 1 with one line per offending include or symbol otherwise.
set -euo pipefail
SRC="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src}"
LIB="${2:-}"

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
[ -n "$LIB" ] || exit "$bad"

# ---- the symbols of the built library
command -v nm >/dev/null || { echo "check-layers: no nm on PATH to read $LIB"; exit 1; }
[ -f "$LIB" ] || { echo "check-layers: no library at $LIB (build it first)"; exit 1; }
floors=
for m in "${!FLOOR[@]}"; do floors+="$m=${FLOOR[$m]} "; done
# OBJ.o → its source's module, for every source under SRC; an object of no source (a file the build
# generates, as the report's embedded assets) is left out of the check
sources=$(cd "$SRC" && find . -name '*.c' | sed 's|^\./||' | sort)
dup=$(printf '%s\n' "$sources" | sed 's|.*/||' | sort | uniq -d)
[ -z "$dup" ] || { echo "check-layers: two sources share the name $dup: objects cannot be told apart"; exit 1; }
# nm -P -A: "ARCHIVE[MEMBER]: NAME TYPE ..." on GNU and macOS alike; U (and w/v, weak) undefined
nm -P -A -g "$LIB" 2>/dev/null | awk -v floors="$floors" -v allowed="${ALLOWED[*]}" -v sources="$sources" '
    BEGIN {
        n = split(floors, f, " ")
        for (i = 1; i <= n; i++) { split(f[i], kv, "="); floor[kv[1]] = kv[2] }
        n = split(allowed, a, " ")
        for (i = 1; i <= n; i++) ok[a[i]] = 1
        n = split(sources, s, "\n")
        for (i = 1; i <= n; i++) {
            base = s[i]; sub(/.*\//, "", base)
            mod = s[i]; if (mod ~ /\//) sub(/\/.*/, "", mod); else mod = "main"
            path[base ".o"] = s[i]; module[base ".o"] = mod
        }
    }
    {
        k = index($0, "]: ") # the archive path may hold spaces: split after the member
        if (!k) next
        head = substr($0, 1, k - 1); obj = head; sub(/.*\[/, "", obj)
        if (!(obj in module) || split(substr($0, k + 3), fld, " ") < 2) next
        if (fld[2] == "U" || fld[2] == "w" || fld[2] == "v") { nu++; uobj[nu] = obj; usym[nu] = fld[1] }
        else { def[fld[1]] = obj; ndef++ }
    }
    END {
        if (!ndef) { print "check-layers: nm read no symbol of a source under src/ from the library"; exit 1 }
        bad = 0
        for (i = 1; i <= nu; i++) {
            sym = usym[i]
            if (!(sym in def)) continue # libc, sqlite, cJSON...
            from = module[uobj[i]]; to = module[def[sym]]
            if (from == to || floor[to] < floor[from] || ((from ">" to) in ok)) continue
            kind = floor[to] > floor[from] ? "a higher floor" : "a sibling"
            printf "check-layers: %s uses %s, defined in %s (%s may not use %s, %s)\n",
                path[uobj[i]], sym, path[def[sym]], from, kind, to
            bad = 1
        }
        if (!bad) print "check-layers: every symbol keeps the floors"
        exit bad
    }' || bad=1
exit "$bad"
