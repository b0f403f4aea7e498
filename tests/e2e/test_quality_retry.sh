#!/usr/bin/env bash
# End to end: a quality pass whose log lost its last lines (the pinned llama.cpp's logger at exit,
# llama.cpp issue 22142) is run again, the base pass too: a llama-perplexity wrapper cuts its log
# from "Final estimate" on for the first base pass; ostel warns, runs the pass a second time, and
# the base's PPL is the second log's. A log cut every time is run three times in all and the pass
# fails; a pass that failed (exit 1) is not run again.
. "$(dirname "$0")/lib.sh"

f16=$(tiny_model tiny-llama F16)
q8=$(tiny_model tiny-llama Q8_0)
real=$(llama_tool llama-perplexity)

# A tool directory: the pinned tools, llama-perplexity wrapped. The wrapper counts base passes (a
# --kl-divergence-base without --kl-divergence) in $TMP/count; the first $CUT of them lose their
# log from "Final estimate" on, with FAIL=1 they exit 1 instead.
bin="$TMP/bin"
mkdir -p "$bin"
for t in "$(dirname "$real")"/*; do ln -s "$t" "$bin/$(basename "$t")"; done
rm "$bin/llama-perplexity"
cat >"$bin/llama-perplexity" <<WRAP
#!/usr/bin/env bash
base=0 kld=0
for a in "\$@"; do
    [ "\$a" = --kl-divergence-base ] && base=1
    [ "\$a" = --kl-divergence ] && kld=1
done
if [ \$base = 1 ] && [ \$kld = 0 ]; then
    n=\$((\$(cat "$TMP/count" 2>/dev/null || echo 0) + 1))
    echo \$n >"$TMP/count"
    [ "\${FAIL:-0}" = 1 ] && { echo "wrapper: failing on purpose"; exit 1; }
    if [ \$n -le "\${CUT:-0}" ]; then
        rc=0
        "$real" "\$@" >"$TMP/out" 2>&1 || rc=\$?
        sed '/Final estimate/,\$d' "$TMP/out"
        exit \$rc
    fi
fi
exec "$real" "\$@"
WRAP
chmod +x "$bin/llama-perplexity"

text="$TMP/text.txt"
if [ -r /usr/share/common-licenses/GPL-3 ]; then
    cp /usr/share/common-licenses/GPL-3 "$text"
else
    cat "$SRC"/README.md "$SRC"/docs/*.md >"$text"
fi
Q=(-c 128 --quality-chunks 4 --quality-text "$text" --llama-bin "$bin")

# 1. the first base pass loses its last lines: run again, once
CUT=1 "$OSTEL" quality "$f16" "$q8" -t f16,q8 "${Q[@]}" --dir "$TMP/q1" >/dev/null 2>"$TMP/err1" ||
    { cat "$TMP/err1" >&2; fail "ostel quality failed"; }
assert_eq "$(cat "$TMP/count")" 2 "the base pass ran twice"
assert_grep "base-f16-.*lost its last lines (llama.cpp issue 22142); running it again (attempt 2 of 3)" \
    "$TMP/err1"
b=$(ls -d "$TMP"/q1/base-f16-*) || fail "no base pass directory"
assert_eq "$(json "$b/summary.json" 'j["quality"]["ok"]')" True "quality.ok"
assert_grep "Final estimate: PPL" "$b/llama_output.log"
ppl=$(json "$b/summary.json" 'j["llama"]["perplexity"]["ppl"]')
[ "$ppl" != null ] || fail "the base pass's PPL is null"

# 2. lost every time: three attempts in all, then the pass fails (its PPL unknown, never 0)
rm -f "$TMP/count"
if CUT=99 "$OSTEL" quality "$f16" "$q8" -t f16,q8 "${Q[@]}" --dir "$TMP/q2" >/dev/null \
    2>"$TMP/err2"; then
    fail "a base pass without its final estimate succeeded"
fi
assert_eq "$(cat "$TMP/count")" 3 "the base pass ran three times"
assert_grep "running it again (attempt 3 of 3)" "$TMP/err2"
assert_grep "the base pass failed: llama-perplexity printed no final estimate of the PPL" "$TMP/err2"

# 3. a base pass that failed is not run again
rm -f "$TMP/count"
if FAIL=1 "$OSTEL" quality "$f16" "$q8" -t f16,q8 "${Q[@]}" --dir "$TMP/q3" >/dev/null \
    2>"$TMP/err3"; then
    fail "a failing base pass succeeded"
fi
assert_eq "$(cat "$TMP/count")" 1 "a failed base pass ran once"
if grep -q "running it again" "$TMP/err3"; then fail "a failed pass was run again"; fi
