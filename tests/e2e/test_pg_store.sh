#!/usr/bin/env bash
# label: pg
# e2e: the PostgreSQL store against a real server this test starts (tests/e2e/pglib.sh). The fixture
# runs imported into PostgreSQL report exactly as from SQLite (md, csv, json, html) and export the
# same rows (phase_summaries' columns SQLite's); importing again adds nothing; four writers from
# four simulated machines, each also racing the others on one shared set, store every run once; an
# importer killed with SIGKILL in the middle of its COPY leaves nothing of its run, and importing
# again stores it whole; a wrong password and an unreachable server are one error line each, exit
# 1, the password never printed.
source "$OSTEL_SRC_DIR/tests/e2e/lib.sh"
source "$OSTEL_SRC_DIR/tests/e2e/pglib.sh"
pg_start
RUNS="$SRC/tests/data/runs"
FIX=("$RUNS"/study-metal/* "$RUNS/cpu-paging")

# 1. round trip: the same report and the same rows as SQLite
"$OSTEL" db import -q "${FIX[@]}" --db "$PG_URL" >"$TMP/out" 2>"$TMP/err" || fail "import: $(cat "$TMP/err")"
"$OSTEL" db import -q "${FIX[@]}" --db "$TMP/a.db" >/dev/null || fail "sqlite import"
for fmt in md csv json html; do
    "$OSTEL" report --db "$PG_URL" --format "$fmt" >"$TMP/pg.$fmt" 2>"$TMP/err" ||
        fail "report --db postgresql ($fmt): $(cat "$TMP/err")"
    "$OSTEL" report --db "$TMP/a.db" --format "$fmt" >"$TMP/sq.$fmt" || fail "report sqlite ($fmt)"
    cmp -s "$TMP/pg.$fmt" "$TMP/sq.$fmt" || fail "PostgreSQL report differs ($fmt): diff $TMP/pg.$fmt $TMP/sq.$fmt"
done
assert_grep '^9 runs in 3 groups (1 failed)' "$TMP/pg.md"
for t in samples phase_summaries memory_breakdown scenarios machines; do
    "$OSTEL" db export --table "$t" --format json --db "$PG_URL" >"$TMP/pg.json" || fail "export $t"
    "$OSTEL" db export --table "$t" --format json --db "$TMP/a.db" >"$TMP/sq.json" || fail "export $t sqlite"
    cmp -s "$TMP/pg.json" "$TMP/sq.json" || fail "export $t differs: diff $TMP/pg.json $TMP/sq.json"
done
# phase_summaries: SQLite's columns (test_store holds them to rundir_phase_stats.h's table) in their
# order, REAL as double precision and INTEGER as bigint
cols=$(python3 - "$TMP/a.db" <<'PY'
import sqlite3, sys
pg = {"REAL": "double precision", "INTEGER": "bigint", "TEXT": "text"}
c = sqlite3.connect(sys.argv[1])
print(",".join(f"{r[1]} {pg[r[2]]}" for r in c.execute("PRAGMA table_info('phase_summaries')")))
PY
)
assert_eq "$(pg_sql "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position)
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'phase_summaries'")" \
    "$cols" "PostgreSQL's phase_summaries columns"
# runs: the same rows but for when they were imported
"$OSTEL" db export --table runs --format json --db "$PG_URL" >"$TMP/pg.json" || fail "export runs"
"$OSTEL" db export --table runs --format json --db "$TMP/a.db" >"$TMP/sq.json" || fail "export runs sqlite"
python3 - "$TMP/pg.json" "$TMP/sq.json" <<'PY' || fail "export runs differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in a + b:
    r.pop("imported_at")
sys.exit(0 if a == b and len(a) == 9 else 1)
PY
"$OSTEL" db checkout 3 "$TMP/co-pg" --db "$PG_URL" >/dev/null || fail "checkout from PostgreSQL"
"$OSTEL" db checkout 3 "$TMP/co-sq" --db "$TMP/a.db" >/dev/null || fail "checkout from SQLite"
diff -r "$TMP/co-pg" "$TMP/co-sq" >/dev/null || fail "checked-out runs differ"
"$OSTEL" db info --db "$PG_URL" >"$TMP/info" || fail "info"
grep -Eq '^samples +452$' "$TMP/info" || fail "info: $(cat "$TMP/info")"
grep -q 'postgresql://ostel:\*\*\*@' "$TMP/info" || fail "info does not show the redacted URL"
# the machine table: where each run was made
assert_eq "$(pg_sql "SELECT count(*) FROM machines WHERE kernel IS NOT NULL OR os IS NOT NULL")" 2 "machines"
assert_eq "$(pg_sql "SELECT count(*) FROM runs WHERE machine_id IS NULL")" 0 "runs without a machine"

# 2. importing twice adds nothing
"$OSTEL" db import "${FIX[@]}" --db "$PG_URL" >"$TMP/out" 2>&1 || fail "re-import"
assert_grep '^0 imported, 9 already present, 0 failed' "$TMP/out"
assert_eq "$(pg_sql 'SELECT count(*) FROM samples')" 452 "samples after re-import"

# 3. four machines at once, each racing the others on the shared set (cpu-paging under new keys)
for m in 1 2 3 4; do
    for d in "$RUNS"/study-metal/*; do
        mkdir -p "$TMP/m$m/$(basename "$d")"
        cp "$d"/* "$TMP/m$m/$(basename "$d")/"
        sed -i "s/\"hostname\": \"studio\"/\"hostname\": \"node-$m\"/" "$TMP/m$m/$(basename "$d")/summary.json"
    done
done
mkdir -p "$TMP/shared/x"
cp "$RUNS/cpu-paging"/* "$TMP/shared/x/"
sed -i 's/"hostname": "[^"]*"/"hostname": "shared-node"/' "$TMP/shared/x/summary.json"
pids=()
for m in 1 2 3 4; do
    "$OSTEL" db import -q "$TMP/shared/x" "$TMP/m$m"/* "$TMP/shared/x" --db "$PG_URL" \
        >"$TMP/w$m.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent writer failed: $(cat "$TMP"/w*.out)"; done
assert_eq "$(pg_sql 'SELECT count(*) FROM runs')" $((9 + 4 * 8 + 1)) "runs after 4 writers"
assert_eq "$(pg_sql "SELECT count(DISTINCT hostname) FROM machines")" 7 "machines after 4 writers"
assert_eq "$(pg_sql "SELECT count(*) FROM runs r JOIN machines m ON m.id = r.machine_id WHERE m.hostname = 'node-3'")" 8 "node-3 runs"
n_all=$(pg_sql 'SELECT count(*) FROM samples')
"$OSTEL" db import -q "$TMP/shared/x" "$TMP"/m*/* --db "$TMP/a.db" >/dev/null || fail "sqlite import of the same"
"$OSTEL" db info --db "$TMP/a.db" | grep -Eq "^samples +$n_all\$" ||
    fail "samples: PostgreSQL $n_all, SQLite $("$OSTEL" db info --db "$TMP/a.db" | grep samples)"
assert_eq "$(pg_sql 'SELECT count(*) FROM runs r WHERE samples <> (SELECT count(*) FROM samples s WHERE s.run_id = r.id)')" 0 "runs with missing samples"

# 4. a writer killed in the middle of its COPY: nothing of that run; a second import stores it whole
big="$TMP/big/run"
mkdir -p "$big"
cp "$RUNS/study-metal/q4km-1"/* "$big/"
sed -i 's/"hostname": "studio"/"hostname": "big-node"/' "$big/summary.json"
python3 - "$big/metrics.csv" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
head, rows = lines[0], lines[1:]
out = [head]
t0 = float(rows[0].split(',')[0])
for i in range(400000):
    cells = rows[i % len(rows)].split(',')
    cells[0] = '%.3f' % (t0 + i * 0.01)
    out.append(','.join(cells))
open(p, 'w').write('\n'.join(out) + '\n')
PY
runs_before=$(pg_sql 'SELECT count(*) FROM runs')
samples_before=$(pg_sql 'SELECT count(*) FROM samples')
"$OSTEL" db import -q "$big" --db "$PG_URL" >/dev/null 2>&1 &
imp=$!
copying() { [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY stage_samples%' AND state = 'active'")" != 0 ]; }
wait_for "$imp" copying # fails if the importer ended before its COPY was seen
kill -KILL "$imp"
wait "$imp" 2>/dev/null || true
# the server notices the dead client and rolls its transaction back
# (no time bound of its own: ctest's TIMEOUT ends a server that never notices)
until [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ostel'")" = 0 ]; do
    sleep 0.05
done
assert_eq "$(pg_sql 'SELECT count(*) FROM runs')" "$runs_before" "runs after a killed COPY"
assert_eq "$(pg_sql 'SELECT count(*) FROM samples')" "$samples_before" "samples after a killed COPY"
"$OSTEL" db import "$big" --db "$PG_URL" >"$TMP/out" 2>&1 || fail "import after the kill: $(cat "$TMP/out")"
assert_grep '^1 imported, 0 already present, 0 failed' "$TMP/out"
assert_eq "$(pg_sql "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id JOIN machines m ON m.id = r.machine_id WHERE m.hostname = 'big-node'")" 400000 "the big run's samples"

# 5. a wrong password, an unreachable server: one clear line, exit 1, no secret
bad="postgresql://ostel:WrongSecret-42@/ostel?host=$PG_DIR&port=$PG_PORT"
if "$OSTEL" db info --db "$bad" >"$TMP/out" 2>"$TMP/err"; then fail "a wrong password was accepted"; fi
assert_eq "$(wc -l <"$TMP/err")" 1 "one error line (wrong password)"
assert_grep 'password authentication failed' "$TMP/err"
! grep -q 'WrongSecret' "$TMP/err" "$TMP/out" || fail "the password was printed: $(cat "$TMP/err")"
gone="postgresql://ostel:$PG_PASS@/ostel?host=$PG_DIR&port=$((PG_PORT + 1))"
for cmd in "db info" "db import $RUNS/cpu-paging" "report"; do
    # shellcheck disable=SC2086
    if "$OSTEL" $cmd --db "$gone" >"$TMP/out" 2>"$TMP/err"; then fail "$cmd: an unreachable server worked"; fi
    assert_eq "$(wc -l <"$TMP/err")" 1 "one error line ($cmd, unreachable)"
    assert_grep 'cannot connect to database postgresql://ostel:\*\*\*@' "$TMP/err"
    ! grep -q "$PG_PASS" "$TMP/err" "$TMP/out" || fail "$cmd: the password was printed: $(cat "$TMP/err")"
done
OSTEL_DB="$gone" "$OSTEL" db info >"$TMP/out" 2>"$TMP/err" && fail "OSTEL_DB unreachable worked"
! grep -q "$PG_PASS" "$TMP/err" || fail "OSTEL_DB: the password was printed"
true
