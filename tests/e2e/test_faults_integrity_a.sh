#!/usr/bin/env bash
# End to end, issue 10 (part a): faults and hostile input that must end in one clear error line, the
# right exit code and nothing left behind —
#   1. kill -9 of `ostel run` / `ostel study` leaves no child and no hog running (PR_SET_PDEATHSIG)
#   2. a study tag like ../../../../X stays inside the study directory
#   3. study INI: duplicate keys (both lines named), ';' inside a value kept, a too-long line
#   4. inspect/fit on a FIFO and other non-regular files refuse at once (no hang)
#   5. a too-long --out path errors before creating anything, with its reason
#   6. `ostel db info` and `report --db` open read-only: no -wal/-shm (on a read-only mount:
#      test_faults_readonly.sh)
# (A real memory-limited cgroup, oom_killed only for our child: test_cgroup_oom.sh.)
. "$(dirname "$0")/lib.sh"

# ---- 1a. kill -9 of ostel run: the child goes with it. The child sleeps for ever, so only the
# kernel's PR_SET_PDEATHSIG can end it; lib.sh's wait_gone has no time bound (a child that outlives
# ostel hangs the test until ctest's TIMEOUT), so no machine is too slow for it.
"$OSTEL" run -q -t sleeper --out "$TMP/k1" -- /bin/sleep infinity &
opid=$!
child=
sleeper_started() { child=$(pgrep -P "$opid" -x sleep || true); [ -n "$child" ]; }
wait_for "$opid" sleeper_started
kill -KILL "$opid"
wait "$opid" 2>/dev/null || true
wait_gone "$child" "the child of a killed ostel run"
note "kill -9 of ostel run: its child $child ended too"

# one_error FILE WANT → FILE holds exactly one line, and it contains WANT
one_error() {
    [ "$(wc -l <"$1")" -eq 1 ] || fail "expected one error line, got: $(cat "$1")"
    assert_grep "$2" "$1"
}
# nothing_new DIR → DIR holds nothing but what `ls` listed in $TMP/before
snapshot() { (cd "$1" && find . | sort) >"$TMP/before"; }
nothing_new() {
    (cd "$1" && find . | sort) >"$TMP/after"
    diff "$TMP/before" "$TMP/after" >/dev/null || fail "left behind: $(diff "$TMP/before" "$TMP/after")"
}

# ---- 3. study INI: values are whole lines, duplicates and long lines are errors (no model needed:
# the file is refused before anything runs)
mkdir -p "$TMP/ini"
snapshot "$TMP/ini"
printf '[study]\nmodels = x.gguf\nctx = 512\ngen = 8\nctx = 1024\n' >"$TMP/ini/dup.ini"
printf '[study]\nmodel = x.gguf\ntags = a\nmodels = y.gguf\n' >"$TMP/ini/alias.ini"
python3 -c "print('[study]\nprompt = ' + 'x' * 9000)" >"$TMP/ini/long.ini"
snapshot "$TMP/ini"
for case in "dup.ini:5: 'ctx' is given twice (lines 3 and 5)" \
    "alias.ini:4: 'models' is given twice (lines 2 and 4)" \
    "long.ini:2: the line is too long (9009 bytes; at most 8192)"; do
    f=${case%%:*}
    rc=0; (cd "$TMP/ini" && "$OSTEL" study "$f" >"$TMP/out" 2>"$TMP/err") || rc=$?
    assert_eq "$rc" 2 "exit status of a bad study file ($f)"
    one_error "$TMP/err" "$case"
    [ ! -s "$TMP/out" ] || fail "a refused study printed: $(cat "$TMP/out")"
done
nothing_new "$TMP/ini"
note "study INI: duplicates name both lines, a long line is too long, nothing created"

# ---- 4. inspect / fit refuse a FIFO (no writer: it must not hang), a directory, a device
mkfifo "$TMP/fifo"
for args in "inspect $TMP/fifo" "fit -m $TMP/fifo -c 512" "inspect $TMP" "inspect /dev/null"; do
    rc=0; timeout 60 "$OSTEL" $args >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" != 124 ] || fail "ostel $args hung"
    assert_eq "$rc" 1 "exit status of ostel $args"
    one_error "$TMP/err" "is not a regular file"
done
note "inspect/fit: a FIFO, a directory and a device are refused at once"

# ---- 5. a too-long --out path: one whole error line (its reason last), nothing created
mkdir -p "$TMP/long"
snapshot "$TMP/long"
long=$(python3 -c "print('/'.join(['d' * 200] * 21))")
rc=0; (cd "$TMP/long" && "$OSTEL" run -q --out "$long" -- /bin/true >"$TMP/out" 2>"$TMP/err") || rc=$?
assert_eq "$rc" 2 "exit status for a too-long --out"
one_error "$TMP/err" "the path is 4220 bytes long; at most"
nothing_new "$TMP/long"
# a path that fails half-way (a file where a directory should be): what was made is removed again
touch "$TMP/long/afile"
snapshot "$TMP/long"
rc=0; (cd "$TMP/long" && "$OSTEL" run -q --out n1/n2/../../afile/x -- /bin/true 2>"$TMP/err") || rc=$?
assert_eq "$rc" 2 "exit status for an --out below a file"
one_error "$TMP/err" "Not a directory"
nothing_new "$TMP/long"
note "a too-long or impossible --out path: one error line, nothing created"

# ---- 6. read-only opens create nothing beside the database (a read-only mount:
# test_faults_readonly.sh, which needs to mount one)
mkdir -p "$TMP/db"
"$OSTEL" db import --db "$TMP/db/a.db" "$SRC"/tests/data/store-runs/q4-ok >/dev/null ||
    fail "import of a fixture run failed"
[ ! -e "$TMP/db/a.db-wal" ] || fail "the importer left a -wal file"
snapshot "$TMP/db"
"$OSTEL" db info --db "$TMP/db/a.db" >"$TMP/out" || fail "db info failed"
assert_grep "runs ok" "$TMP/out"
"$OSTEL" report --db "$TMP/db/a.db" -o "$TMP/r.md" || fail "report --db failed"
nothing_new "$TMP/db"
note "db info and report --db: nothing created beside the database"

# ---- the parts that run llama.cpp on a tiny model
q8=$(tiny_model tiny-llama Q8_0)

# ---- 2. a hostile study tag stays inside the study directory
mkdir -p "$TMP/tag/a/b/c"
escape=$(cd "$TMP/tag/a/b/c" && realpath -m "st/runs/../../../../X")
rc=0; (cd "$TMP/tag/a/b/c" && "$OSTEL" study -q -m "$q8" -t '../../../../X' -c 512 -n 4 -r 1 \
    --no-warmup --cooldown 0.1s --dir st >/dev/null 2>"$TMP/err") || rc=$?
assert_eq "$rc" 0 "study with a hostile tag: $(cat "$TMP/err")"
[ ! -e "$escape" ] && [ -z "$(find "$TMP/tag" -maxdepth 4 -name '*X*' -not -path '*/st/*')" ] ||
    fail "a run directory escaped the study: $(find "$TMP/tag" -name '*X*')"
runs=$(find "$TMP/tag/a/b/c/st/runs" -mindepth 1 -maxdepth 1 -type d)
assert_eq "$(basename "$runs")" "001-_._.._.._.._X-none-c512-n4-r1" "the run directory's name"
assert_eq "$(grep '^tag=' "$runs/config.txt")" "tag=../../../../X" "the tag itself is kept as given"
note "tag ../../../../X: run directory $(basename "$runs") inside the study"

# ---- 1b. kill -9 of a study during a mem: scenario: the hog and llama.cpp go with it
"$OSTEL" study -q -m "$q8" -t q8 -c 4096 -n 3000 -r 1 --no-warmup --scenario mem:128M \
    --dir "$TMP/ks" >/dev/null 2>&1 &
spid=$!
hog=
llama=
# hog_ready / llama_running: set $hog and $llama once the study's hog has said it is ready and
# llama-completion runs as the study's child (pgrep -x sees only 15 characters of a name); lib.sh's
# wait_for fails at once when the study ends first
hog_ready() {
    hog=$(sed -n 's/^pid=//p' "$TMP"/ks/.scenario-*.ready 2>/dev/null | head -1 || true)
    [ -n "$hog" ]
}
llama_running() {
    local p
    for p in $(pgrep -P "$spid" || true); do
        case "$(readlink "/proc/$p/exe" 2>/dev/null)" in */llama-completion) llama=$p ;; esac
    done
    [ -n "$llama" ]
}
wait_for "$spid" hog_ready
wait_for "$spid" llama_running
kill -KILL "$spid"
wait "$spid" 2>/dev/null || true
wait_gone "$hog" "the hog of a killed study"
wait_gone "$llama" "llama-completion of a killed study"
note "kill -9 of a study during mem:128M: hog $hog and llama-completion $llama ended too"
