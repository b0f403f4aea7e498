#!/usr/bin/env bash
# End to end: `ostel serve` on the real pinned llama-server with a tiny synthesized model — a
# two-level concurrency run (one requests.csv row per request, consistent timings, tokens counted =
# usage = the asked length, the prompt cache defeated, also over 200 requests), a server on a URL,
# a model the server cannot load, an argument it refuses, --port after -- refused, the server
# killed mid-level, and Ctrl-C; no llama-server is ever left behind.
. "$(dirname "$0")/lib.sh"

model=$(tiny_model tiny-llama F16)
export OSTEL_LLAMA_BIN=$(dirname "$(llama_tool llama-server)")

# no_server_left DIR: no llama-server of this test's model still runs. Called once `ostel serve` has
# exited: it ends the server's process group and reaps the server before it exits, so nothing is
# waited for — a server still there now was left behind, however slow the machine.
# The servers this test starts carry a mark of its own (an --alias), so that a llama-server of the
# same model started by another test running beside this one does not count.
SRV_ARGS=(-t 1 --alias "e2e-serve-$$")
no_server_left() {
    if pgrep -f "llama-server -m $model .*--alias e2e-serve-$$" >/dev/null; then
        pgrep -af "llama-server -m $model .*--alias e2e-serve-$$" >&2
        fail "a llama-server was left behind ($1)"
    fi
}

# check_requests DIR LEVELS PER_LEVEL OUT: the consistency of requests.csv
check_requests() {
    python3 - "$@" <<'EOF' || fail "requests.csv of $1 is inconsistent"
import csv, sys
d, levels, per, out = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
rows = list(csv.DictReader(open(d + "/requests.csv")))
assert len(rows) == len(levels) * per, (len(rows), len(levels) * per)
ids = [r["req_id"] for r in rows]
assert len(set(ids)) == len(ids), "request ids repeat"
for lv in levels:
    n = sum(1 for r in rows if r["level"] == lv)
    assert n == per, (lv, n, per)
for r in rows:
    assert r["ok"] == "1", r
    s, f, e, q = (float(r[k]) for k in ("send_ts", "first_ts", "end_ts", "sched_ts"))
    assert q <= s <= f <= e, r
    assert int(r["chunks"]) == int(r["completion_tokens"]) == int(r["output_tokens_asked"]) == out, r
    assert int(r["prompt_tokens"]) == int(r["prompt_tokens_asked"]), r
    if r["warmup"] == "0":
        # the prompt cache is defeated: at most one token (a BOS) reused for a measured request
        assert r["cache_n"] != "" and float(r["cache_n"]) <= 1, r
    # the client's TTFT is never below the server's own prompt time
    assert float(r["ttft_send_ms"]) >= float(r["prompt_ms"]), r
print("ok", len(rows))
EOF
}

# 1. a two-level concurrency run, its prompts pinned (--prompt-nonce)
"$OSTEL" serve -m "$model" -c 2048 --parallel 2 --concurrency 1,2 --requests 6 --warmup 2 \
    --prompt-tokens 48 --output-tokens 12 --prompt-nonce 1 --interval 50ms -q -o "$TMP/two" \
    -- "${SRV_ARGS[@]}" ||
    fail "ostel serve failed"
for f in requests.csv server_metrics.csv metrics.csv config.txt summary.json llama_output.log; do
    assert_file "$TMP/two/$f"
done
check_requests "$TMP/two" c1,c2 8 12
assert_eq "$(json "$TMP/two/summary.json" 'j["run"]["status"]')" ok "run status"
assert_eq "$(json "$TMP/two/summary.json" 'j["run"]["tool"]')" llama-server
assert_eq "$(json "$TMP/two/summary.json" 'len(j["serve"]["levels"])')" 2 "levels"
assert_eq "$(json "$TMP/two/summary.json" '[l["completed"] for l in j["serve"]["levels"]]')" "[6, 6]"
assert_eq "$(json "$TMP/two/summary.json" '[l["value"] for l in j["serve"]["levels"]]')" "[1, 2]"
assert_eq "$(json "$TMP/two/summary.json" 'j["serve"]["levels"][1]["ttft_ms"]["n"]')" 6

# 1b. more requests than the built-in text has distinct tokens (about 150): every prompt still
# unique, the prompt cache defeated for every one of them, each prompt of the asked length. Every
# request completes: an ostel synth model's byte tokens <0x80>…<0xFF>, which made llama-server's
# output parser end 2 of 200 requests before --utf8-only, are banned (docs/serve.md)
"$OSTEL" serve -m "$model" -c 1024 --parallel 2 --concurrency 2 --requests 200 --warmup 0 \
    --prompt-tokens 6 --output-tokens 1 -q -o "$TMP/many" -- "${SRV_ARGS[@]}" || fail "the 200-request run failed"
python3 - "$TMP/many" <<'EOF' || fail "the prompt cache was not defeated over 200 requests"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/requests.csv")))
assert len(rows) == 200, len(rows)
ok = [r for r in rows if r["ok"] == "1"]
assert len(ok) == 200, [r["error"] for r in rows if r["ok"] != "1"][:3]
for r in ok:
    assert r["cache_n"] != "" and float(r["cache_n"]) <= 1, r
    assert int(r["prompt_tokens"]) == int(r["prompt_tokens_asked"]) == 6, r
    assert int(r["completion_tokens"]) == 1, r
EOF
assert_eq "$(json "$TMP/two/summary.json" 'j["serve"]["levels"][1]["itl_pooled_ms"]["n"]')" 66
assert_eq "$(json "$TMP/two/summary.json" 'j["serve"]["levels"][0]["ttft_below_server_prompt"]')" 0
assert_eq "$(json "$TMP/two/summary.json" 'j["serve"]["levels"][0]["usage_chunk_mismatches"]')" 0
assert_eq "$(json "$TMP/two/summary.json" 'all(l["ttft_ms"]["p50"] <= l["e2e_ms"]["p50"] for l in j["serve"]["levels"])')" True
assert_eq "$(json "$TMP/two/summary.json" 'j["serve"]["error"]')" null
assert_eq "$(json "$TMP/two/summary.json" '[j["serve"]["utf8_only"], j["serve"]["banned_tokens"]]')" \
    "[True, 128]" "the tiny llama's byte tokens <0x80>…<0xFF> banned"
assert_grep '^serve_levels=1,2$' "$TMP/two/config.txt"
assert_grep '^status=ok$' "$TMP/two/config.txt"
head -1 "$TMP/two/metrics.csv" | grep -q ',level$' || fail "metrics.csv has no level column"
grep -q ',c1$' "$TMP/two/metrics.csv" || fail "no metrics.csv row labelled c1"
grep -q ',c2$' "$TMP/two/metrics.csv" || fail "no metrics.csv row labelled c2"
grep -q '"llamacpp:requests_processing"' "$TMP/two/server_metrics.csv" ||
    fail "server_metrics.csv has no llamacpp:requests_processing"
# the server's process tree was sampled: its RSS is far above ostel's own
python3 - "$TMP/two/metrics.csv" <<'EOF' || fail "metrics.csv does not show the server"
import csv, sys
rss = [float(r["rss_mb"]) for r in csv.DictReader(open(sys.argv[1])) if r["rss_mb"]]
assert rss and max(rss) > 30, max(rss or [0])
EOF
no_server_left two

# 2. reusing prompts on purpose: the cache shows
"$OSTEL" serve -m "$model" -c 2048 --parallel 1 --requests 4 --warmup 1 --reuse-prompts \
    --prompt-tokens 48 --output-tokens 4 -q -o "$TMP/reuse" || fail "the reuse run failed"
python3 - "$TMP/reuse/requests.csv" <<'EOF' || fail "a reused prompt was not served from the cache"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["warmup"] == "0"]
assert rows and all(float(r["cache_n"]) > 1 for r in rows), [r["cache_n"] for r in rows]
EOF
no_server_left reuse

# 3. a server that is already running, on a URL, its process watched with --pid
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(llama_tool llama-server)" -m "$model" --host 127.0.0.1 --port "$port" -c 1024 -np 1 --metrics \
    >"$TMP/url-server.log" 2>&1 &
spid=$!
"$OSTEL" serve --url "http://127.0.0.1:$port/" --pid "$spid" --rate 20 --arrivals constant \
    --prompt-nonce 1 \
    --requests 5 --warmup 1 --prompt-tokens 16 --output-tokens 4 -q -o "$TMP/url" ||
    fail "the --url run failed"
kill "$spid"; wait "$spid" 2>/dev/null || true
assert_eq "$(json "$TMP/url/summary.json" 'j["serve"]["levels"][0]["kind"]')" rate
assert_eq "$(json "$TMP/url/summary.json" 'j["serve"]["levels"][0]["completed"]')" 5
assert_eq "$(json "$TMP/url/summary.json" 'j["run"]["watched_pid"]')" "$spid"
assert_grep "^serve_url=http://127.0.0.1:$port\$" "$TMP/url/config.txt"
# --url's own lines, in their order (docs/run-directory.md), then the load's, then the status
assert_eq "$(cut -d= -f1 "$TMP/url/config.txt" | tr '\n' ' ')" "tag tool model ctx gen \
ostel_command ostel_version interval_ms watched_pid serve_url serve_mode serve_levels \
serve_prompt_tokens serve_output_tokens serve_requests serve_warmup serve_duration_s serve_seed \
serve_unique_prompts serve_parallel serve_utf8_only serve_banned_tokens status "
assert_grep '^tool=llama-server$' "$TMP/url/config.txt"
assert_grep '^model=$' "$TMP/url/config.txt"
assert_grep "^watched_pid=$spid\$" "$TMP/url/config.txt"
check_requests "$TMP/url" r20 6 4
[ -f "$TMP/url/llama_output.log" ] && fail "--url made a llama_output.log of a server it did not start"

# 4. a model the server cannot load: one clear error, the log kept
printf 'not a gguf file\n' >"$TMP/bad.gguf"
rc=0
"$OSTEL" serve -m "$TMP/bad.gguf" -q -o "$TMP/bad" 2>"$TMP/bad.err" || rc=$?
assert_eq "$rc" 1 "exit status when the server cannot start"
assert_grep "did not become ready" "$TMP/bad.err"
assert_file "$TMP/bad/llama_output.log"
assert_eq "$(json "$TMP/bad/summary.json" 'j["run"]["status"]')" failed
no_server_left bad

# 4b. an argument llama-server refuses, passed after --: the same — one error, the log kept and
# naming the argument
rc=0
"$OSTEL" serve -m "$model" -q -o "$TMP/badarg" -- --no-such-flag 2>"$TMP/badarg.err" || rc=$?
assert_eq "$rc" 1 "exit status when llama-server refuses an argument"
assert_eq "$(grep -c '^ostel: error:' "$TMP/badarg.err")" 1 "error lines"
assert_grep "did not become ready" "$TMP/badarg.err"
assert_grep "no-such-flag" "$TMP/badarg/llama_output.log"
assert_eq "$(json "$TMP/badarg/summary.json" 'j["run"]["status"]')" failed
assert_grep '^status=failed$' "$TMP/badarg/config.txt"
no_server_left badarg
# --port or --host after -- would move the server away from where ostel waits: refused at once
for extra in "--port 8080" "--host=0.0.0.0"; do
    rc=0
    # shellcheck disable=SC2086
    "$OSTEL" serve -m "$model" -q -o "$TMP/port" -- "${SRV_ARGS[@]}" $extra 2>"$TMP/port.err" || rc=$?
    assert_eq "$rc" 2 "exit status of '$extra' after --"
    assert_grep "after --: ostel starts llama-server on 127.0.0.1" "$TMP/port.err"
    [ ! -e "$TMP/port" ] || fail "a refused command made a run directory"
done

# completed_rows N FILE: FILE has N completed requests at least
completed_rows() {
    local n
    n=$(grep -c ',1,$' "$2" 2>/dev/null) || true # no file yet: no row
    [ "${n:-0}" -ge "$1" ]
}

# 5. the server killed mid-level: the requests it was serving are recorded as failed
"$OSTEL" serve -m "$model" -c 4096 --parallel 2 --concurrency 2 --requests 400 --warmup 0 \
    --prompt-tokens 16 --output-tokens 200 --max-error-rate 1 -q -o "$TMP/killed" -- "${SRV_ARGS[@]}" &
opid=$!
# three completed rows (a completed row ends ",1," — ok, no error): rows are written as requests
# end
wait_for "$opid" completed_rows 3 "$TMP/killed/requests.csv"
server=$(pgrep -P "$opid" llama-server) || fail "no llama-server child of ostel"
kill -KILL "$server"
rc=0; wait "$opid" || rc=$?
assert_eq "$rc" 1 "exit status after the server was killed"
assert_eq "$(json "$TMP/killed/summary.json" 'j["run"]["status"]')" killed
assert_eq "$(json "$TMP/killed/summary.json" 'j["run"]["signal"]')" SIGKILL
python3 - "$TMP/killed/requests.csv" <<'EOF' || fail "the killed level's requests are not recorded"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = [r for r in rows if r["ok"] == "1"]
bad = [r for r in rows if r["ok"] == "0"]
assert len(ok) >= 3 and bad, (len(ok), len(bad))
assert all(r["error"] for r in bad), bad
EOF
assert_eq "$(json "$TMP/killed/summary.json" 'j["serve"]["levels"][0]["failed"] >= 1')" True
assert_eq "$(json "$TMP/killed/summary.json" 'j["serve"]["levels"][0]["stopped_early"]')" server_exited
assert_eq "$(json "$TMP/killed/summary.json" 'j["serve"]["server_exited"]')" True
json "$TMP/killed/summary.json" 'j["serve"]["error"]' | grep -q "ended during the load" ||
    fail "summary.json does not say the server ended"
no_server_left killed

# 6. Ctrl-C: what was measured is kept, the server stopped, exit 130
"$OSTEL" serve -m "$model" -c 4096 --parallel 2 --concurrency 2 --requests 400 --warmup 0 \
    --prompt-tokens 16 --output-tokens 200 -q -o "$TMP/int" -- "${SRV_ARGS[@]}" &
opid=$!
# three completed rows (a completed row ends ",1," — ok, no error): rows are written as requests
# end
wait_for "$opid" completed_rows 3 "$TMP/int/requests.csv"
kill -INT "$opid"
rc=0; wait "$opid" || rc=$?
assert_eq "$rc" 130 "exit status after SIGINT"
assert_eq "$(json "$TMP/int/summary.json" 'j["run"]["status"]')" interrupted
assert_eq "$(json "$TMP/int/summary.json" 'j["serve"]["interrupted"]')" True
assert_eq "$(json "$TMP/int/summary.json" 'j["serve"]["levels"][0]["stopped_early"]')" interrupted
python3 - "$TMP/int/requests.csv" <<'EOF' || fail "the interrupted run lost its requests"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert sum(r["ok"] == "1" for r in rows) >= 3, len(rows)
assert all(r["ok"] == "1" or r["error"] for r in rows)
EOF
no_server_left int

# 7. the store: one requests row per request, one serve_levels row per level
"$OSTEL" db import "$TMP/two" "$TMP/url" "$TMP/killed" --db "$TMP/s.db" >/dev/null ||
    fail "db import of serve runs failed"
assert_eq "$(sqlite3 "$TMP/s.db" 'SELECT count(*) FROM requests r JOIN runs u ON u.id = r.run_id WHERE u.tag = "serve"')" \
    "$(( 16 + 6 + $(($(wc -l <"$TMP/killed/requests.csv") - 1)) ))" "requests rows"
assert_eq "$(sqlite3 "$TMP/s.db" 'SELECT group_concat(name || ":" || completed) FROM (SELECT name, completed FROM serve_levels ORDER BY run_id, seq)')" \
    "c1:6,c2:6,r20:5,$(json "$TMP/killed/summary.json" 'j["serve"]["levels"][0]["name"]'):$(json "$TMP/killed/summary.json" 'j["serve"]["levels"][0]["completed"]')"
assert_eq "$(sqlite3 "$TMP/s.db" 'SELECT count(*) FROM requests WHERE ok = 1 AND (first_ts < send_ts OR end_ts < first_ts)')" 0
assert_eq "$(sqlite3 "$TMP/s.db" 'SELECT count(*) FROM requests WHERE ok = 0 AND (error IS NULL OR error = "")')" 0

# 8. the report: a serving section from the directory and the same from the database
"$OSTEL" report "$TMP/two" >"$TMP/two.md" || fail "report of a serve run failed"
grep -q '^## Serving: latency and throughput per level' "$TMP/two.md" || fail "no serving table"
grep -q '^| two | c1 | conc. 1 | 6 / 0 |' "$TMP/two.md" || fail "no c1 row in the serving table"
grep -q '^| two | c2 | conc. 2 | 6 / 0 |' "$TMP/two.md" || fail "no c2 row in the serving table"
grep -q '^## Serving: the machine per level' "$TMP/two.md" || fail "no serving telemetry table"
"$OSTEL" report --db "$TMP/s.db" --tag serve >"$TMP/db.md" || fail "report from the database failed"
grep -q '^| url | r20 | rate 20/s | 5 / 0 |' "$TMP/db.md" || fail "no r20 row in the database's report"
"$OSTEL" report "$TMP/two" -o "$TMP/two.html" || fail "html report failed"
grep -q 'Serving: latency and throughput per level' "$TMP/two.html" || fail "no serving table in html"
assert_eq "$(json "$TMP/two/summary.json" 'all(l["telemetry"]["samples"] >= 0 for l in j["serve"]["levels"])')" True

# 9. usage errors: nothing started
rc=0; "$OSTEL" serve --url ftp://x -q 2>/dev/null || rc=$?; assert_eq "$rc" 2 "bad URL"
rc=0; "$OSTEL" serve -m "$model" --concurrency 0 -q 2>/dev/null || rc=$?; assert_eq "$rc" 2 "concurrency 0"
rc=0; "$OSTEL" serve -m "$model" --slo ttft=fast -q 2>/dev/null || rc=$?; assert_eq "$rc" 2 "bad SLO"
rc=0; "$OSTEL" serve -q 2>/dev/null || rc=$?; assert_eq "$rc" 2 "neither a model nor a URL"
note "serve: all checks passed"
