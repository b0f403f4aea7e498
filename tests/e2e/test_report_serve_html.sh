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

BROWSER=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then BROWSER=$(command -v "$b"); break; fi
done
[ -n "$BROWSER" ] || skip "no headless browser (Debian's 'chromium')"

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
echo "ok: $drawn/$expected charts drawn, serving charts present"
