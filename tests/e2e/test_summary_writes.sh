#!/usr/bin/env bash
# End to end: every run directory's summary.json is written once (issue 18) — by `ostel run`, by
# `ostel quality` (each pass with its "quality" section), by `ostel serve` where ostel starts the
# server (a stand-in llama-server: bench/fake_sse_server) and with --url, and by a serving study's
# cells (with "serve" after the study's "scenario"). Counted as the renames onto */summary.json that
# strace sees (the atomic writer's last step, util/fileio.c): two for a directory is a rewrite. And
# its final config.txt is written once too: the renames onto */config.txt after that directory's
# summary.json rename (the runner's last write, with serve's lines and the verdict; the runner's
# start-of-run config.txt, status=running, comes before and is not counted) must be exactly one.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || skip "strace is not installed"
strace -f -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace refused)"
FAKE=$(dirname "$OSTEL")/fake_sse_server
[ -x "$FAKE" ] || fail "fake_sse_server not built"

# traced NAME CMD...: runs CMD under strace, its renames into $TMP/NAME.trace (without ASan's leak
# check, which cannot run under ptrace: the other tests run these commands with it)
traced() {
    local name=$1
    shift
    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
        strace -f -qq -s 4096 -e trace=rename,renameat,renameat2 -o "$TMP/$name.trace" "$@"
}
# writes NAME ROOT → "DIR SUMMARY_COUNT CONFIG_AFTER" per directory under ROOT whose summary.json
# was renamed into place: its summary.json renames, and its config.txt renames after the first of
# them (in the trace's order, which is the order they returned in)
writes() {
    python3 - "$TMP/$1.trace" "$2" <<'EOF'
import collections, os, re, sys
root = os.path.realpath(sys.argv[2])
n = collections.Counter()
after = collections.Counter()
for line in open(sys.argv[1]):
    m = re.search(r'rename(?:at2?)?\(.*"([^"]*/(summary\.json|config\.txt))"(?:, [A-Z_0-9|]+)?\) = 0',
                  line)
    if m:
        d = os.path.dirname(os.path.realpath(m.group(1)))
        if not d.startswith(root):
            continue
        d = os.path.relpath(d, root)
        if m.group(2) == "summary.json":
            n[d] += 1
        elif n[d]:
            after[d] += 1
for d in sorted(n):
    print(d, n[d], after[d])
EOF
}
# once NAME ROOT EXPECTED_DIRS: each directory's summary.json written exactly once and its config.txt
# once after it, and as many directories as expected (none missed by the trace)
once() {
    local out
    out=$(writes "$1" "$2")
    [ -n "$out" ] || fail "$1: no summary.json write seen"
    echo "$out" | awk '$2 != 1 { bad = 1; print "written " $2 " times: " $1 > "/dev/stderr" } END { exit bad }' ||
        fail "$1: a summary.json was written more than once"
    echo "$out" | awk '$3 != 1 { bad = 1; print "config.txt written " $3 " times after summary.json: " $1 > "/dev/stderr" } END { exit bad }' ||
        fail "$1: a config.txt was not written exactly once after its summary.json"
    assert_eq "$(echo "$out" | wc -l)" "$3" "$1: directories with a summary.json"
}

# the check itself: a directory written twice is caught, its summary.json or its final config.txt
# (a config.txt before the summary.json is the start-of-run one)
sj="1 rename(\"$TMP/x/summary.json.tmp\", \"$TMP/x/summary.json\") = 0"
cf="1 rename(\"$TMP/x/config.txt.tmp\", \"$TMP/x/config.txt\") = 0"
printf '%s\n' "$cf" "$sj" "$cf" >"$TMP/self.trace"
once self "$TMP" 1
printf '%s\n' "$cf" "$sj" "$sj" "$cf" >"$TMP/self.trace"
(once self "$TMP" 1) 2>/dev/null && fail "a summary.json written twice was not caught"
printf '%s\n' "$cf" "$sj" "$cf" "$cf" >"$TMP/self.trace"
(once self "$TMP" 1) 2>/dev/null && fail "a config.txt written twice after the run was not caught"

# ostel run: a plain command
traced run "$OSTEL" run -q -o "$TMP/run/r" -- sh -c 'sleep 0.3' ||
    fail "ostel run failed"
once run "$TMP/run" 1

# ostel serve --url, and ostel serve starting a stand-in llama-server (the fake one on its port)
"$FAKE" --port 0 --port-file "$TMP/port" --rate 2000 2>/dev/null &
fpid=$!
wait_for "$fpid" test -s "$TMP/port"
LOAD=(--concurrency 1,2 --requests 4 --warmup 0 --prompt-tokens 5 --output-tokens 2 -q)
traced url "$OSTEL" serve --url "http://127.0.0.1:$(cat "$TMP/port")" "${LOAD[@]}" \
    -o "$TMP/url/r" || fail "ostel serve --url failed"
kill "$fpid"
wait "$fpid" 2>/dev/null || true
once url "$TMP/url" 1
assert_eq "$(json "$TMP/url/r/summary.json" 'j["serve"]["levels"][1]["completed"]')" 4
mkdir -p "$TMP/bin"
cat >"$TMP/bin/llama-server" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do [ "\$1" = --port ] && port=\$2; shift; done
exec "$FAKE" --port "\$port" --rate 2000
EOF
chmod +x "$TMP/bin/llama-server"
: >"$TMP/m.gguf"
traced serve "$OSTEL" serve --llama-bin "$TMP/bin" -m "$TMP/m.gguf" "${LOAD[@]}" \
    -o "$TMP/serve/r" || fail "ostel serve failed"
once serve "$TMP/serve" 1
assert_eq "$(json "$TMP/serve/r/summary.json" 'j["run"]["status"]')" ok
assert_eq "$(json "$TMP/serve/r/summary.json" 'j["serve"]["levels"][0]["completed"]')" 4
assert_grep '^serve_url=' "$TMP/serve/r/config.txt"

# a serving study of two cells (the stand-in server, given a real GGUF: the study reads its header),
# its scenario and serve sections in one write
f16=$(tiny_model tiny-llama F16)
q8=$(tiny_model tiny-llama Q8_0)
traced study "$OSTEL" study --serve --llama-bin "$TMP/bin" -m "$q8" -t m -r 2 \
    --scenario mem:8M --concurrency 1 --requests 3 --serve-warmup 0 --prompt-tokens 5 --output-tokens 2 \
    --cooldown 0.1s --no-warmup --dir "$TMP/study" -q >/dev/null || fail "the serving study failed"
once study "$TMP/study/runs" 2
for d in "$TMP"/study/runs/*/; do
    assert_eq "$(json "$d/summary.json" 'list(j)[-2:]')" "['scenario', 'serve']" "$d: sections"
done

# ostel quality: the probe, the base pass and one KLD pass, each written once with its section
text="$TMP/text.txt"
cat "$SRC"/README.md "$SRC"/docs/*.md >"$text"
traced quality "$OSTEL" quality "$q8" "$f16" -t q8,f16 -c 128 --quality-chunks 2 \
    --quality-text "$text" --dir "$TMP/q" -q >/dev/null || fail "ostel quality failed"
once quality "$TMP/q" 3 # probe-… (removed after), base-…, kld-…
for d in "$TMP"/q/base-* "$TMP"/q/kld-*; do
    assert_eq "$(json "$d/summary.json" 'j["quality"]["ok"]')" True "$d: quality.ok"
done

note "summary writes: all checks passed"
