#!/usr/bin/env bash
# e2e: `ostel report --format html` opened in a real headless Chromium (Debian's `chromium`).
# Checks: no JavaScript error, every chart drawn (the page's own pixel probe sets data-charts-*
# on <body>), the hostile log line of the failed fixture run still text, and the report written
# without network access. Keeps report.html and light/dark screenshots under the build directory
# (test-artifacts/report/) for people to look at.
set -euo pipefail

: "${OSTEL_BIN:?run through ctest}" "${OSTEL_SRC_DIR:?run through ctest}"
fail() { echo "FAIL: $*" >&2; exit 1; }

BROWSER=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then BROWSER=$(command -v "$b"); break; fi
done
[ -n "$BROWSER" ] || fail "no headless browser: install Debian's 'chromium' (scripts/setup.sh does)"

ART="$(cd "$(dirname "$OSTEL_BIN")" && pwd)/test-artifacts/report"
rm -rf "$ART"
mkdir -p "$ART"
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT

RUNS="$OSTEL_SRC_DIR/tests/data/runs"
"$OSTEL_BIN" report "$RUNS/study-metal" "$RUNS/cpu-paging" "$RUNS/real-tiny" -o "$ART/report.html" 2>"$ART/stderr.txt" \
    || fail "ostel report exited $? ($(cat "$ART/stderr.txt"))"
[ -s "$ART/report.html" ] || fail "empty report"
grep -q 'https\?://' "$ART/report.html" && grep -o 'src="https\?://[^"]*"\|href="https\?://[^"]*"' \
    "$ART/report.html" | grep -q . && fail "the report loads something from the network"

charts=1
grep -q 'id="ostel-data"' "$ART/report.html" || charts=0

chrome() {
    timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$PROFILE" --hide-scrollbars --virtual-time-budget=10000 "$@" 2>>"$ART/chromium.log"
}

chrome --window-size=1280,2000 --dump-dom "file://$ART/report.html" >"$ART/dom.html" \
    || fail "chromium could not render the report (see $ART/chromium.log)"
[ -s "$ART/dom.html" ] || fail "chromium dumped an empty DOM"

attr() { { grep -o "$1=\"[^\"]*\"" "$ART/dom.html" || true; } | head -n1 | sed 's/^[^"]*"//; s/"$//'; }

errors=$(attr data-js-errors)
[ -z "$errors" ] || fail "$errors JavaScript error(s): $(attr data-js-error)"
expected=$(attr data-charts-expected)
drawn=$(attr data-charts-drawn)
[ -n "$expected" ] || fail "the page script did not run (no data-charts-expected)"
[ -n "$drawn" ] || fail "the chart probe did not run (no data-charts-drawn)"
if [ "$charts" = 1 ]; then
    # 4 group charts, and 3 or 4 time-series charts for each of the 16 fixture runs.
    [ "$expected" -ge 52 ] || fail "expected at least 52 charts, the page made $expected"
    [ "$drawn" = "$expected" ] || fail "$drawn of $expected charts drawn; blank: $(attr data-charts-blank)"
else
    echo "note: this ostel has no uPlot (npm ci, rebuild): checking the tables-only page"
    grep -q 'Charts are not available' "$ART/dom.html" || fail "no notice about missing charts"
fi

# The hostile log line is text in a <pre>, never an element.
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$ART/dom.html" || fail "the hostile log line is missing"
if grep -q '<script>alert(1)</script>' "$ART/dom.html"; then fail "the hostile log line became markup"; fi

chrome --window-size=1280,3000 --screenshot="$ART/report-light.png" "file://$ART/report.html" >/dev/null
chrome --window-size=1280,3000 --force-dark-mode --blink-settings=preferredColorScheme=0 \
    --screenshot="$ART/report-dark.png" "file://$ART/report.html" >/dev/null
[ -s "$ART/report-light.png" ] || fail "no screenshot"
echo "ok: $drawn/$expected charts drawn, no JavaScript error; artifacts in $ART"
