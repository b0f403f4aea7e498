#!/usr/bin/env bash
# e2e: `ostel report` writes its text out as it is made (a megabyte at a time, never held whole).
# The fixture runs' report is the same bytes in every format whatever the flush threshold
# ($OSTEL_TEST_REPORT_FLUSH_BYTES, tests only), to stdout and to -o FILE; a report that fails
# midway, after some of its text was written — past its size bound ($OSTEL_TEST_REPORT_MAX_BYTES,
# tests only) or over the file-size limit (EFBIG) — is one error line and exit 1, leaves no file
# and no temporary one, and an existing FILE keeps its old bytes; so does a directory that is not
# there; to a full standard output, one error line and exit 1; ended by a signal midway, no
# temporary file left.
source "$OSTEL_SRC_DIR/tests/e2e/lib.sh"
source "$OSTEL_SRC_DIR/tests/e2e/faultlib.sh"

RUNS="$SRC/tests/data/runs"
set -- "$RUNS"/study-metal/* "$RUNS/cpu-paging" "$RUNS"/gpu-fake/*

# 1. the same bytes whatever the threshold, to stdout and to a file
for fmt in md csv json html; do
    "$OSTEL" report "$@" --format "$fmt" >"$TMP/whole.$fmt" 2>"$TMP/err" ||
        fail "report --format $fmt: $(cat "$TMP/err")"
    for flush in 1 7 4096; do
        OSTEL_TEST_REPORT_FLUSH_BYTES=$flush "$OSTEL" report "$@" --format "$fmt" >"$TMP/o" ||
            fail "report --format $fmt, flushed every $flush bytes"
        cmp -s "$TMP/whole.$fmt" "$TMP/o" || fail "$fmt to stdout differs when flushed every $flush bytes"
        OSTEL_TEST_REPORT_FLUSH_BYTES=$flush "$OSTEL" report "$@" --format "$fmt" -o "$TMP/r.$fmt" ||
            fail "report --format $fmt -o, flushed every $flush bytes"
        cmp -s "$TMP/whole.$fmt" "$TMP/r.$fmt" || fail "$fmt to a file differs when flushed every $flush bytes"
    done
done
json_bytes=$(wc -c <"$TMP/whole.json")
[ "$json_bytes" -gt 100000 ] || fail "the JSON report is too small for this test: $json_bytes bytes"
no_temps "$TMP"

# 2. past the size bound midway: no file, an existing one kept
mkdir -p "$TMP/o2"
rc=0
OSTEL_TEST_REPORT_MAX_BYTES=50000 OSTEL_TEST_REPORT_FLUSH_BYTES=4096 \
    "$OSTEL" report "$@" --format json -o "$TMP/o2/r.json" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a report past its bound"
one_error "$TMP/err" "the report would exceed"
[ ! -e "$TMP/o2/r.json" ] || fail "a report past its bound left a file"
no_temps "$TMP/o2"
echo old >"$TMP/o2/r.json"
rc=0
OSTEL_TEST_REPORT_MAX_BYTES=50000 OSTEL_TEST_REPORT_FLUSH_BYTES=4096 \
    "$OSTEL" report "$@" --format json -o "$TMP/o2/r.json" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a report past its bound over a file"
assert_eq "$(cat "$TMP/o2/r.json")" old "the existing file after a report past its bound"
assert_eq "$(ls "$TMP/o2")" r.json "files beside the report"
rc=0
OSTEL_TEST_REPORT_MAX_BYTES=50000 OSTEL_TEST_REPORT_FLUSH_BYTES=4096 \
    "$OSTEL" report "$@" --format json >"$TMP/o" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a report past its bound to stdout"
one_error "$TMP/err" "the report would exceed"

# 3. over the file-size limit midway (64 KiB written, then EFBIG): the same
rc=0
(
    ulimit -f 64
    OSTEL_TEST_REPORT_FLUSH_BYTES=4096 exec "$OSTEL" report "$@" --format json -o "$TMP/o2/r.json"
) 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a report over the file-size limit"
one_error "$TMP/err" "cannot write '.*r\.json': File too large"
assert_eq "$(cat "$TMP/o2/r.json")" old "the existing file after a report over the file-size limit"
assert_eq "$(ls "$TMP/o2")" r.json "files beside the report after EFBIG"
# with room, the report replaces it whole
"$OSTEL" report "$@" --format json -o "$TMP/o2/r.json" || fail "report -o over an existing file"
cmp -s "$TMP/whole.json" "$TMP/o2/r.json" || fail "the replaced file differs"

# 4. a directory that is not there; a full standard output
rc=0
"$OSTEL" report "$@" -o "$TMP/none/r.md" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of -o into a missing directory"
one_error "$TMP/err" "cannot write '.*none/r\.md'"
[ ! -e "$TMP/none" ] || fail "a missing directory was made"
if [ -w /dev/full ]; then
    for flush in 1 def; do
        rc=0
        if [ "$flush" = def ]; then
            "$OSTEL" report "$@" --format json >/dev/full 2>"$TMP/err" || rc=$?
        else
            OSTEL_TEST_REPORT_FLUSH_BYTES=$flush "$OSTEL" report "$@" --format json \
                >/dev/full 2>"$TMP/err" || rc=$?
        fi
        assert_eq "$rc" 1 "exit status of a report to a full stdout (flush $flush)"
        one_error "$TMP/err" "cannot write to standard output: No space left on device"
    done
else
    note "no /dev/full: a full standard output is not checked"
fi

# 5. ended by a signal midway (SIGINT, SIGTERM: Ctrl-C on a long report), after a piece was
# written: ostel ends by that signal, no temporary file is left, an existing file keeps its bytes
for sig in 2 15; do
    echo old >"$TMP/o2/r.json"
    rc=0
    OSTEL_TEST_REPORT_SIGNAL_AFTER_FLUSH=$sig OSTEL_TEST_REPORT_FLUSH_BYTES=4096 \
        "$OSTEL" report "$@" --format json -o "$TMP/o2/r.json" 2>"$TMP/err" || rc=$?
    assert_eq "$rc" $((128 + sig)) "exit status of a report ended by signal $sig"
    assert_eq "$(cat "$TMP/o2/r.json")" old "the existing file after a report ended by signal $sig"
    assert_eq "$(ls "$TMP/o2")" r.json "files beside a report ended by signal $sig"
done
echo "ok"
