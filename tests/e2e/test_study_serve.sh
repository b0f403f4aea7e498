#!/usr/bin/env bash
# End to end: a serving study (`ostel study --serve`) on the real pinned llama-server — two tiny
# models × 2 repetitions under a short closed-loop load (concurrency 1,2), every cell one serve run
# directory stored with its requests and levels; the study killed mid-cell (SIGINT, then SIGKILL) and
# resumed: no cell lost or stored twice, no llama-server left behind; the report's serving section
# has both models. Then a study file with a [serve] section: an open-loop load beside a memory hog;
# bad serving studies refused; a server that cannot start stored as a failed cell.
. "$(dirname "$0")/lib.sh"

q8=$(tiny_model tiny-llama Q8_0)
q4=$(tiny_model tiny-llama Q4_K_M)
export OSTEL_LLAMA_BIN=$(dirname "$(llama_tool llama-server)")
command -v sqlite3 >/dev/null || fail "sqlite3 (the CLI) is needed: scripts/setup.sh --tests"
q() { sqlite3 -batch -noheader "$1" "$2"; }

# no_server_left: no llama-server of this test's models still runs. Called once the study has
# exited: it reaps each cell's server before it goes on, so nothing is waited for here (a server of
# a killed study is waited for by its pid, below).
# (the servers this test starts carry an --alias of its own, so that one of the same models started
# by another test running beside this one does not count; the failing server of part 4 exits at
# once)
no_server_left() {
    if pgrep -f "llama-server -m ($q8|$q4) .*--alias e2e-study-serve-$$" >/dev/null; then
        pgrep -af "llama-server -m ($q8|$q4) .*--alias e2e-study-serve-$$" >&2
        fail "a llama-server was left behind ($1)"
    fi
}

# 1. two models × 2 repetitions, killed twice mid-load and resumed. Each cell's load (2 levels of
# 4 measured requests and 1 warm-up, 48 tokens each) takes about a second even on a fast machine,
# so the signal lands in a cell's load: after at least one more cell is stored and a cell not
# stored has written a request (its directory then holds requests.csv, which the resume removes).
STUDY=(--serve -m "$q8,$q4" -t q8,q4 -c 1024 -r 2 --concurrency 1,2 --requests 4
    --serve-warmup 1 --prompt-tokens 16 --output-tokens 48 --parallel 2 --interval 50ms
    --cooldown 0.1s --no-warmup --dir "$TMP/s" -- -t 1 --alias "e2e-study-serve-$$")
db="$TMP/s/ostel.db"
stored() { q "$db" 'select count(*) from runs' 2>/dev/null || echo 0; }
# cells whose requests.csv has a request: more than are stored while one is under load
loading() {
    local n=0 f
    for f in "$TMP"/s/runs/*/requests.csv; do
        [ -f "$f" ] && [ "$(wc -l <"$f")" -ge 2 ] && n=$((n + 1))
    done
    echo "$n"
}
killed_servers=
for sig in INT KILL; do
    "$OSTEL" study -q "${STUDY[@]}" >/dev/null 2>"$TMP/err.$sig" &
    spid=$!
    have=$(stored)
    one_more_and_loading() { [ "$(stored)" -gt "$have" ] && [ "$(loading)" -gt "$(stored)" ]; }
    wait_for "$spid" one_more_and_loading
    [ "$sig" = KILL ] && killed_servers=$(pgrep -P "$spid" llama-server || true)
    kill -"$sig" "$spid"
    rc=0; wait "$spid" || rc=$?
    [ "$sig" = INT ] && assert_eq "$rc" 130 "exit status of an interrupted serving study"
    [ "$sig" = KILL ] && assert_eq "$rc" 137 "exit status of a killed serving study"
done
[ "$(stored)" -ge 2 ] && [ "$(stored)" -lt 4 ] || fail "$(stored) cells stored before the resume"
[ "$(loading)" -gt "$(stored)" ] || fail "no cell was cut in its load"
"$OSTEL" study -q "${STUDY[@]}" >"$TMP/out" || fail "the resumed serving study failed"
assert_eq "$(cat "$TMP/out")" "$TMP/s/report.html" "the study prints its report's path"
# the killed study's server got SIGKILL from the kernel when the study died (PR_SET_PDEATHSIG): it
# ends, however long that takes here (one that outlives it hangs the test until ctest's TIMEOUT)
for p in $killed_servers; do wait_gone "$p" "the llama-server of the killed study"; done
no_server_left "after the resumed study"
assert_eq "$(q "$db" 'select count(*) from runs')" 4 "cells after resuming"
assert_eq "$(q "$db" 'select count(distinct spec_hash) from runs')" 4 "each cell once"
assert_eq "$(q "$db" "select count(*) from runs where status = 'ok' and tool = 'llama-server'")" 4
assert_eq "$(q "$db" "select group_concat(n) from (select count(*) n from runs group by tag order by tag)")" \
    "2,2" "cells per model"
assert_eq "$(ls "$TMP/s/runs" | wc -l)" 4 "run directories"
[ ! -e "$TMP/s/.active" ] || fail "the leftover-process record was not cleared"
# every cell's requests and levels: 2 levels × (4 measured + 1 warm-up), each row of a stored run
assert_eq "$(q "$db" 'select count(*) from requests')" 40 "requests stored"
assert_eq "$(q "$db" 'select count(*) from requests where warmup = 0')" 32 "measured requests"
assert_eq "$(q "$db" 'select count(distinct run_id) from requests')" 4
assert_eq "$(q "$db" 'select count(*) from requests where run_id not in (select id from runs)')" 0
assert_eq "$(q "$db" 'select count(*) from serve_levels')" 8 "levels stored"
assert_eq "$(q "$db" "select group_concat(distinct output_tokens_asked) from requests")" 48
[ "$(q "$db" 'select count(*) from requests where ok = 1')" -gt 20 ] || fail "too few requests ok"
[ "$(q "$db" 'select count(*) from samples')" -ge 8 ] || fail "samples were not stored"
b8= b4=
for d in "$TMP"/s/runs/*; do
    case "$d" in *-q8-none-c1024-serve-r[12] | *-q4-none-c1024-serve-r[12]) ;; *) fail "cell $d" ;; esac
    assert_eq "$(json "$d/summary.json" '[l["name"] for l in j["serve"]["levels"]]')" "['c1', 'c2']"
    assert_eq "$(json "$d/summary.json" 'j["run"]["tool"]')" llama-server
    grep -q '^serve_mode=concurrency$' "$d/config.txt" || fail "$d/config.txt has no serve_mode"
    grep -q '^spec_hash=' "$d/config.txt" || fail "$d/config.txt has no spec_hash"
    head -1 "$d/metrics.csv" | grep -q ',level' || fail "$d/metrics.csv has no level column"
    # an ostel synth model: every cell bans its non-UTF-8 tokens, the model's GGUF read once
    # for all of them (serve_study.c's models), each cell the same list
    banned=$(json "$d/summary.json" 'j["serve"]["banned_tokens"] if j["serve"]["utf8_only"] else 0')
    [ "$banned" -gt 0 ] || fail "$d bans no token"
    case "$d" in *-q8-*) b8="$b8 $banned" ;; *) b4="$b4 $banned" ;; esac
done
for b in "$b8" "$b4"; do
    read -r x y rest <<<"$b"
    [ -n "$y" ] && [ -z "$rest" ] && [ "$x" = "$y" ] || fail "cells of one model ban different tokens: $b"
done
# the study file says what was served
assert_grep '^\[serve\]$' "$TMP/s/study.ini"
assert_grep '^concurrency = 1,2$' "$TMP/s/study.ini"
grep -q '^gen' "$TMP/s/study.ini" && fail "a serving study's file has a gen key"
# the report's serving section, with both models' cells
for f in report.md report.html report.json; do assert_file "$TMP/s/$f"; done
# the serving sections' table rows (from a "## Serving" heading to the next other heading)
awk '/^## /{on = /^## Serving/} on && /^\| /' "$TMP/s/report.md" >"$TMP/serving.md"
assert_file "$TMP/serving.md"
assert_grep '^| q8\b' "$TMP/serving.md"
assert_grep '^| q4\b' "$TMP/serving.md"
# re-running the finished study serves nothing again
"$OSTEL" study -q "${STUDY[@]}" >/dev/null || fail "re-run failed"
assert_eq "$(q "$db" 'select count(*) from runs')" 4 "a re-run added cells"
# the study file written into the directory is the same study: nothing to do
"$OSTEL" study -q "$TMP/s/study.ini" --dir "$TMP/s" >/dev/null || fail "study.ini did not run"
assert_eq "$(q "$db" 'select count(*) from runs')" 4 "study.ini is another study"

# 2. a study file with a [serve] section: open loop beside a memory hog
cat >"$TMP/hog.ini" <<INI
[study]
models = $q4
ctx = 512
scenarios = mem:64M
repetitions = 1
warmup = true
cooldown = 0.1s
llama_args = -t 1 --alias e2e-study-serve-$$
[serve]
rate = 4
arrivals = constant
requests = 3
warmup = 0
prompt_tokens = 8
output_tokens = 4
INI
"$OSTEL" study -q "$TMP/hog.ini" --dir "$TMP/h" >/dev/null || fail "the [serve] study failed"
no_server_left "after the [serve] study"
d=$(echo "$TMP"/h/runs/001-*)
assert_eq "$(basename "$d")" "001-tiny-llama-Q4_K_M-mem_64M-c512-serve-r1"
assert_file "$d/requests.csv"
assert_file "$d/scenario_metrics.csv"
assert_eq "$(json "$d/summary.json" 'j["scenario"]["name"]')" mem:64M
held=$(json "$d/summary.json" 'j["scenario"]["held_mib_at_start"]')
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9*64 else 1)" "$held" ||
    fail "the hog held $held MiB of 64 MiB beside the server"
assert_eq "$(json "$d/summary.json" '[l["name"] for l in j["serve"]["levels"]]')" "['r4']"
assert_eq "$(q "$TMP/h/ostel.db" 'select count(*) from requests')" 3
assert_eq "$(q "$TMP/h/ostel.db" 'select count(*) from scenarios')" 1
assert_grep '^serve_mode=rate$' "$d/config.txt"
[ -d "$TMP/h/warmup/tiny-llama-Q4_K_M" ] || fail "no warm-up of the model"
# the cell after the warm-up bans the synth model's tokens as the warm-up did: what the warm-up
# decided from the model's GGUF, kept for the model's cells (serve_study.c)
assert_eq "$(json "$d/summary.json" 'j["serve"]["utf8_only"] and j["serve"]["banned_tokens"] > 0')" \
    True "the cell after the warm-up bans tokens"

# 3. bad serving studies: one clear line each, exit 2, nothing started
rc=0; "$OSTEL" study --serve -m "$q8" -n 16 --dir "$TMP/b" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2
assert_grep "gen is for llama.cpp runs" "$TMP/err"
rc=0; "$OSTEL" study -m "$q8" --concurrency 1,x --dir "$TMP/b" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2
assert_grep "serve_concurrency: '1,x' is not a list of whole numbers" "$TMP/err"
printf '[study]\nmodels = %s\n[serve]\nconcurrency = 2\nbogus = 1\n' "$q8" >"$TMP/bad.ini"
rc=0; "$OSTEL" study "$TMP/bad.ini" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2
assert_grep "bad.ini:5: unknown key 'bogus' in \[serve\]" "$TMP/err"
[ ! -e "$TMP/b" ] || fail "a refused study made its directory"

# 4. a server that cannot start (an argument it refuses): the cell is stored as failed with the
# reason and the study goes on
"$OSTEL" study -q --serve -m "$q4" -t q4 -r 1 --no-warmup --requests 1 --output-tokens 2 \
    --cooldown 0.1s --dir "$TMP/f" -- --no-such-flag >/dev/null 2>"$TMP/err" ||
    fail "a study with a failing server did not finish"
assert_eq "$(q "$TMP/f/ostel.db" 'select status from runs')" failed
d=$(echo "$TMP"/f/runs/001-*)
assert_grep '^status=failed$' "$d/config.txt"
assert_grep '^error=llama-server did not become ready' "$d/config.txt"
assert_eq "$(json "$d/summary.json" 'j["serve"]["error"].startswith("llama-server did not become ready")')" True
assert_file "$d/llama_output.log"
no_server_left "after the failing server"
echo "ok: ostel study --serve end to end"
