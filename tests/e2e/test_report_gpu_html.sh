#!/usr/bin/env bash
# e2e: the HTML report of a GPU run set (tests/data/runs/gpu-fake) in a real headless Chromium: no
# JavaScript error, every chart drawn (the page's own pixel probe), and the GPU charts there — the
# energy per token per group with its error bars, and each drawn run's VRAM (device and process)
# and power over time; the GPU table has the groups' J/token. Needs no llama.cpp. A CPU-only
# report has none of it (test_report's golden files, and the check at the end).
set -euo pipefail

: "${OSTEL_BIN:?run through ctest}" "${OSTEL_SRC_DIR:?run through ctest}"
. "$OSTEL_SRC_DIR/tests/e2e/lib.sh"

BROWSER=$(find_browser)
[ -n "$BROWSER" ] || skip "no headless browser (Debian's 'chromium')"

RUNS="$OSTEL_SRC_DIR/tests/data/runs"
OUT="$TMP/gpu.html"
"$OSTEL_BIN" report "$RUNS/gpu-fake" -o "$OUT" 2>"$TMP/stderr.txt" \
    || fail "ostel report exited $? ($(cat "$TMP/stderr.txt"))"
grep -q '<h2>GPU</h2>' "$OUT" || fail "no GPU table"
grep -q '1.688 ± 0.008' "$OUT" || fail "the GPU table lacks q4's J/token"
grep -q 'id="ostel-data"' "$OUT" || skip "this ostel has no uPlot (npm ci, rebuild): no charts to check"

dump_dom "$OUT" "$TMP/dom.html"
assert_charts_drawn "$TMP/dom.html"
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
echo "ok: $CHARTS_DRAWN/$CHARTS_EXPECTED charts drawn, GPU charts present"
