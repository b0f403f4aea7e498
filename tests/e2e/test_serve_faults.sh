#!/usr/bin/env bash
# End to end: `ostel serve --url` against bench/fake_sse_server when the server misbehaves — HTTP
# 500s, streams cut halfway (with --save-tokens: tokens.csv against the chunks counted), malformed
# JSON in a stream, a per-request --timeout, the server exiting
# mid-level, hostile text in an error — an open-loop rate sweep, and prompts unique over many
# requests and runs, and output files that cannot be written (a file-size limit, a full tmpfs):
# every request recorded, failed ones with their reason, the level's counts right, nothing
# measured lost, a failed write a failed run.
. "$(dirname "$0")/lib.sh"

FAKE=$(dirname "$OSTEL")/fake_sse_server
[ -x "$FAKE" ] || fail "fake_sse_server not built"

# start_fake ARGS...: a fake server on a free port; sets FPID and URL
start_fake() {
    rm -f "$TMP/port"
    "$FAKE" --port 0 --port-file "$TMP/port" "$@" 2>>"$TMP/fake.err" &
    FPID=$!
    wait_for "$FPID" test -s "$TMP/port" # (fails when the fake server ends first)
    URL="http://127.0.0.1:$(cat "$TMP/port")"
}
stop_fake() { kill "$FPID" 2>/dev/null || true; wait "$FPID" 2>/dev/null || true; }

# reasons DIR → "ok failed" and the reasons' counts, from requests.csv
count() {
    python3 - "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/requests.csv")))
want = sys.argv[2]
if want == "ok":
    print(sum(r["ok"] == "1" for r in rows))
elif want == "rows":
    print(len(rows))
else:
    print(sum(r["ok"] == "0" and r["error"].startswith(want) for r in rows))
EOF
}

COMMON=(--requests 12 --warmup 0 --prompt-tokens 8 --output-tokens 6 --max-error-rate 1 -q)

# 1. every third completion answers HTTP 500 with a hostile message
start_fake --rate 500 --fault 500 --fault-every 3
"$OSTEL" serve --url "$URL" --concurrency 2 "${COMMON[@]}" -o "$TMP/e500" && rc=0 || rc=$?
stop_fake
assert_eq "$rc" 0 "a level with some 500s still completes"
assert_eq "$(count "$TMP/e500" rows)" 12
assert_eq "$(count "$TMP/e500" "HTTP 500")" 4 "requests failed with HTTP 500"
assert_eq "$(json "$TMP/e500/summary.json" 'j["serve"]["levels"][0]["failed"]')" 4
assert_eq "$(json "$TMP/e500/summary.json" 'j["serve"]["levels"][0]["completed"]')" 8
# the message's quotes and markup stay text inside one CSV cell
python3 - "$TMP/e500/requests.csv" <<'EOF' || fail "the error cell is not intact"
import csv, sys
bad = [r for r in csv.DictReader(open(sys.argv[1])) if r["ok"] == "0"]
assert all('"fault"' in r["error"] and "<b>" in r["error"] for r in bad), bad[0]["error"]
EOF

# 2. streams cut halfway (the connection closed without the end)
start_fake --rate 500 --fault truncate --fault-every 4
"$OSTEL" serve --url "$URL" --concurrency 2 "${COMMON[@]}" --save-tokens -o "$TMP/trunc" || true
stop_fake
# --save-tokens: one row per counted chunk, of complete and cut streams alike, in arrival order,
# with the chunk's text (the fake server's " tokK@SEND_NS")
python3 - "$TMP/trunc" <<'EOF' || fail "tokens.csv does not match the chunks counted"
import csv, sys
d = sys.argv[1]
reqs = {r["req_id"]: int(r["chunks"]) for r in csv.DictReader(open(d + "/requests.csv"))}
rows = list(csv.DictReader(open(d + "/tokens.csv")))
assert list(rows[0]) == ["req_id", "index", "arrival_mono_ns", "text"], list(rows[0])
by = {}
for r in rows:
    by.setdefault(r["req_id"], []).append(r)
assert {k: len(v) for k, v in by.items()} == {k: n for k, n in reqs.items() if n}, (by.keys(), reqs)
for toks in by.values():
    assert [int(t["index"]) for t in toks] == list(range(len(toks)))
    arr = [int(t["arrival_mono_ns"]) for t in toks]
    assert arr == sorted(arr) and arr[0] > 0
    for k, t in enumerate(toks):
        assert t["text"].startswith(f" tok{k}@") and t["text"].split("@")[1].isdigit(), t["text"]
EOF
assert_eq "$(count "$TMP/trunc" rows)" 12
assert_eq "$(count "$TMP/trunc" ok)" 9 "complete streams"
assert_eq "$(json "$TMP/trunc/summary.json" 'j["serve"]["levels"][0]["failed"]')" 3
python3 - "$TMP/trunc/requests.csv" <<'EOF' || fail "a cut stream was not told apart"
import csv, sys
bad = [r for r in csv.DictReader(open(sys.argv[1])) if r["ok"] == "0"]
assert all(r["error"] and int(r["chunks"]) == 3 for r in bad), [(r["error"], r["chunks"]) for r in bad]
EOF

# 3. a malformed event in the stream
start_fake --rate 500 --fault badjson --fault-every 6
"$OSTEL" serve --url "$URL" --concurrency 1 "${COMMON[@]}" -o "$TMP/json" || true
stop_fake
assert_eq "$(count "$TMP/json" "malformed JSON")" 2 "malformed JSON detected"
assert_eq "$(count "$TMP/json" ok)" 10

# 4. a per-request timeout: tokens every 400 ms, a 1 s budget
start_fake --rate 2.5
"$OSTEL" serve --url "$URL" --concurrency 2 --requests 2 --warmup 0 --prompt-tokens 8 \
    --output-tokens 20 --timeout 1s --max-error-rate 1 -q -o "$TMP/timeout" && rc=0 || rc=$?
stop_fake
assert_eq "$rc" 1 "no request completed"
assert_eq "$(count "$TMP/timeout" timeout)" 2 "requests that timed out"

# 5. the server exits mid-level: the rest fail fast, the level stops on its error bound
start_fake --rate 500 --fault exit --fault-every 5
"$OSTEL" serve --url "$URL" --concurrency 2 --requests 40 --warmup 0 --prompt-tokens 8 \
    --output-tokens 6 -q -o "$TMP/exit" || true
wait "$FPID" 2>/dev/null || true
assert_eq "$(json "$TMP/exit/summary.json" 'j["serve"]["levels"][0]["stopped_early"]')" errors
assert_eq "$(json "$TMP/exit/summary.json" 'j["serve"]["levels"][0]["completed"]')" 4
assert_eq "$(json "$TMP/exit/summary.json" 'j["serve"]["levels"][0]["requests"] < 40')" True

# 6. open loop, constant arrivals at two rates: latencies from the scheduled send, queue ≥ 0
start_fake --rate 200
"$OSTEL" serve --url "$URL" --rate 40,80 --arrivals constant --requests 20 --warmup 2 \
    --prompt-tokens 8 --output-tokens 5 -q -o "$TMP/rate" || fail "the open-loop run failed"
stop_fake
python3 - "$TMP/rate" <<'EOF' || fail "open-loop timings are inconsistent"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/requests.csv")))
assert len(rows) == 44, len(rows)
for lv, rate in (("r40", 40), ("r80", 80)):
    rs = sorted((r for r in rows if r["level"] == lv), key=lambda r: float(r["sched_ts"]))
    gaps = [float(b["sched_ts"]) - float(a["sched_ts"]) for a, b in zip(rs, rs[1:])]
    assert all(abs(g - 1 / rate) < 2e-3 for g in gaps), (lv, gaps)   # the schedule, not the clock
    for r in rs:
        assert float(r["queue_ms"]) >= 0
        assert float(r["ttft_ms"]) >= float(r["ttft_send_ms"])
        assert float(r["e2e_ms"]) >= float(r["e2e_send_ms"])
j = json.load(open(d + "/summary.json"))
assert [l["kind"] for l in j["serve"]["levels"]] == ["rate", "rate"]
assert [l["arrivals"] for l in j["serve"]["levels"]] == ["constant", "constant"]
EOF

# 7. a sweep: concurrency 1, the saturating concurrency, then rates between
start_fake --rate 400
"$OSTEL" serve --url "$URL" --sweep 4 --sweep-concurrency 4 --requests 8 --warmup 1 \
    --prompt-tokens 8 --output-tokens 4 -q -o "$TMP/sweep" || fail "the sweep failed"
stop_fake
assert_eq "$(json "$TMP/sweep/summary.json" '[l["kind"] for l in j["serve"]["levels"]]')" \
    "['concurrency', 'concurrency', 'rate', 'rate']"
assert_eq "$(json "$TMP/sweep/summary.json" '(lambda l: l[0]["request_throughput"] < l[2]["value"] < l[3]["value"] < l[1]["request_throughput"])(j["serve"]["levels"])')" True

# 8. Ctrl-C in --url mode: exit 130, what was measured kept
start_fake --rate 50
"$OSTEL" serve --url "$URL" --concurrency 4 --requests 1000 --warmup 0 --prompt-tokens 8 \
    --output-tokens 20 -q -o "$TMP/int" &
opid=$!
lines_ge() { [ "$(wc -l <"$2" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_for "$opid" lines_ge 5 "$TMP/int/requests.csv"
kill -INT "$opid"
rc=0; wait "$opid" || rc=$?
stop_fake
assert_eq "$rc" 130 "exit status after SIGINT"
assert_eq "$(json "$TMP/int/summary.json" 'j["run"]["status"]')" interrupted
[ "$(count "$TMP/int" ok)" -ge 4 ] || fail "the measured requests were lost"
assert_eq "$(count "$TMP/int" interrupted)" 4 "the requests in flight are recorded as interrupted"
# 9. prompts unique for many more requests than the text has distinct tokens (about 150): the fake
# server's cache_n is what a cache of the last 1000 prompts could reuse (1 = only the BOS); a
# second run against the same server sends other prompts (its nonce), though a first token may
# repeat one of the first run's; --reuse-prompts sends one prompt, reused whole
start_fake --rate 5000 --cache-check 1000
"$OSTEL" serve --url "$URL" --concurrency 4 --requests 1500 --warmup 0 --prompt-tokens 5 \
    --output-tokens 1 -q -o "$TMP/uniq1" || fail "the run of 1500 requests failed"
"$OSTEL" serve --url "$URL" --concurrency 4 --requests 100 --warmup 0 --prompt-tokens 5 \
    --output-tokens 1 -q -o "$TMP/uniq2" || fail "the second run failed"
"$OSTEL" serve --url "$URL" --concurrency 1 --requests 6 --warmup 0 --prompt-tokens 5 \
    --output-tokens 1 --reuse-prompts -q -o "$TMP/reuse" || fail "the --reuse-prompts run failed"
# --prompt-nonce of an earlier run sends that run's prompts again, request by request
nonce=$(json "$TMP/uniq2/summary.json" 'j["serve"]["prompt_nonce"]')
"$OSTEL" serve --url "$URL" --concurrency 1 --requests 5 --warmup 0 --prompt-tokens 5 \
    --output-tokens 1 --prompt-nonce "$nonce" -q -o "$TMP/again" || fail "the --prompt-nonce run failed"
stop_fake
python3 - "$TMP" <<'EOF' || fail "prompts were not unique"
import csv, sys
def rows(d):
    return list(csv.DictReader(open(f"{sys.argv[1]}/{d}/requests.csv")))
r1, r2 = rows("uniq1"), rows("uniq2")
assert len(r1) == 1500 and len(r2) == 100, (len(r1), len(r2))
assert all(r["ok"] == "1" and int(r["prompt_tokens"]) == 5 for r in r1 + r2)
bad = [r["cache_n"] for r in r1 if float(r["cache_n"]) > 1]
assert not bad, (len(bad), bad[:5])
assert max(float(r["cache_n"]) for r in r2) <= 2, [r["cache_n"] for r in r2]
# the same prompt each time: all 5 tokens reusable after the first request
cache = [float(r["cache_n"]) for r in rows("reuse")]
assert cache[1:] == [6.0] * 5, cache
assert [float(r["cache_n"]) for r in rows("again")] == [6.0] * 5, [r["cache_n"] for r in rows("again")]
EOF

# 10. writes that fail (issue 10): status failed with the reason, exit 1, one error line, whole
# rows only in requests.csv, no temporary file left
# whole_rows DIR: every requests.csv line has the header's number of cells; no *.tmp* file
whole_rows() {
    python3 - "$1" <<'EOF' || fail "requests.csv of $1 holds a cut row, or a temporary file was left"
import csv, os, sys
d = sys.argv[1]
rows = list(csv.reader(open(d + "/requests.csv")))
assert all(len(r) == 28 for r in rows), [len(r) for r in rows][-3:]  # none on a disk full at once
assert not [f for f in os.listdir(d) if ".tmp" in f], os.listdir(d)
EOF
}
# one_error FILE TEXT: stderr is one line, an error naming TEXT
one_error() {
    assert_eq "$(wc -l <"$1")" 1 "error lines in $1"
    assert_grep "^ostel: error: serve: .*$2" "$1"
}
start_fake --rate 5000
# requests.csv grows past a file-size limit (SIGXFSZ is ignored: the write fails with EFBIG)
rc=0
(ulimit -f 24; exec "$OSTEL" serve --url "$URL" --concurrency 4 --requests 400 --warmup 0 \
    --prompt-tokens 5 --output-tokens 1 -q -o "$TMP/fsz") 2>"$TMP/fsz.err" || rc=$?
assert_eq "$rc" 1 "exit status when requests.csv cannot be written"
one_error "$TMP/fsz.err" "file too large writing requests.csv"
assert_eq "$(json "$TMP/fsz/summary.json" 'j["run"]["status"]')" failed
assert_eq "$(json "$TMP/fsz/summary.json" 'j["run"]["error"]')" "file too large writing requests.csv"
assert_eq "$(json "$TMP/fsz/summary.json" 'j["serve"]["levels"][0]["stopped_early"]')" write_error
assert_grep '^status=failed$' "$TMP/fsz/config.txt"
assert_grep '^error=file too large writing requests.csv$' "$TMP/fsz/config.txt"
whole_rows "$TMP/fsz"
# requests.csv fits, summary.json (two levels) does not: config.txt says so
rc=0
(ulimit -f 5; exec "$OSTEL" serve --url "$URL" --concurrency 1,2 --requests 8 --warmup 0 \
    --prompt-tokens 5 --output-tokens 1 -q -o "$TMP/fsz2") 2>"$TMP/fsz2.err" || rc=$?
assert_eq "$rc" 1 "exit status when summary.json cannot be written"
one_error "$TMP/fsz2.err" "file too large writing summary.json"
assert_grep '^status=failed$' "$TMP/fsz2/config.txt"
assert_grep '^error=file too large writing summary.json$' "$TMP/fsz2/config.txt"
assert_eq "$(count "$TMP/fsz2" rows)" 16
whole_rows "$TMP/fsz2"
# … and summary.json, written again without the levels, says so too (never a stale "ok")
assert_eq "$(json "$TMP/fsz2/summary.json" 'j["run"]["status"]')" failed
assert_eq "$(json "$TMP/fsz2/summary.json" '"levels" in j["serve"]')" False
# the same where ostel starts the server (a stand-in llama-server: the fake one on the given port):
# the runner's config.txt and summary.json said ok, and are rewritten to say failed
mkdir -p "$TMP/bin"
cat >"$TMP/bin/llama-server" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do [ "\$1" = --port ] && port=\$2; shift; done
exec "$FAKE" --port "\$port" --rate 5000
EOF
chmod +x "$TMP/bin/llama-server"
: >"$TMP/m.gguf"
rc=0
(ulimit -f 24; exec "$OSTEL" serve --llama-bin "$TMP/bin" -m "$TMP/m.gguf" --concurrency 4 \
    --requests 400 --warmup 0 --prompt-tokens 5 --output-tokens 1 -q -o "$TMP/fsz3") \
    2>"$TMP/fsz3.err" || rc=$?
assert_eq "$rc" 1 "exit status when requests.csv cannot be written (the server ostel started)"
one_error "$TMP/fsz3.err" "file too large writing requests.csv"
assert_eq "$(grep -c '^status=' "$TMP/fsz3/config.txt")" 1 "status lines in config.txt"
assert_grep '^status=failed$' "$TMP/fsz3/config.txt"
assert_grep '^serve_url=' "$TMP/fsz3/config.txt"
assert_eq "$(json "$TMP/fsz3/summary.json" 'j["run"]["status"]')" failed
assert_eq "$(json "$TMP/fsz3/summary.json" 'j["run"]["error"]')" "file too large writing requests.csv"
whole_rows "$TMP/fsz3"
# a disk that is full from the start, and one that fills up during the load (a small tmpfs)
MNT="$TMP/mnt"
mkdir -p "$MNT"
if mount -t tmpfs -o size=256k tmpfs "$MNT" 2>/dev/null; then
    trap 'umount "$MNT" 2>/dev/null || true; cleanup_tmp' EXIT
    # --url, and the server ostel starts (the stand-in above): its runner wrote status=running
    # first, which must not stay
    for room_kib in 0 40 8; do
        for mode in url start; do
            rm -rf "${MNT:?}"/*
            free_kib=$(df -Pk "$MNT" | awk 'NR == 2 { print $4 }')
            dd if=/dev/zero of="$MNT/fill" bs=1k count=$((free_kib - room_kib)) 2>/dev/null || true
            target=(--url "$URL")
            [ "$mode" = start ] && target=(--llama-bin "$TMP/bin" -m "$TMP/m.gguf")
            rc=0
            "$OSTEL" serve "${target[@]}" --concurrency 4 --requests 2000 --warmup 0 \
                --prompt-tokens 5 --output-tokens 1 -q -o "$MNT/r" 2>"$TMP/full.err" || rc=$?
            assert_eq "$rc" 1 "exit status on a full disk ($mode, room $room_kib KiB)"
            # (full from the start, the runner refuses before the server starts, in its words)
            assert_eq "$(wc -l <"$TMP/full.err")" 1 "error lines ($mode, room $room_kib KiB)"
            assert_grep "^ostel: error: .*[Nn]o space left on device" "$TMP/full.err"
            [ ! -f "$MNT/r/config.txt" ] || assert_grep '^status=failed$' "$MNT/r/config.txt"
            [ ! -f "$MNT/r/summary.json" ] ||
                assert_eq "$(json "$MNT/r/summary.json" 'j["run"]["status"]')" failed
            [ ! -f "$MNT/r/requests.csv" ] || whole_rows "$MNT/r"
        done
    done
    umount "$MNT"
    trap cleanup_tmp EXIT
else
    note "SKIPPED the full-disk part: mounting a tmpfs is not allowed here (needs root)"
fi
stop_fake

# 11. load options. Poisson arrivals with a seed: the same seed, the same schedule (gaps between
# scheduled sends) and the same uniform lengths; another seed, another schedule
start_fake --rate 5000
for run in a b c; do
    seed=7; [ "$run" = c ] && seed=8
    "$OSTEL" serve --url "$URL" --rate 100 --arrivals poisson --seed "$seed" --requests 30 \
        --warmup 0 --prompt-tokens 4-12 --output-tokens 1-3 -q -o "$TMP/pois_$run" ||
        fail "the Poisson run $run failed"
done
python3 - "$TMP" <<'EOF' || fail "the seeded schedule is not reproducible"
import csv, json, sys
def load(run):
    rows = sorted(csv.DictReader(open(f"{sys.argv[1]}/pois_{run}/requests.csv")), key=lambda r: int(r["req_id"]))
    t0 = float(rows[0]["sched_ts"])
    gaps = [(float(r["sched_ts"]) - t0) * 1e3 for r in rows]   # ms; the CSV keeps µs
    lens = [(int(r["prompt_tokens_asked"]), int(r["output_tokens_asked"])) for r in rows]
    return gaps, lens, rows
ga, la, ra = load("a")
gb, lb, _ = load("b")
gc, lc, _ = load("c")
assert len(ga) == 30 and max(abs(x - y) for x, y in zip(ga, gb)) <= 0.005, (ga, gb)
assert la == lb, (la, lb)
assert ga != gc and la != lc, "another seed gave the same schedule"
# uniform lengths: within the bounds, not all the same, and what the server was sent
assert all(4 <= p <= 12 and 1 <= o <= 3 for p, o in la), la
assert len(set(p for p, _ in la)) > 3, la
assert all(int(r["prompt_tokens"]) == int(r["prompt_tokens_asked"]) and
           int(r["completion_tokens"]) == int(r["output_tokens_asked"]) for r in ra)
j = json.load(open(f"{sys.argv[1]}/pois_a/summary.json"))["serve"]
assert (j["prompt_tokens"], j["prompt_tokens_max"], j["output_tokens_max"]) == (4, 12, 3), j
EOF
assert_grep '^serve_prompt_tokens=4-12$' "$TMP/pois_a/config.txt"
rc=0
"$OSTEL" serve --url "$URL" --prompt-tokens 12-4 -q -o "$TMP/badlen" 2>"$TMP/badlen.err" || rc=$?
assert_eq "$rc" 2 "exit status of a length range upside down"
assert_grep "prompt-tokens must be N, N:SD or MIN-MAX" "$TMP/badlen.err"

# --duration: every measured request scheduled within the duration of the level's first one
"$OSTEL" serve --url "$URL" --rate 40 --arrivals constant --duration 1s --warmup 0 \
    --prompt-tokens 4 --output-tokens 2 -q -o "$TMP/dur" || fail "the --duration run failed"
python3 - "$TMP/dur" <<'EOF' || fail "--duration was not kept"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/requests.csv")))
t = sorted(float(r["sched_ts"]) for r in rows)
# constant arrivals at 40/s for 1 s: 40 requests, the last due before the first + 1 s
assert len(rows) == 40 and t[-1] - t[0] < 1.0, (len(rows), t[-1] - t[0])
EOF

# --prompt-file: prompts cut from the file's tokens; an empty file is refused with one line
printf 'Sphinx of black quartz, judge my vow. %.0s' $(seq 50) >"$TMP/prompt.txt"
"$OSTEL" serve --url "$URL" -f "$TMP/prompt.txt" --requests 5 --warmup 0 --prompt-tokens 30 \
    --output-tokens 2 -q -o "$TMP/pfile" || fail "the --prompt-file run failed"
assert_eq "$(json "$TMP/pfile/summary.json" 'j["serve"]["levels"][0]["completed"]')" 5
: >"$TMP/empty.txt"
rc=0
"$OSTEL" serve --url "$URL" -f "$TMP/empty.txt" --requests 5 -q -o "$TMP/pempty" \
    2>"$TMP/pempty.err" || rc=$?
assert_eq "$rc" 1 "exit status of an empty prompt file"
one_error "$TMP/pempty.err" "the prompt text has no tokens"

# goodput under an SLO: none good under a bound nothing meets (TTFT ≤ 1 ms, and the fake sends the
# first token after 1/rate = 20 ms), every one under a bound everything meets
stop_fake
start_fake --rate 50
"$OSTEL" serve --url "$URL" --concurrency 2 --requests 6 --warmup 0 --prompt-tokens 4 \
    --output-tokens 2 --slo ttft=1ms -q -o "$TMP/strict" || fail "the strict-SLO run failed"
"$OSTEL" serve --url "$URL" --concurrency 2 --requests 6 --warmup 0 --prompt-tokens 4 \
    --output-tokens 2 --slo ttft=1h,itl=1h,e2e=1h -q -o "$TMP/lax" || fail "the lax-SLO run failed"
stop_fake
assert_eq "$(json "$TMP/strict/summary.json" '(j["serve"]["levels"][0]["good_requests"], j["serve"]["levels"][0]["goodput"])')" "(0, 0)"
assert_eq "$(json "$TMP/lax/summary.json" 'j["serve"]["levels"][0]["good_requests"]')" 6
assert_eq "$(json "$TMP/lax/summary.json" '(lambda l: l["goodput"] == l["request_throughput"])(j["serve"]["levels"][0])')" True

# 12. a level that opens with more requests than one turn of the loop starts (4 a turn, so that
# the streams already running are read between batches): every request of the first fill was due
# when the level began (its slot was free from then), whatever turn sent it; none sent before due
start_fake --rate 200
"$OSTEL" serve --url "$URL" --concurrency 40 --requests 40 --warmup 0 --prompt-tokens 4 \
    --output-tokens 3 -q -o "$TMP/fill" || fail "the 40-stream fill failed"
stop_fake
python3 - "$TMP/fill/requests.csv" <<'EOF' || fail "the first fill's requests were not all due at the level's start"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 40 and all(r["ok"] == "1" for r in rows), len(rows)
assert len({r["sched_ts"] for r in rows}) == 1, sorted({r["sched_ts"] for r in rows})
assert all(float(r["send_ts"]) >= float(r["sched_ts"]) and float(r["queue_ms"]) >= 0 for r in rows)
EOF

# 13. room for every stream's socket is made before the level starts: the descriptor table already
# holds 4096 (or the hard limit) while 40 streams run. Grown later, one growth at a time as sockets
# open, a multithreaded process waits out an RCU grace period at each (10 ms and more), in the
# middle of the level with every stream unread.
start_fake --rate 20
"$OSTEL" serve --url "$URL" --concurrency 40 --requests 40 --warmup 0 --prompt-tokens 4 \
    --output-tokens 40 -q -o "$TMP/room" &
OPID=$!
wait_for "$OPID" test -s "$TMP/room/requests.csv"
fdsize=$(awk '/^FDSize:/ {print $2}' "/proc/$OPID/status")
wait "$OPID" || fail "the 40-stream run failed"
stop_fake
hard=$(ulimit -Hn)
room=4096
[ "$hard" != unlimited ] && [ "$hard" -lt "$room" ] && room=$hard
[ "$fdsize" -ge "$room" ] || fail "descriptor table of $fdsize while 40 streams ran, want >= $room"

note "serve faults: all checks passed"
