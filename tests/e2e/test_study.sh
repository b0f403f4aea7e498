#!/usr/bin/env bash
# End to end: `ostel study` on tiny models — 2 models × 2 scenarios (none, a memory hog) × 2
# repetitions, checked in the database and the report; resume after SIGINT and after SIGKILL (every
# run stored exactly once); a malformed study file (file:line); two studies writing one database at
# the same time (integrity_check ok).
. "$(dirname "$0")/lib.sh"

q8=$(tiny_model tiny-llama Q8_0)
q4=$(tiny_model tiny-llama Q4_K_M)
command -v sqlite3 >/dev/null || fail "sqlite3 (the CLI) is needed: scripts/setup.sh --tests"
q() { sqlite3 -batch -noheader "$1" "$2"; }

# 1. the whole study
"$OSTEL" study -q -m "$q8,$q4" -t q8,q4 -c 1024 -n 24 -r 2 --scenario none,mem:256M \
    --cooldown 0.1s --dir "$TMP/s1" >"$TMP/out" || fail "study failed"
assert_eq "$(cat "$TMP/out")" "$TMP/s1/report.html" "the study prints its report's path"
db="$TMP/s1/ostel.db"
assert_eq "$(q "$db" 'select count(*) from runs')" 8 "runs stored"
assert_eq "$(q "$db" 'select count(distinct spec_hash) from runs')" 8 "distinct specs"
assert_eq "$(q "$db" "select count(*) from runs where status='ok'")" 8 "ok runs"
assert_eq "$(q "$db" 'select count(*) from studies')" 1
assert_eq "$(q "$db" "select group_concat(n) from (select count(*) n from runs group by tag, scenario order by tag, scenario)")" "2,2,2,2" "runs per group"
assert_eq "$(q "$db" 'select min(gen_tokens) from runs')" 23 "llama.cpp's eval runs (n-1)"
[ "$(q "$db" 'select count(*) from samples')" -ge 16 ] || fail "samples were not stored"
for d in "$TMP"/s1/runs/*mem_256M*; do
    assert_file "$d/scenario_metrics.csv"
    held=$(json "$d/scenario.json" 'j["held_mib_at_start"]')
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9*256 else 1)" "$held" ||
        fail "the hog held $held MiB of 256 MiB in $d"
done
for f in report.md report.html report.json study.ini; do assert_file "$TMP/s1/$f"; done
assert_grep "q8 · none" "$TMP/s1/report.md"
assert_grep "q4 · mem:256M" "$TMP/s1/report.md"
[ "$(ls "$TMP/s1/warmup")" = "$(printf 'q4\nq8')" ] || fail "one warm-up run per model"

# 2. re-running the finished study does nothing new
"$OSTEL" study -q -m "$q8,$q4" -t q8,q4 -c 1024 -n 24 -r 2 --scenario none,mem:256M \
    --cooldown 0.1s --dir "$TMP/s1" >/dev/null || fail "re-run failed"
assert_eq "$(q "$db" 'select count(*) from runs')" 8 "a re-run added runs"

# 3. resume after SIGINT and after SIGKILL: each run ends up stored exactly once
# Each run generates 3000 tokens (about a second even on a fast machine), so the signal lands while a
# run is in progress: after at least one more run is stored and the next one has started.
STUDY=(-m "$q8,$q4" -t q8,q4 -c 4096 -n 3000 -r 3 --no-warmup --cooldown 0.1s --dir "$TMP/s2")
stored() { q "$TMP/s2/ostel.db" 'select count(*) from runs' 2>/dev/null || echo 0; }
started() { find "$TMP/s2/runs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }
for sig in INT KILL; do
    "$OSTEL" study -q "${STUDY[@]}" >/dev/null 2>&1 &
    spid=$!
    have=$(stored)
    one_more_and_running() { [ "$(stored)" -gt "$have" ] && [ "$(started)" -gt "$(stored)" ]; }
    wait_for "$spid" one_more_and_running
    kill -"$sig" "$spid"
    rc=0; wait "$spid" || rc=$?
    [ "$sig" = INT ] && assert_eq "$rc" 130 "exit status of an interrupted study"
done
"$OSTEL" study -q "${STUDY[@]}" >/dev/null || fail "the resumed study failed"
assert_eq "$(q "$TMP/s2/ostel.db" 'select count(*) from runs')" 6 "runs after resuming"
assert_eq "$(q "$TMP/s2/ostel.db" 'select count(distinct spec_hash) from runs')" 6 "each run once"
assert_eq "$(q "$TMP/s2/ostel.db" "select count(*) from runs where status != 'ok'")" 0
[ ! -e "$TMP/s2/.active" ] || fail "the leftover-process record was not cleared"

# 4. a malformed study file: file:line
printf '[study]\nmodels = %s\nctx = 4096\nrepetitions = many\n' "$q8" >"$TMP/bad.ini"
rc=0; "$OSTEL" study "$TMP/bad.ini" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "exit status for a bad study file"
assert_grep "bad.ini:4: repetitions: 'many' is not a number" "$TMP/err"
printf '[study]\nmodels = %s\n[other]\nx = 1\n' "$q8" >"$TMP/bad2.ini"
rc=0; "$OSTEL" study "$TMP/bad2.ini" 2>"$TMP/err" || rc=$?
assert_grep "bad2.ini:4: unknown section \[other\]" "$TMP/err"
printf '[study]\nmodels = %s\nno equals sign here\n' "$q8" >"$TMP/bad3.ini"
rc=0; "$OSTEL" study "$TMP/bad3.ini" 2>"$TMP/err" || rc=$?
assert_grep "bad3.ini:3:" "$TMP/err"
rc=0; "$OSTEL" study -m "$q8" --scenario mem:9999G --dir "$TMP/s4" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1
assert_grep "mem:9999G asks 9999.0 GiB but only" "$TMP/err"

# 5. two studies at once into one database
cat >"$TMP/a.ini" <<INI
[study]
name = a
models = $q8
ctx = 512
gen = 16
repetitions = 3
warmup = false
cooldown = 0.1s
dir = $TMP/sa
db = $TMP/shared.db
INI
sed -e 's/^name = a/name = b/' -e "s|^dir = .*|dir = $TMP/sb|" -e "s|^models = .*|models = $q4|" \
    "$TMP/a.ini" >"$TMP/b.ini"
"$OSTEL" study -q "$TMP/a.ini" >/dev/null & pa=$!
"$OSTEL" study -q "$TMP/b.ini" >/dev/null & pb=$!
wait "$pa" || fail "study a failed"
wait "$pb" || fail "study b failed"
assert_eq "$(q "$TMP/shared.db" 'pragma integrity_check')" ok
assert_eq "$(q "$TMP/shared.db" 'select count(*) from runs')" 6
assert_eq "$(q "$TMP/shared.db" 'select count(*) from studies')" 2
echo "ok: ostel study end to end"
