#!/usr/bin/env bash
# e2e: the HTML report of serve runs (tests/data/runs/serve-tiny: Q4_K_M and Q8_0 × 2 real ostel
# serve runs) in a real headless Chromium: no JavaScript error, every chart drawn (the page's own
# pixel probe counts the serving charts too), the charts against the load level (latency, request
# and token throughput, RSS, CPU, busy slots, GPU memory) and one per-level timeline per run, the
# group tables with the knee. Needs no llama.cpp. A report without serve runs has none of it.
set -euo pipefail

: "${OSTEL_BIN:?run through ctest}" "${OSTEL_SRC_DIR:?run through ctest}"
. "$OSTEL_SRC_DIR/tests/e2e/lib.sh"

RUNS="$OSTEL_SRC_DIR/tests/data/runs"
OUT="$TMP/serve.html"
"$OSTEL_BIN" report "$RUNS/serve-tiny" -o "$OUT" 2>"$TMP/stderr.txt" \
    || fail "ostel report exited $? ($(cat "$TMP/stderr.txt"))"
grep -q '<h2>Serving by group: the knee</h2>' "$OUT" || fail "no knee table"
grep -q '<h2>Serving by group: comparison with the baseline</h2>' "$OUT" || fail "no comparison"
grep -q 'id="ostel-data"' "$OUT" || skip "this ostel has no uPlot (npm ci, rebuild): no charts to check"
grep -q 'id="serve-charts"' "$OUT" || fail "no serving charts section"

BROWSER=$(find_browser)
[ -n "$BROWSER" ] || skip "no headless browser (Debian's 'chromium')"

dump_dom "$OUT" "$TMP/dom.html"
assert_charts_drawn "$TMP/dom.html"
for t in 'Latency against load: TTFT p50, p99 and E2E p99' 'Request throughput against load' \
    'Output tokens/s against load' 'Server RSS peak against load' 'Server CPU against load' \
    'Busy slots and deferred requests against load' 'GPU memory against load'; do
    grep -q ">$t<" "$TMP/dom.html" || fail "no chart '$t'"
done
# the pinned llama-server exports no KV cache gauge: no chart of it
if grep -q '>KV cache use against load<' "$TMP/dom.html"; then fail "a KV chart without data"; fi
n=$(grep -o ': RSS and CPU by level<' "$TMP/dom.html" | wc -l)
[ "$n" = 4 ] || fail "$n per-level timelines, not 4"

# no serve runs: no serving section
"$OSTEL_BIN" report "$RUNS/cpu-paging" -o "$TMP/cpu.html" 2>/dev/null || fail "cpu report failed"
if grep -q 'id="serve-charts\|Serving by group' "$TMP/cpu.html"; then
    fail "a report without serve runs has a serving section"
fi
echo "ok: $CHARTS_DRAWN/$CHARTS_EXPECTED charts drawn, serving charts present"
