#!/usr/bin/env bash
# End to end, a full disk (issue 10): a 4 MiB tmpfs, filled.
#  1. `ostel run` on a disk full from the start (nothing recorded, the child not started) and on one
#     that fills up while the child writes: exit 1, one error line naming the file, never "run ok",
#     no temporary file, no status contradicting another file
#  2. a study whose disk is full after its first run is stored: exit 1 with one error line saying
#     the disk is full — not taken for llama.cpp's lost log, not retried — and, once there is room,
#     the study resumes: each run stored exactly once
# Needs to mount a tmpfs (root); skipped (exit 77) where that is not allowed. The other faults are
# test_faults_integrity.sh.
. "$(dirname "$0")/lib.sh"
[ -n "${FAULTS_DEBUG:-}" ] && set -x
. "$(dirname "$0")/faultlib.sh"

MNT="$TMP/mnt"
mkdir -p "$MNT"
mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
trap 'umount "$MNT" 2>/dev/null || true; cleanup_tmp' EXIT

# ---- 1. a run on a disk that is full from the start, and on one that fills up while the child
# writes (room for config.txt, not for the log)
for room_kib in 0 48; do
    mkdir -p "$MNT/r1"
    free_kib=$(df -Pk "$MNT" | awk 'NR == 2 { print $4 }')
    if [ $((free_kib - room_kib)) -gt 0 ]; then
        dd if=/dev/zero of="$MNT/fill" bs=1k count=$((free_kib - room_kib)) 2>/dev/null || true
    fi
    rc=0
    "$OSTEL" run --tag full --out "$MNT/r1" --interval 5ms -- \
        sh -c 'head -c 400000 /dev/zero | tr "\0" x; echo' >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq "$rc" 1 "exit status of a run on a full disk (room $room_kib KiB)"
    one_error "$TMP/err" "no space left on device|No space left on device"
    ! grep -q 'run ok' "$TMP/err" || fail "a run on a full disk said 'run ok'"
    no_temps "$MNT"
    dirs_consistent "$MNT"
    if [ -f "$MNT/r1/config.txt" ]; then
        ! grep -q '^status=ok$' "$MNT/r1/config.txt" || fail "config.txt says ok on a full disk"
    fi
    rm -rf "$MNT/fill" "$MNT/r1"
done
note "a run on a full disk: exit 1, one error line"

# ---- 2. a study whose disk is full after its first run: two shards of one study (one run each),
# the disk filled in between, so nothing here depends on timing. The database lives off the small
# disk: what fills up is the run's own files (a full database is SQLite's error, said in one line).
model=$(tiny_model tiny-llama Q8_0)
STUDY_ARGS=(-m "$model" -t q8 -c 256 -n 8 --no-warmup --cooldown 0.1s --interval 50ms -r 2
    --dir "$MNT/study" --db "$TMP/study.db")
S="$MNT/study"
"$OSTEL" study -q "${STUDY_ARGS[@]}" --shard 0/2 >/dev/null 2>"$TMP/err" ||
    fail "the study's first shard failed: $(cat "$TMP/err")"
# full but for 20 KiB: room for the study to rewrite its small study.ini (a temporary page, then the
# old one freed) and for the run to start, not for its log, metrics.csv and summary.json
dd if=/dev/zero of="$MNT/pad" bs=4k count=5 2>/dev/null
dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null || true
rm "$MNT/pad"
rc=0; "$OSTEL" study -q "${STUDY_ARGS[@]}" --shard 1/2 >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a study on a full disk: $(cat "$TMP/err")"
one_error "$TMP/err" "no space left on device|No space left on device"
! grep -q '22142' "$TMP/err" || fail "a full disk was taken for llama.cpp's lost log"
! grep -q 'running it again' "$TMP/err" || fail "a full disk was retried"
grep -q "^ostel: error: .*002-q8" "$TMP/err" || fail "the study did not fail in its run: $(cat "$TMP/err")"
assert_eq "$(q "$TMP/study.db" 'select count(*) from runs')" 1 "runs stored after the full disk"
no_temps "$S"
dirs_consistent "$S/runs"
note "full disk, the study said: $(grep '^ostel: error:' "$TMP/err")"
rm -f "$MNT/fill"
"$OSTEL" study -q "${STUDY_ARGS[@]}" >/dev/null 2>"$TMP/err" ||
    fail "the study did not resume once there was room: $(cat "$TMP/err")"
db_sound "$TMP/study.db" 2
no_temps "$S"
dirs_consistent "$S/runs"
umount "$MNT"
trap cleanup_tmp EXIT
echo "ok: a full disk"
