# tests/e2e/lib.sh — sourced by the end-to-end tests: the binary under test, llama.cpp's tools, tiny
# synthesized models (made once per build directory and reused), temporary directories and assertions.
# Each test script runs with `set -euo pipefail` and fails on the first broken assertion.
set -euo pipefail

OSTEL=${OSTEL_BIN:?OSTEL_BIN is not set: run the e2e tests through ctest}
SRC=${OSTEL_SRC_DIR:?OSTEL_SRC_DIR is not set}
E2E_MODELS=${OSTEL_TEST_MODELS:-$(dirname "$OSTEL")/test-models}

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
note() { printf '# %s\n' "$*" >&2; }
# skip WHY: the test cannot run on this machine; ctest reports it as skipped (SKIP_RETURN_CODE 77)
skip() {
    printf 'SKIP: %s\n' "$*" >&2
    exit 77
}

# wait_for PID COMMAND...: runs COMMAND every 50 ms until it succeeds; fails when process PID has
# ended and COMMAND still does not hold. No time bound of its own: a loaded machine is slow, not
# broken, and ctest's TIMEOUT ends a test that truly hangs.
wait_for() {
    local pid=$1
    shift
    until "$@"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            "$@" && return 0
            fail "process $pid ended before this held: $*"
        fi
        sleep 0.05
    done
}

# wait_gone PID WHAT: waits until process PID has ended (gone, or a zombie not yet reaped), for a
# process sent SIGKILL (directly, or by PR_SET_PDEATHSIG when its parent died) that would not end
# on its own. No time bound either: a process that outlives its SIGKILL hangs the test until
# ctest's TIMEOUT, and the note printed first names the process waited for.
wait_gone() {
    local st noted=
    while st=$(ps -o stat= -p "$1" 2>/dev/null | tr -d ' ') && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; do
        [ -n "$noted" ] || { note "waiting for $2 (pid $1) to end"; noted=1; }
        sleep 0.05
    done
}

# A temporary directory removed when the test exits.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ostel-e2e.XXXXXX")
# On exit, background jobs a test left (a failed assertion while ostel runs) are ended first.
cleanup_tmp() {
    local j
    for j in $(jobs -p); do kill -TERM "$j" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup_tmp EXIT

llama_tool() {
    local t=$1 d
    if [ -n "${OSTEL_LLAMA_BIN:-}" ]; then
        d=$OSTEL_LLAMA_BIN
    else
        d="${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}/llama.cpp-nlc-3.21.1/bin"
        [ -x "$d/$t" ] || d=$(dirname "$(command -v "$t" || echo /nonexistent/x)")
    fi
    [ -x "$d/$t" ] || fail "llama.cpp tool $t not found (run scripts/setup.sh)"
    echo "$d/$t"
}

# tiny_model PRESET TYPE → path of a synthesized PRESET quantized to TYPE (F16 = unquantized), made
# once under $E2E_MODELS. A lock keeps concurrent tests from building the same file twice.
tiny_model() {
    local preset=$1 type=$2
    local f16="$E2E_MODELS/$preset-F16.gguf" out="$E2E_MODELS/$preset-$type.gguf"
    mkdir -p "$E2E_MODELS"
    (
        flock 9
        if [ ! -f "$f16" ]; then
            "$OSTEL" synth "$preset" --type f16 -o "$f16" >/dev/null || exit 1
        fi
        if [ "$type" != F16 ] && [ ! -f "$out" ]; then
            "$(llama_tool llama-quantize)" "$f16" "$out.tmp" "$type" >"$out.log" 2>&1 || exit 1
            mv "$out.tmp" "$out"
        fi
    ) 9>"$E2E_MODELS/.lock" || fail "could not make the $preset $type test model"
    if [ "$type" = F16 ]; then echo "$f16"; else echo "$out"; fi
}

# json FILE EXPR → the value of a Python expression over the parsed JSON document `j`.
json() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print("null" if v is None else v)' "$1" "$2"
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"; }
assert_file() { [ -s "$1" ] || fail "missing or empty: $1"; }
assert_grep() { grep -q -- "$1" "$2" || fail "'$1' not found in $2"; }

# Headless Chromium, for the tests that open a report in a real browser (Debian's `chromium`).
# find_browser → the path of chromium, chromium-browser or google-chrome, the first on PATH; nothing
# when there is none (whether that skips or fails is the test's to say).
find_browser() {
    local b
    for b in chromium chromium-browser google-chrome; do
        if command -v "$b" >/dev/null 2>&1; then
            command -v "$b"
            return 0
        fi
    done
    return 0
}
# browser ARGS...: $BROWSER headless with a profile of its own under $TMP and the virtual-time
# budget the report's self-check needs; its stderr goes to $BROWSER_LOG ($TMP/chromium.log unless
# the test names another file). No wall-clock bound: a big page on a loaded machine takes what it
# takes, and ctest's TIMEOUT ends a browser that truly hangs.
browser() {
    mkdir -p "$TMP/profile"
    "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$TMP/profile" --hide-scrollbars --virtual-time-budget=10000 "$@" \
        2>>"${BROWSER_LOG:-$TMP/chromium.log}"
}
# dump_dom PAGE OUT: the report file PAGE (a #fragment may follow) rendered in a 1280×2000 window,
# its DOM after the scripts ran written to OUT; fails the test when the browser cannot.
dump_dom() {
    browser --window-size=1280,2000 --dump-dom "file://$1" >"$2" ||
        fail "chromium could not render the report (see ${BROWSER_LOG:-$TMP/chromium.log})"
}
# dom_attr DOM NAME → the value of the first NAME="..." attribute in the dumped DOM ('' when none).
dom_attr() { { grep -o "$2=\"[^\"]*\"" "$1" || true; } | head -n1 | sed 's/^[^"]*"//; s/"$//'; }
# assert_charts_drawn DOM: no JavaScript error on the page, its script ran, and every chart it made
# was drawn (the page's own pixel probe: data-charts-expected, -drawn and -blank on <body>). Sets
# CHARTS_EXPECTED and CHARTS_DRAWN.
assert_charts_drawn() {
    local errors
    errors=$(dom_attr "$1" data-js-errors)
    [ -z "$errors" ] || fail "$errors JavaScript error(s): $(dom_attr "$1" data-js-error)"
    CHARTS_EXPECTED=$(dom_attr "$1" data-charts-expected)
    CHARTS_DRAWN=$(dom_attr "$1" data-charts-drawn)
    [ -n "$CHARTS_EXPECTED" ] || fail "the page script did not run"
    [ "$CHARTS_DRAWN" = "$CHARTS_EXPECTED" ] ||
        fail "$CHARTS_DRAWN of $CHARTS_EXPECTED charts drawn; blank: $(dom_attr "$1" data-charts-blank)"
}
