#!/usr/bin/env bash
# e2e: the HTML report of a GPU run set (tests/data/runs/gpu-fake) in a real headless Chromium: no
# JavaScript error, every chart drawn (the page's own pixel probe), and the GPU charts there — the
# energy per token per group with its error bars, and each drawn run's VRAM (device and process)
# and power over time; the GPU table has the groups' J/token. Needs no llama.cpp. A CPU-only
# report has none of it (test_report's golden files, and the check at the end).
set -euo pipefail

: "${OSTEL_BIN:?run through ctest}" "${OSTEL_SRC_DIR:?run through ctest}"
. "$OSTEL_SRC_DIR/tests/e2e/lib.sh"

BROWSER=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then BROWSER=$(command -v "$b"); break; fi
done
[ -n "$BROWSER" ] || skip "no headless browser (Debian's 'chromium')"

RUNS="$OSTEL_SRC_DIR/tests/data/runs"
OUT="$TMP/gpu.html"
"$OSTEL_BIN" report "$RUNS/gpu-fake" -o "$OUT" 2>"$TMP/stderr.txt" \
    || fail "ostel report exited $? ($(cat "$TMP/stderr.txt"))"
grep -q '<h2>GPU</h2>' "$OUT" || fail "no GPU table"
grep -q '1.688 ± 0.008' "$OUT" || fail "the GPU table lacks q4's J/token"
grep -q 'id="ostel-data"' "$OUT" || skip "this ostel has no uPlot (npm ci, rebuild): no charts to check"

PROFILE="$TMP/profile"
mkdir -p "$PROFILE"
timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$PROFILE" --hide-scrollbars --virtual-time-budget=10000 \
    --window-size=1280,2000 --dump-dom "file://$OUT" >"$TMP/dom.html" 2>"$TMP/chromium.log" \
    || fail "chromium could not render the report"
attr() { { grep -o "$1=\"[^\"]*\"" "$TMP/dom.html" || true; } | head -n1 | sed 's/^[^"]*"//; s/"$//'; }
errors=$(attr data-js-errors)
[ -z "$errors" ] || fail "$errors JavaScript error(s): $(attr data-js-error)"
expected=$(attr data-charts-expected)
drawn=$(attr data-charts-drawn)
[ -n "$expected" ] || fail "the page script did not run"
[ "$drawn" = "$expected" ] || fail "$drawn of $expected charts drawn; blank: $(attr data-charts-blank)"
# 6 runs drawn, each with a VRAM and a power chart; one energy-per-token chart.
n=$(grep -o 'GPU 0 memory (NVML)' "$TMP/dom.html" | wc -l)
[ "$n" = 6 ] || fail "$n VRAM charts, not 6"
n=$(grep -o '>GPU 0 power<' "$TMP/dom.html" | wc -l)
[ "$n" = 6 ] || fail "$n power charts, not 6"
grep -q 'Energy per generated token (J)</' "$TMP/dom.html" || fail "no energy-per-token chart"
# each run's RSS chart splits RSS into its anonymous and file-backed parts
n=$(grep -o '>Resident memory (RSS): anonymous and file-backed<' "$TMP/dom.html" | wc -l)
[ "$n" = 6 ] || fail "$n RSS charts with the anon/file split, not 6"

# CPU-only: no GPU section
"$OSTEL_BIN" report "$RUNS/cpu-paging" -o "$TMP/cpu.html" 2>/dev/null || fail "cpu report failed"
if grep -q 'id="gpu-charts\|<h2>GPU</h2>' "$TMP/cpu.html"; then fail "a CPU-only report has a GPU section"; fi
echo "ok: $drawn/$expected charts drawn, GPU charts present"
