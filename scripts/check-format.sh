#!/usr/bin/env bash
# scripts/check-format.sh [ROOT] — every C file of the tree (src/, tests/, bench/) is as the repo's
# .clang-format writes it: `clang-format --dry-run -Werror`, one line per file that differs, exit 1.
# Fix with `clang-format -i FILE`. The version matters (clang-format 14, Debian 12's, made the tree
# as it is); without clang-format the check fails and says so, it never passes silently.
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
command -v clang-format >/dev/null ||
    { echo "check-format: no clang-format on PATH (Debian: apt-get install clang-format)" >&2; exit 1; }
cd "$ROOT"
bad=0
while IFS= read -r -d '' f; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "check-format: $f differs from .clang-format (clang-format -i $f)"
        bad=1
    fi
done < <(find src tests bench -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
exit $bad
