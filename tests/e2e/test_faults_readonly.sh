#!/usr/bin/env bash
# End to end, a database on a read-only mount (issue 10): `ostel db info` and `ostel report --db`
# open it read-only (mode=ro, immutable), so they work where nothing can be created beside it (no
# -wal, no -shm). Needs to mount a tmpfs and remount it read-only (root); skipped (exit 77) where
# that is not allowed. That they create nothing on a writable disk is test_faults_integrity_a.sh.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/ro"
mount -t tmpfs -o size=16m tmpfs "$TMP/ro" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
trap 'umount "$TMP/ro" 2>/dev/null || true; cleanup_tmp' EXIT
"$OSTEL" db import --db "$TMP/ro/a.db" "$SRC"/tests/data/store-runs/q4-ok >/dev/null ||
    fail "import of a fixture run failed"
mount -o remount,ro "$TMP/ro" || fail "cannot remount $TMP/ro read-only"
touch "$TMP/ro/x" 2>/dev/null && fail "the read-only mount took a new file"
(cd "$TMP/ro" && find . | sort) >"$TMP/before"
rc=0; "$OSTEL" db info --db "$TMP/ro/a.db" >"$TMP/out" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 0 "db info on a read-only mount: $(cat "$TMP/err")"
assert_grep "runs ok" "$TMP/out"
rc=0; "$OSTEL" report --db "$TMP/ro/a.db" -o "$TMP/r.md" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 0 "report --db on a read-only mount: $(cat "$TMP/err")"
assert_grep "q4" "$TMP/r.md"
[ ! -s "$TMP/err" ] || fail "report --db on a read-only mount printed: $(cat "$TMP/err")"
(cd "$TMP/ro" && find . | sort) >"$TMP/after"
diff "$TMP/before" "$TMP/after" >/dev/null || fail "files appeared: $(diff "$TMP/before" "$TMP/after")"
umount "$TMP/ro"
trap cleanup_tmp EXIT
echo "ok: a database on a read-only mount"
