#!/usr/bin/env bash
# label: pg
# e2e: a study spread over two "machines" writing one PostgreSQL database (a server this test
# starts): shard 0 by --shard 0/2, shard 1 from a Slurm array's variables; together they hold every
# run exactly once, each shard with its own warm-ups; `ostel report --study` says which shard is
# missing until it ran, and groups by host; a shard index out of range, a changed N and a second
# matrix under the same name are refused; the same matrix under another name (the database from
# OSTEL_DB) runs all its runs; a shard finished with fewer runs stored than planned is reported;
# two matrices started under one name at the same moment: exactly one runs; the server stopped in the middle of a study fails that
# study cleanly, keeps the run directory, and a re-run stores it; no password lands in any file.
source "$OSTEL_SRC_DIR/tests/e2e/lib.sh"
source "$OSTEL_SRC_DIR/tests/e2e/pglib.sh"
pg_start
q8=$(tiny_model tiny-llama Q8_0)
q4=$(tiny_model tiny-llama Q4_K_M)
study=(study -q -m "$q8,$q4" -t q8,q4 -c 1024 -n 16 -r 2 --cooldown 0.1s --name fleet1 --db "$PG_URL")

# 1. shard 0 of 2; the report says shard 1 is missing
"$OSTEL" "${study[@]}" --shard 0/2 --dir "$TMP/m0" >"$TMP/out" 2>"$TMP/err" || fail "shard 0: $(cat "$TMP/err")"
n0=$(ls "$TMP/m0/runs" | wc -l)
[ "$n0" -ge 1 ] && [ "$n0" -le 3 ] || fail "shard 0 ran $n0 of 4 runs"
"$OSTEL" report --db "$PG_URL" --study fleet1 >"$TMP/r.md" 2>"$TMP/err" || fail "report: $(cat "$TMP/err")"
assert_grep 'study fleet1: shard 1 of 2 never started' "$TMP/err"

# 2. shard 1 from a Slurm array --array=1-2 (task 2 is the second shard)
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 \
    "$OSTEL" "${study[@]}" --dir "$TMP/m1" >"$TMP/out" 2>"$TMP/err" || fail "shard 1: $(cat "$TMP/err")"
n1=$(ls "$TMP/m1/runs" | wc -l)
assert_eq "$((n0 + n1))" 4 "runs over both shards"
[ -z "$(comm -12 <(ls "$TMP/m0/runs") <(ls "$TMP/m1/runs"))" ] || fail "a run in both shards"
assert_eq "$(pg_sql "SELECT count(*) FROM runs r JOIN studies s ON s.id = r.study_id WHERE s.name = 'fleet1'")" 4 "runs in the database"
assert_eq "$(pg_sql "SELECT count(DISTINCT spec_hash) FROM runs")" 4 "each run once"
assert_eq "$(pg_sql "SELECT count(*) FROM study_shards WHERE finished_at IS NOT NULL AND done = planned")" 2 "finished shards"
assert_eq "$(pg_sql "SELECT sum(done) FROM study_shards")" 4 "shards' done = runs stored"
# a shard that finished with a run missing from the database (as after a spawn failure): warned
pg_sql "UPDATE study_shards SET done = done - 1 WHERE shard = 1" >/dev/null
"$OSTEL" report --db "$PG_URL" --study fleet1 >"$TMP/r.md" 2>"$TMP/err" || fail "report of an incomplete shard"
assert_grep "study fleet1: .*1 ($(hostname), $((n1 - 1)) of $n1 runs)" "$TMP/err"
pg_sql "UPDATE study_shards SET done = done + 1 WHERE shard = 1" >/dev/null
# warm-ups per shard: each shard warms up the models it runs, only those
for m in m0 m1; do
    for w in $(ls "$TMP/$m/warmup"); do
        ls "$TMP/$m/runs" | grep -q -- "-$w-" || fail "$m warmed up $w but runs none of it"
    done
done
"$OSTEL" report --db "$PG_URL" --study fleet1 --group-by host,tag >"$TMP/r.md" 2>"$TMP/err" || fail "report --group-by host,tag"
[ ! -s "$TMP/err" ] || fail "a complete study still warns: $(cat "$TMP/err")"
assert_grep "^4 runs in 2 groups" "$TMP/r.md"
assert_grep "$(hostname) · q8" "$TMP/r.md"
# a Kubernetes Indexed Job pod for shard 1 again: everything is stored already
JOB_COMPLETION_INDEX=1 "$OSTEL" "${study[@]}" --shards 2 --dir "$TMP/m1" >/dev/null 2>"$TMP/err" || fail "k8s re-run: $(cat "$TMP/err")"
assert_eq "$(pg_sql "SELECT count(*) FROM runs")" 4 "a re-run added runs"

# 3. refused: an index out of range, another N, another matrix under the same name
set +e
"$OSTEL" "${study[@]}" --shard 2/2 --dir "$TMP/x" 2>"$TMP/err"; rc=$?
set -e
assert_eq "$rc" 2 "--shard 2/2"
assert_grep 'outside 0..1' "$TMP/err"
JOB_COMPLETION_INDEX=5 "$OSTEL" "${study[@]}" --shards 2 --dir "$TMP/x" 2>"$TMP/err" && fail "index 5 of 2 accepted"
assert_grep 'outside 0..1' "$TMP/err"
"$OSTEL" "${study[@]}" --shard 0/3 --dir "$TMP/x" 2>"$TMP/err" && fail "N changed between shards"
assert_grep 'started as 2 shards, not 3' "$TMP/err"
"$OSTEL" study -q -m "$q8,$q4" -t q8,q4 -c 1024 -n 8 -r 2 --name fleet1 --db "$PG_URL" --shard 0/2 \
    --dir "$TMP/x" 2>"$TMP/err" && fail "a second matrix under the same name"
assert_grep "study 'fleet1' is already in postgresql://ostel:\*\*\*@" "$TMP/err"
assert_grep '+ gen = 8' "$TMP/err"
assert_eq "$(pg_sql "SELECT count(*) FROM studies")" 1 "a refused study was recorded"

# 3b. the same matrix under another name is another study: it runs all its runs (resume looks at
#     the study's own runs, not at every run of the same spec in the database); the database comes
#     from OSTEL_DB alone (as in the Kubernetes manifest), for the study and the report
OSTEL_DB="$PG_URL" "$OSTEL" study -q -m "$q8,$q4" -t q8,q4 -c 1024 -n 16 -r 2 --cooldown 0.1s --name fleet1b \
    --dir "$TMP/b" >/dev/null 2>"$TMP/err" || fail "fleet1b: $(cat "$TMP/err")"
assert_eq "$(ls "$TMP/b/runs" | wc -l)" 4 "runs of a second study with the same matrix"
assert_eq "$(pg_sql "SELECT count(*) FROM runs r JOIN studies s ON s.id = r.study_id WHERE s.name = 'fleet1b'")" 4 "fleet1b runs in the database"
[ ! -e "$TMP/b/ostel.db" ] || fail "OSTEL_DB was ignored: a SQLite file was made"
OSTEL_DB="$PG_URL" "$OSTEL" report --study fleet1b >"$TMP/r.md" 2>"$TMP/err" || fail "report from OSTEL_DB: $(cat "$TMP/err")"
assert_grep "^4 runs in 2 groups" "$TMP/r.md"
# run again: all four are the study's own now, nothing is run
OSTEL_DB="$PG_URL" "$OSTEL" study -m "$q8,$q4" -t q8,q4 -c 1024 -n 16 -r 2 --cooldown 0.1s --name fleet1b \
    --dir "$TMP/b" >/dev/null 2>"$TMP/err" || fail "fleet1b again: $(cat "$TMP/err")"
assert_grep '4 of 4 runs are already in' "$TMP/err"
assert_eq "$(ls "$TMP/b/runs" | wc -l)" 4 "runs after resuming a complete study"

# 4. the server stops in the middle of a study: that study fails cleanly, the run is kept, a
#    re-run stores it
s2=(study -q -m "$q8" -t q8 -c 4096 -n 1500 -r 5 --no-warmup --cooldown 0.1s --name fleet2 --db "$PG_URL" --dir "$TMP/s2")
"$OSTEL" "${s2[@]}" >"$TMP/out" 2>"$TMP/err" &
pid=$!
stored_one() { [ "$(pg_sql "SELECT count(*) FROM runs r JOIN studies s ON s.id = r.study_id WHERE s.name = 'fleet2'" 2>/dev/null || echo 0)" -ge 1 ]; }
wait_for "$pid" stored_one
pg_ctl_as -m fast stop >/dev/null || fail "pg_ctl stop"
set +e
wait "$pid"; rc=$?
set -e
note "server gone: $(cat "$TMP/err")"
assert_eq "$rc" 1 "the study's exit status with the server gone"
grep -q 'ostel: error: postgresql://ostel:\*\*\*@' "$TMP/err" || fail "no clear database error: $(cat "$TMP/err")"
! grep -q "$PG_PASS" "$TMP/err" || fail "the password was printed"
kept=$(ls "$TMP/s2/runs" | wc -l)
[ "$kept" -ge 2 ] || fail "the unstored run's directory was not kept ($kept)"
pg_ctl_as -o "-k $PG_DIR -p $PG_PORT -c listen_addresses= -c fsync=off" -l "$PG_DIR/server.log" -w start >/dev/null ||
    fail "pg_ctl start again"
"$OSTEL" "${s2[@]}" >"$TMP/out" 2>"$TMP/err" || fail "re-run after the server came back: $(cat "$TMP/err")"
assert_eq "$(pg_sql "SELECT count(*) FROM runs r JOIN studies s ON s.id = r.study_id WHERE s.name = 'fleet2'")" 5 "fleet2 runs"
assert_eq "$(pg_sql "SELECT count(DISTINCT run_key) FROM runs")" 13 "every run once"

# 4b. two machines start one study name at the same moment with different matrices: the name's
#     check and the insert are one transaction under an advisory lock on the name, so exactly one
#     starts (without the lock both passed the check when their checks came before either insert)
s3=(study -q -m "$q8" -t q8 -c 1024 -r 2 --no-warmup --cooldown 0.1s --name fleet3 --db "$PG_URL")
"$OSTEL" "${s3[@]}" -n 4 --dir "$TMP/c1" >/dev/null 2>"$TMP/c1.err" &
p1=$!
"$OSTEL" "${s3[@]}" -n 8 --dir "$TMP/c2" >/dev/null 2>"$TMP/c2.err" &
p2=$!
set +e
wait "$p1"; rc1=$?
wait "$p2"; rc2=$?
set -e
[ $(((rc1 == 0) + (rc2 == 0))) -eq 1 ] ||
    fail "two matrices under one name at once: exit statuses $rc1 and $rc2 ($(cat "$TMP/c1.err" "$TMP/c2.err"))"
grep -q "study 'fleet3' is already in .* with another matrix" "$TMP/c1.err" "$TMP/c2.err" ||
    fail "no refusal: $(cat "$TMP/c1.err" "$TMP/c2.err")"
assert_eq "$(pg_sql "SELECT count(*) FROM studies WHERE name = 'fleet3'")" 1 "studies named fleet3"

# 5. no password anywhere in what the studies wrote
! grep -rq -- "$PG_PASS" "$TMP/m0" "$TMP/m1" "$TMP/b" "$TMP/s2" "$TMP/c1" "$TMP/c2" || fail "the password is in a file: $(grep -rl -- "$PG_PASS" "$TMP")"
true
