#!/usr/bin/env bash
# e2e: `ostel db` on the fixture run directories (tests/data/store-runs): import, idempotent
# re-import, a corrupt run refused with the file named and nothing written, export, info, checkout,
# $OSTEL_DB, options after positionals, two imports at once into one database.
set -u
OSTEL=${OSTEL_BIN:?OSTEL_BIN not set}
SRC=${OSTEL_SRC_DIR:?OSTEL_SRC_DIR not set}
runs="$SRC/tests/data/store-runs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db="$tmp/a.db"

"$OSTEL" db import "$runs/q4-ok" "$runs/q4-failed" "$runs/q8-hog" --db "$db" >"$tmp/o" ||
    fail "import: $(cat "$tmp/o")"
grep -q '^3 imported, 0 already present, 0 failed' "$tmp/o" || fail "import output: $(cat "$tmp/o")"
OSTEL_DB="$db" "$OSTEL" db import "$runs/q4-ok" "$runs/q8-hog" >"$tmp/o" || fail "re-import"
grep -q '^0 imported, 2 already present, 0 failed' "$tmp/o" || fail "re-import: $(cat "$tmp/o")"

"$OSTEL" db info --db "$db" >"$tmp/info" || fail "info"
grep -Eq '^schema_version +([0-9]+) \(this ostel: \1\)' "$tmp/info" || fail "info: $(cat "$tmp/info")"
grep -Eq '^runs +3$' "$tmp/info" || fail "info runs: $(cat "$tmp/info")"
grep -Eq '^samples +13$' "$tmp/info" || fail "info samples: $(cat "$tmp/info")"
grep -Eq '^journal_mode +wal$' "$tmp/info" || fail "not WAL: $(cat "$tmp/info")"

# corrupt: a bad cell in metrics.csv -> exit 1, one error naming the file, nothing written
mkdir "$tmp/bad"
cp "$runs/q4-ok/"* "$tmp/bad/"
sed -i 's/^1764136800.100,/1764136900.100,/; s/^1764136800.500,403.9/1764136800.500,4o3.9/' \
    "$tmp/bad/metrics.csv"
sed -i 's/"start_ts": 1764136800.05/"start_ts": 1764136700.05/' "$tmp/bad/summary.json"
"$OSTEL" db import "$tmp/bad" --db "$db" >"$tmp/o" 2>"$tmp/e"; rc=$?
[ $rc -eq 1 ] || fail "corrupt import exit $rc"
grep -q "error: '$tmp/bad/metrics.csv': line 6: column rss_mb is not a number: '4o3.9'" "$tmp/e" ||
    fail "corrupt message: $(cat "$tmp/e")"
"$OSTEL" db info --db "$db" | grep -Eq '^runs +3$' || fail "corrupt run left rows"
"$OSTEL" db info --db "$db" | grep -Eq '^samples +13$' || fail "corrupt run left samples"

# the corrupt run among others (db import reads directories ahead on other threads): refused with
# the same message, in order with a missing one, the runs around it imported
"$OSTEL" db import "$runs/q4-ok" "$tmp/bad" "$runs/q8-hog" "$tmp/nope" "$runs/q4-failed" \
    --db "$tmp/mixed.db" >"$tmp/o" 2>"$tmp/e"; rc=$?
[ $rc -eq 1 ] || fail "mixed import exit $rc"
[ "$(grep -c '^imported ' "$tmp/o")" -eq 3 ] || fail "mixed import output: $(cat "$tmp/o")"
sed -n 1p "$tmp/e" | grep -q "error: '$tmp/bad/metrics.csv': line 6: column rss_mb is not a number: '4o3.9'" &&
    sed -n 2p "$tmp/e" | grep -q "error: '$tmp/nope' is not a directory" ||
    fail "mixed import errors: $(cat "$tmp/e")"
grep -q '^3 imported, 0 already present, 2 failed' "$tmp/e" || fail "mixed import: $(cat "$tmp/e")"
"$OSTEL" db info --db "$tmp/mixed.db" | grep -Eq '^samples +13$' || fail "mixed import samples"

# export
"$OSTEL" db export --db "$db" >"$tmp/runs.csv" || fail "export csv"
[ "$(wc -l <"$tmp/runs.csv")" -eq 4 ] || fail "runs.csv lines: $(wc -l <"$tmp/runs.csv")"
head -1 "$tmp/runs.csv" | grep -q '^id,run_key,' || fail "runs.csv header"
"$OSTEL" db export --db "$db" --format json --table samples >"$tmp/s.json" || fail "export json"
[ "$(grep -o '"seq":' "$tmp/s.json" | wc -l)" -eq 13 ] || fail "samples JSON rows"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 13' "$tmp/s.json" ||
        fail "samples JSON is not valid JSON"
fi
"$OSTEL" db export --db "$db" --table nope 2>/dev/null; [ $? -eq 2 ] || fail "bad table not usage"
"$OSTEL" db export --db "$tmp/missing.db" 2>/dev/null; [ $? -eq 1 ] || fail "missing db not 1"
[ ! -e "$tmp/missing.db" ] || fail "export created a database"

# checkout: the run directory comes back and imports as the same run
"$OSTEL" db checkout 1 "$tmp/co" --db "$db" >/dev/null || fail "checkout"
cmp -s "$tmp/co/summary.json" "$runs/q4-ok/summary.json" || fail "checkout summary differs"
"$OSTEL" db import "$tmp/co" --db "$db" | grep -q '^already in' || fail "checkout is a new run"

# two processes importing the same runs at once
for i in $(seq -w 1 10); do
    mkdir "$tmp/r$i"; cp "$runs/q4-ok/"* "$tmp/r$i/"
    sed -i "s/\"start_ts\": 1764136800.05/\"start_ts\": 17641000$i.05/" "$tmp/r$i/summary.json"
done
"$OSTEL" db import "$tmp"/r[0-9]* --db "$tmp/c.db" -q & p1=$!
"$OSTEL" db import "$tmp"/r[0-9]* --db "$tmp/c.db" -q & p2=$!
wait $p1 || fail "concurrent import 1"
wait $p2 || fail "concurrent import 2"
"$OSTEL" db info --db "$tmp/c.db" | grep -Eq '^runs +10$' || fail "concurrent: $("$OSTEL" db info --db "$tmp/c.db")"
"$OSTEL" db info --db "$tmp/c.db" | grep -Eq '^samples +80$' || fail "concurrent samples"

"$OSTEL" db frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown subcommand not usage"
"$OSTEL" db import --db "$db" 2>/dev/null; [ $? -eq 2 ] || fail "import without dirs not usage"
echo PASS

# samples go in 32 rows per statement, the last ones one by one: every row lands once, in order,
# with its values, whatever the count (a batch's edges: 1, 31, 32, 33, 65 and a whole run)
full="$SRC/tests/data/runs/real-tiny/q8-3"
for n in 1 31 32 33 65 125; do
    d="$tmp/rows-$n"
    mkdir "$d"
    cp "$full/"* "$d/"
    head -n $((n + 1)) "$full/metrics.csv" >"$d/metrics.csv"
    "$OSTEL" db import "$d" --db "$tmp/rows-$n.db" >"$tmp/o" 2>&1 || fail "import of $n rows: $(cat "$tmp/o")"
    python3 - "$tmp/rows-$n.db" "$d/metrics.csv" "$n" <<'PY' || fail "$n rows stored wrong"
import csv, sqlite3, sys
db, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = list(csv.DictReader(open(path)))
got = sqlite3.connect(db).execute("select seq, ts, rss_mb, phase from samples order by seq").fetchall()
assert len(got) == n == len(rows), (len(got), n, len(rows))
for i, (g, r) in enumerate(zip(got, rows)):
    assert g[0] == i, (g, i)
    assert abs(g[1] - float(r["ts"])) < 1e-6 and abs(g[2] - float(r["rss_mb"])) < 1e-9, (g, r)
    assert (g[3] or "") == r["phase"], (g, r)
PY
done
echo "ok: db"
