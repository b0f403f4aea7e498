#!/usr/bin/env bash
# e2e: `ostel report --db` through the real binary. The fixture runs (tests/data/runs) imported with
# `ostel db import` report exactly as their directories do (md, csv, json, html); a real tiny study
# under a background memory load (`ostel study --scenario none,mem:128M`) reports the same from its
# ostel.db as from its runs/, selected by study name or id and by tag, with each run's time series
# in the HTML page; a database and directories combine; $OSTEL_DB is read only when nothing else
# names what to report on (or with --study/--tag); a missing, foreign or corrupt database is one
# error naming the file, exit 1, nothing written.
source "$OSTEL_SRC_DIR/tests/e2e/lib.sh"

RUNS="$SRC/tests/data/runs"
db="$TMP/fixtures.db"
"$OSTEL" db import -q "$RUNS"/study-metal/* "$RUNS/cpu-paging" --db "$db" >/dev/null ||
    fail "import of the fixtures"

# 1. the database's report is the directories' report, in every format
for fmt in md csv json html; do
    "$OSTEL" report --db "$db" --format "$fmt" >"$TMP/db.$fmt" 2>"$TMP/err" ||
        fail "report --db --format $fmt: $(cat "$TMP/err")"
    "$OSTEL" report "$RUNS/study-metal" "$RUNS/cpu-paging" --format "$fmt" >"$TMP/dir.$fmt" ||
        fail "report of the directories ($fmt)"
    cmp -s "$TMP/db.$fmt" "$TMP/dir.$fmt" ||
        fail "report --db differs from the directories' ($fmt): diff $TMP/db.$fmt $TMP/dir.$fmt"
done
assert_grep '^9 runs in 3 groups (1 failed); baseline' "$TMP/db.md"
assert_grep 'said: <script>alert(1)</script>' "$TMP/db.md" # the failed run's log tail, from its dir

# 1b. a served study's page from the database draws its runs as the directories' does: the same
# series and the same per-level timeline (level starts and ends from each run's first sample: they
# were left absolute from the database), only the GPU series absent (the database keeps none)
SERVE="$RUNS/cuda-h100/serve-study"
sv="$TMP/serve.db"
"$OSTEL" db import -q "$SERVE"/*/ --db "$sv" >/dev/null || fail "import of the served study"
"$OSTEL" report --db "$sv" -o "$TMP/sv-db.html" 2>"$TMP/err" || fail "served study from the db: $(cat "$TMP/err")"
"$OSTEL" report "$SERVE" -o "$TMP/sv-dir.html" 2>"$TMP/err" || fail "served study from its directories"
if grep -q 'id="ostel-data"' "$TMP/sv-dir.html"; then
    python3 - "$TMP/sv-db.html" "$TMP/sv-dir.html" <<'PY' || fail "the served study's page differs from the database"
import json, re, sys
def data(path):
    html = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="ostel-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))
db, d = data(sys.argv[1]), data(sys.argv[2])
assert len(d["charted"]) == 4 and all(len(r["levels"]) == 3 for r in d["charted"]), d["charted"]
assert all(0 <= l["start"] < l["end"] < 3600 for r in db["charted"] for l in r["levels"]), \
    [r["levels"] for r in db["charted"]]
for r in d["charted"]:
    r.pop("gpu", None)
assert db == d, "the pages' data differ"
PY
fi

# 2. selection, combination, OSTEL_DB
"$OSTEL" report --db "$db" --tag q8_0 >"$TMP/o" || fail "--tag"
assert_grep '^4 runs in 1 group (1 failed)\.' "$TMP/o"
"$OSTEL" report "$RUNS/cpu-paging" --db "$db" --tag q4_k_m >"$TMP/o" || fail "--db with a directory"
assert_grep '^5 runs in 2 groups; baseline: \*\*q4_k_m\*\*' "$TMP/o"
OSTEL_DB="$db" "$OSTEL" report "$RUNS/cpu-paging" >"$TMP/o" || fail "OSTEL_DB with a directory"
assert_grep '^1 run in 1 group\.' "$TMP/o" # a directory named: $OSTEL_DB is not read
OSTEL_DB="$db" "$OSTEL" report >"$TMP/o" || fail "OSTEL_DB alone"
assert_grep '^9 runs in 3 groups' "$TMP/o"
OSTEL_DB="$db" "$OSTEL" report "$RUNS/cpu-paging" --tag cpu-32k >"$TMP/o" || fail "OSTEL_DB + --tag"
assert_grep '^2 runs in 1 group\.' "$TMP/o"
OSTEL_DB="$TMP/none.db" "$OSTEL" report --db "$db" --tag cpu-32k >"$TMP/o" || fail "--db over OSTEL_DB"

# 3. errors: one line naming the file, exit 1 (2 for usage), no output file
expect_error() { # CODE WANT ARGS...
    local code=$1 want=$2 rc=0
    shift 2
    "$OSTEL" report "$@" -o "$TMP/out.md" >"$TMP/o" 2>"$TMP/e" || rc=$?
    assert_eq "$rc" "$code" "exit status of report $*"
    assert_grep "$want" "$TMP/e"
    assert_eq "$(wc -l <"$TMP/e")" 1 "error lines of report $*"
    [ ! -e "$TMP/out.md" ] || fail "report $* wrote its output file"
}
expect_error 1 "error: $TMP/missing.db: no such database file" --db "$TMP/missing.db"
[ ! -e "$TMP/missing.db" ] || fail "a missing database was created"
printf 'this is not a database, only some text that is long enough to look like one\n' >"$TMP/junk.db"
expect_error 1 "error: $TMP/junk.db: file is not a database" --db "$TMP/junk.db"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' \
    "$TMP/foreign.db"
expect_error 1 "error: $TMP/foreign.db: not an ostel database" --db "$TMP/foreign.db"
expect_error 1 "error: $db: no study 'nope' (it holds no study)" --db "$db" --study nope
expect_error 1 "error: $db: no stored run with tag 'nope'" --db "$db" --tag nope
expect_error 2 "choose among a database's runs: give --db FILE" --study 1
head -c 4096 "$db" >"$TMP/cut.db"
rc=0; "$OSTEL" report --db "$TMP/cut.db" >/dev/null 2>"$TMP/e" || rc=$?
assert_eq "$rc" 1 "exit status for a truncated database"
assert_grep "$TMP/cut.db" "$TMP/e"

# 4. a real study under a background memory load, reported from its database
model="$TMP/tiny-q8.gguf"
"$OSTEL" synth tiny-llama --type q8_0 -o "$model" >/dev/null || fail "synth"
llama_tool llama-completion >/dev/null
"$OSTEL" study -q -m "$model" -t tiny -c 512 -n 8 -r 2 --scenario none,mem:128M --no-warmup \
    --cooldown 0.1s --interval 50ms --name e2e-scn --dir "$TMP/st" >/dev/null 2>"$TMP/e" ||
    fail "study: $(cat "$TMP/e")"
sdb="$TMP/st/ostel.db"
for sel in "--study e2e-scn" "--study 1" "--tag tiny" ""; do
    # shellcheck disable=SC2086
    "$OSTEL" report --db "$sdb" $sel --group-by scenario >"$TMP/db.md" 2>"$TMP/e" ||
        fail "report --db $sel: $(cat "$TMP/e")"
    "$OSTEL" report "$TMP/st/runs" --group-by scenario >"$TMP/dir.md" || fail "report of runs/"
    cmp -s "$TMP/db.md" "$TMP/dir.md" || fail "study report from the database ($sel) differs"
done
assert_grep '^4 runs in 2 groups; baseline' "$TMP/db.md"
assert_grep '^| mem:128M |' "$TMP/db.md"
# the same runs given twice (the database and their directories; a directory named twice) count once
"$OSTEL" report --db "$sdb" "$TMP/st/runs" --group-by scenario >"$TMP/both.md" 2>"$TMP/e" ||
    fail "report --db plus the same runs' directories: $(cat "$TMP/e")"
cmp -s "$TMP/both.md" "$TMP/db.md" || fail "runs in the database and as directories counted twice"
assert_grep '^ostel: warning: 4 runs were given twice' "$TMP/e"
"$OSTEL" report "$TMP/st/runs" "$TMP/st/runs" --group-by scenario >"$TMP/both.md" 2>/dev/null ||
    fail "a directory named twice"
cmp -s "$TMP/both.md" "$TMP/dir.md" || fail "a directory named twice counted twice"
# the HTML page carries each run's samples from the database (the charts' data)
rm -rf "$TMP/st/runs" # the database alone
"$OSTEL" report --db "$sdb" -o "$TMP/st.html" 2>"$TMP/e" || fail "html from the db: $(cat "$TMP/e")"
if grep -q 'id="ostel-data"' "$TMP/st.html"; then
    python3 - "$TMP/st.html" "$sdb" <<'PY' || fail "time series missing from the HTML report"
import json, re, sqlite3, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="ostel-data">(.*?)</script>', html, re.S)
data = json.loads(m.group(1))
runs = data["charted"]  # 4 runs, under the chart limit: all drawn, every sample kept up to the
# 240 a run's series keeps when the page loads it (OSTEL_REPORT_HTML_LOAD_POINTS: a loaded machine
# makes runs of more samples)
con = sqlite3.connect(sys.argv[2])
want = {r: n for r, n in con.execute("SELECT run_id, count(*) FROM samples GROUP BY run_id")}
assert len(runs) == 4 == len(want) == len(data["runs"]["name"]), (len(runs), want)
got = sorted(len(r["series"]["t"]) for r in runs)
assert got == sorted(min(n, 240) for n in want.values()) and min(got) >= 2, (got, want)
PY
else
    note "this ostel has no uPlot: the page has no chart data to check"
fi
echo "ok"
