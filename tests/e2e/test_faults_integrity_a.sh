#!/usr/bin/env bash
# End to end, issue 10 (part a): faults and hostile input that must end in one clear error line, the
# right exit code and nothing left behind —
#   1. kill -9 of `ostel run` / `ostel study` leaves no child and no hog running (PR_SET_PDEATHSIG)
#   2. a study tag like ../../../../X stays inside the study directory
#   3. study INI: duplicate keys (both lines named), ';' inside a value kept, a too-long line
#   4. inspect/fit on a FIFO and other non-regular files refuse at once (no hang)
#   5. a too-long --out path errors before creating anything, with its reason
#   6. `ostel db info` and `report --db` open read-only: no -wal/-shm, work on a read-only file
#   7. a real memory-limited cgroup: oom_killed only for our child (skipped where none can be made)
. "$(dirname "$0")/lib.sh"

# gone PID WHAT → waits until PID no longer exists. The 60 s are a hang guard, not a measurement:
# the kernel ends it at once, but tearing down a sanitizer build's mappings takes a moment.
gone() {
    local i=0
    while kill -0 "$1" 2>/dev/null; do
        [ $i -lt 1200 ] || { kill -KILL "$1" 2>/dev/null; fail "$2 (pid $1) outlived ostel"; }
        sleep 0.05; i=$((i + 1))
    done
}

# ---- 1a. kill -9 of ostel run: the child goes with it
"$OSTEL" run -q -t sleeper --out "$TMP/k1" -- /bin/sleep 60 &
opid=$!
child=
while [ -z "$child" ]; do child=$(pgrep -P "$opid" -x sleep || true); sleep 0.05; done
kill -KILL "$opid"
wait "$opid" 2>/dev/null || true
gone "$child" "the child of a killed ostel run"
note "kill -9 of ostel run: its child $child ended too"
