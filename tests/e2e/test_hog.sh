#!/usr/bin/env bash
# e2e: `ostel hog` really holds memory, burns CPU with its cpu threads, refuses what the machine
# cannot give (exit 1, with the numbers), rejects bad specs (exit 2) and stops on SIGTERM.
# Linux only (reads /proc/<pid>/status and /proc/<pid>/task/*/schedstat); elsewhere skipped (77).
# No bound here depends on how fast or how loaded the machine is: memory is compared with what the
# hog says it holds, CPU only has to be used at all (the hog's speed is bench/'s business).
. "$(dirname "$0")/lib.sh"
[ -r /proc/self/status ] || skip "no /proc: the hog's memory and CPU cannot be read"

# held_kb PID → the hog's resident plus swapped-out memory (kB): every page it wrote is one or the
# other, however much memory pressure moved out
held_kb() { awk '/^(VmRSS|VmSwap):/ { s += $2 } END { print s + 0 }' "/proc/$1/status"; }

# --- mem:256M: it holds every page of the 256 MiB it says it holds, reports ready, cleans up on
# SIGTERM
"$OSTEL" hog mem:256M --ready-file "$TMP/ready" >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait_for "$pid" test -e "$TMP/ready" # (lib.sh: fails when the hog ends first)
grep -q '^hog: ready rss=[0-9]* MiB' "$TMP/out" || fail "no ready line: $(cat "$TMP/out")"
assert_grep "^pid=$pid\$" "$TMP/ready"
mem_mib=$(sed -n 's/^mem_mib=//p' "$TMP/ready")
assert_eq "$mem_mib" 256 "the memory the hog says it holds (MiB)"
want_kb=$((mem_mib * 1024))
held=$(held_kb "$pid")
[ "$held" -ge "$want_kb" ] || fail "the hog holds ${held} kB (RSS + swap) < the ${want_kb} kB it reports"
assert_eq "$(cat "/proc/$pid/oom_score_adj")" 1000 "the hog's oom_score_adj"
# it keeps holding it while it rewrites its pages (one rewrite pass at least: the ready line's cycle)
cycle=$(sed -n 's/.*every page each \([0-9.]*\) s.*/\1/p' "$TMP/out")
sleep "${cycle:-1}"
held2=$(held_kb "$pid")
[ "$held2" -ge "$want_kb" ] || fail "the hog's memory fell to ${held2} kB (RSS + swap)"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
assert_grep '^hog: stopping (SIGTERM)' "$TMP/out"
[ ! -e "$TMP/ready" ] || fail "ready file left behind"
note "mem:256M held ${held} kB (RSS + swap) of ${want_kb} kB"

# --- cpu:1 runs: its threads' time on a CPU (/proc/<pid>/task/*/schedstat, first field) grows
# while it is left alone. No lower or upper bound on how much: a shared machine may give it little,
# and ostel's own sampler is what measures how much it takes.
"$OSTEL" hog cpu:1 >"$TMP/out2" 2>&1 &
pid=$!
wait_for "$pid" grep -q '^hog: ready' "$TMP/out2"
assert_grep '^hog: ready .*cpu=1' "$TMP/out2"
run_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
a=$(run_ns "$pid")
b=$a
ran_100ms() { # until it has run 100 ms more
    b=$(run_ns "$pid")
    [ $((b - a)) -ge 100000000 ]
}
wait_for "$pid" ran_100ms
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 0 "cpu:1 exit status after SIGINT"
note "cpu:1 ran on a CPU (schedstat +$(((b - a) / 1000000)) ms)"

# --- --duration ends it by itself
"$OSTEL" hog mem:16M,cpu:1 --duration 1s >"$TMP/out3" 2>&1 || fail "--duration run failed"
assert_grep '^hog: stopping (duration)' "$TMP/out3"

# --- refusals: too big = 1 with the numbers; malformed = 2
rc=0; "$OSTEL" hog mem:100000G >"$TMP/out4" 2>"$TMP/err4" || rc=$?
assert_eq "$rc" 1 "exit status of an oversize hog"
grep -Eq 'mem:100000G asks 100000\.0 GiB but only [0-9.]+ GiB is available \(keeping 256 MiB spare\)' \
    "$TMP/err4" || fail "oversize message: $(cat "$TMP/err4")"
rc=0; "$OSTEL" hog mem:100%avail 2>"$TMP/err5" || rc=$?
assert_eq "$rc" 1 "mem:100%avail should not fit"
for bad in "mem:lots" "cmd:sleep" "cpu:0" "mem:1G,mem:1G" ""; do
    rc=0; "$OSTEL" hog "$bad" 2>/dev/null || rc=$?
    assert_eq "$rc" 2 "exit status of spec '$bad'"
done
rc=0; "$OSTEL" hog mem:1M --duration never 2>/dev/null || rc=$?
assert_eq "$rc" 2 "a bad --duration"
rc=0; "$OSTEL" hog mem:1M cpu:1 2>/dev/null || rc=$?
assert_eq "$rc" 2 "two specs"
echo "ok: hog"
