#!/usr/bin/env bash
# e2e: `ostel report --format html` opened in a real headless Chromium (Debian's `chromium`).
# Checks: no JavaScript error, every chart drawn (the page's own pixel probe sets data-charts-*
# on <body>), the hostile log line of the failed fixture run still text, and the report written
# without network access. The real runs of tests/data/runs/real-pred get their model files back
# (the tiny test models, made by lib.sh) so the page has the memory-against-context chart: the
# sweep's point at each run's context must equal the runner's prediction in its summary.json.
# Keeps report.html and light/dark screenshots (the whole page, and the prediction and sweep
# sections alone) under the build directory (test-artifacts/report/) for people to look at.
set -euo pipefail

: "${OSTEL_BIN:?run through ctest}" "${OSTEL_SRC_DIR:?run through ctest}"
. "$OSTEL_SRC_DIR/tests/e2e/lib.sh"

BROWSER=$(find_browser)
[ -n "$BROWSER" ] || fail "no headless browser: install Debian's 'chromium' (scripts/setup.sh does)"

ART="$(cd "$(dirname "$OSTEL_BIN")" && pwd)/test-artifacts/report"
rm -rf "$ART"
mkdir -p "$ART"
BROWSER_LOG="$ART/chromium.log"

RUNS="$OSTEL_SRC_DIR/tests/data/runs"
# real-pred's summaries name the models relative to where `ostel study` ran: point them at ours.
Q8=$(tiny_model tiny-llama Q8_0)
Q4=$(tiny_model tiny-llama Q4_K_M)
cp -r "$RUNS/real-pred" "$TMP/real-pred"
for f in "$TMP"/real-pred/*/summary.json "$TMP"/real-pred/*/config.txt; do
    sed -i "s#build/test-models/tiny-llama-Q8_0.gguf#$Q8#g; s#build/test-models/tiny-llama-Q4_K_M.gguf#$Q4#g" "$f"
done
"$OSTEL_BIN" report "$TMP/real-pred" --format json -o "$ART/real-pred.json" 2>"$ART/stderr.txt" \
    || fail "ostel report (json) exited $? ($(cat "$ART/stderr.txt"))"
# The sweep at each run's context is the runner's prediction (model + context + compute + output).
python3 - "$ART/real-pred.json" "$TMP/real-pred" <<'PY' || fail "sweep and the runs' predictions disagree"
import json, os, sys
rep = json.load(open(sys.argv[1]))
checked = 0
for g in rep["groups"]:
    sw = g["memory_sweep"]
    assert sw["note"] is None and len(sw["points"]) == 2, (g["label"], sw)   # 1k, 2k (trained)
    assert [p["n_ctx"] for p in sw["points"]] == [1024, 2048], sw["points"]
    assert len(sw["measured"]) == 2, sw["measured"]
    for name in g["runs"]:
        s = json.load(open(os.path.join(sys.argv[2], name, "summary.json")))
        pr = s["prediction"]
        want = sum(pr[k]["predicted_mib"] for k in ("model", "context", "compute", "output"))
        got = [p["host_mib"] for p in sw["points"] if p["n_ctx"] == pr["n_ctx"]][0]
        assert abs(got - want) < 0.05, (name, got, want)
        checked += 1
assert checked == 4, checked
PY

"$OSTEL_BIN" report "$RUNS/study-metal" "$RUNS/cpu-paging" "$RUNS/real-tiny" "$TMP/real-pred" \
    -o "$ART/report.html" 2>"$ART/stderr.txt" || fail "ostel report exited $? ($(cat "$ART/stderr.txt"))"
[ -s "$ART/report.html" ] || fail "empty report"
grep -q 'https\?://' "$ART/report.html" && grep -o 'src="https\?://[^"]*"\|href="https\?://[^"]*"' \
    "$ART/report.html" | grep -q . && fail "the report loads something from the network"

charts=1
grep -q 'id="ostel-data"' "$ART/report.html" || charts=0

dump_dom "$ART/report.html" "$ART/dom.html"
[ -s "$ART/dom.html" ] || fail "chromium dumped an empty DOM"

attr() { dom_attr "$ART/dom.html" "$1"; }

errors=$(attr data-js-errors)
[ -z "$errors" ] || fail "$errors JavaScript error(s): $(attr data-js-error)"
expected=$(attr data-charts-expected)
drawn=$(attr data-charts-drawn)
[ -n "$expected" ] || fail "the page script did not run (no data-charts-expected)"
[ -n "$drawn" ] || fail "the chart probe did not run (no data-charts-drawn)"
if [ "$charts" = 1 ]; then
    # 4 group charts, the memory sweep, and 3 or 4 time-series charts for each of the 20 runs.
    [ "$expected" -ge 65 ] || fail "expected at least 65 charts, the page made $expected"
    [ "$drawn" = "$expected" ] || fail "$drawn of $expected charts drawn; blank: $(attr data-charts-blank)"
    # q8 and q4: a predicted line and the measured points each.
    [ "$(attr data-sweep-series)" = 4 ] || fail "the sweep chart has $(attr data-sweep-series) series, not 4"
else
    echo "note: this ostel has no uPlot (npm ci, rebuild): checking the tables-only page"
    grep -q 'Charts are not available' "$ART/dom.html" || fail "no notice about missing charts"
fi

# The hostile log line is text in a <pre>, never an element.
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$ART/dom.html" || fail "the hostile log line is missing"
if grep -q '<script>alert(1)</script>' "$ART/dom.html"; then fail "the hostile log line became markup"; fi

browser --window-size=1280,3000 --screenshot="$ART/report-light.png" "file://$ART/report.html" >/dev/null
browser --window-size=1280,3000 --force-dark-mode --blink-settings=preferredColorScheme=0 \
    --screenshot="$ART/report-dark.png" "file://$ART/report.html" >/dev/null
[ -s "$ART/report-light.png" ] || fail "no screenshot"
# The prediction table and the sweep chart alone, for a closer look.
sed 's#</head>#<style>header.top, main > section:not(\#prediction):not(\#sweep), main > details, main > div.card, footer { display: none !important; }</style></head>#' \
    "$ART/report.html" >"$TMP/sweep.html"
browser --window-size=1280,1200 --screenshot="$ART/report-sweep.png" "file://$TMP/sweep.html" >/dev/null
browser --window-size=1280,1200 --force-dark-mode --blink-settings=preferredColorScheme=0 \
    --screenshot="$ART/report-sweep-dark.png" "file://$TMP/sweep.html" >/dev/null

# Predicted vs measured is a table in the page, flags included (the fixture's q8_0 compute).
grep -q 'id="prediction"' "$ART/dom.html" || fail "no prediction table"
grep -q '<td class="num bad"><span class="flag">-19.19% ⚠' "$ART/dom.html" || fail "the error beyond its bar is not flagged"
grep -q 'id="sweep"' "$ART/dom.html" || fail "no memory sweep table"
echo "ok: $drawn/$expected charts drawn, no JavaScript error; artifacts in $ART"
