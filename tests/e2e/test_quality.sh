#!/usr/bin/env bash
# End to end: `ostel quality` with the pinned llama-perplexity on tiny synthesized models (F16 base,
# Q8_0, Q4_K_M): KLD(Q4_K_M) > KLD(Q8_0) > 0; the parsed figures equal the log's lines; resume skips
# the base pass and reuses the kept logits; the logits are removed at the end; the disk-space
# refusal (computed, with an override; and a real full tmpfs when run as root); a mismatched
# vocabulary and a too-short text refused with their reasons (the refused model recorded as a failed
# pass); `ostel db import` fills the quality table; a model file changed under the same tag is
# measured again; two models under one tag are refused; the study's -b/-ub, its report's KLD-ratio
# column and synth caveat; --quality refused with --shard.
. "$(dirname "$0")/lib.sh"

f16=$(tiny_model tiny-llama F16)
q8=$(tiny_model tiny-llama Q8_0)
q4=$(tiny_model tiny-llama Q4_K_M)
qwen=$(tiny_model tiny-qwen F16) # another vocabulary (151936 tokens against 32000)
command -v sqlite3 >/dev/null || fail "sqlite3 (the CLI) is needed: scripts/setup.sh --tests"

# A text the machine has (no download): the GPL, else ostel's own docs.
text="$TMP/text.txt"
if [ -r /usr/share/common-licenses/GPL-3 ]; then
    cp /usr/share/common-licenses/GPL-3 "$text"
else
    cat "$SRC"/README.md "$SRC"/docs/*.md >"$text"
fi
Q=(-c 128 --quality-chunks 4 --quality-text "$text")

# 1. base (highest precision: F16, chosen without --quality-base) + two candidates
"$OSTEL" quality "$q8" "$f16" "$q4" -t q8,f16,q4 "${Q[@]}" --dir "$TMP/q1" \
    >"$TMP/table.md" 2>"$TMP/err1" || { cat "$TMP/err1" >&2; fail "ostel quality failed"; }
assert_grep "| f16 (base) | F16 |" "$TMP/table.md"
assert_grep "random weights" "$TMP/table.md"
# the settings as llama.cpp used them (not set: its defaults, from the base pass's log)
assert_grep "; -b 2048 (llama.cpp's default), -ub 512 (llama.cpp's default) for every pass." \
    "$TMP/table.md"
b=$(ls -d "$TMP"/q1/base-f16-*) || fail "no base pass directory"
k8=$(ls -d "$TMP"/q1/kld-q8-*)
k4=$(ls -d "$TMP"/q1/kld-q4-*)
for d in "$b" "$k8" "$k4"; do
    for f in llama_output.log metrics.csv config.txt summary.json; do assert_file "$d/$f"; done
    assert_eq "$(json "$d/summary.json" 'j["quality"]["ok"]')" True "$d: quality.ok"
done
assert_eq "$(ls "$TMP"/q1/*.kld 2>/dev/null | wc -l)" 0 "the logits are removed at the end"
kld() { json "$1/summary.json" 'j["llama"]["perplexity"]["kld_mean"]'; }
python3 - "$(kld "$k8")" "$(kld "$k4")" <<'EOF' || fail "want KLD(Q4_K_M) > KLD(Q8_0) > 0"
import sys
k8, k4 = map(float, sys.argv[1:])
sys.exit(0 if k4 > k8 > 0 else 1)
EOF
assert_eq "$(json "$k4/summary.json" 'j["quality"]["chunks"]')" 4 "chunks bounded"
assert_eq "$(json "$k4/summary.json" 'j["quality"]["synthetic"]')" True "synth models flagged"

# 2. the parsed figures are the log's, digit for digit
python3 - "$k4" <<'EOF' || fail "parsed figures differ from the log"
import json, re, sys
d = sys.argv[1]
log = open(d + "/llama_output.log", encoding="utf-8", errors="replace").read()
p = json.load(open(d + "/summary.json"))["llama"]["perplexity"]
def line(label):
    m = re.search(r"^" + re.escape(label) + r"\s*:?\s*(-?[0-9.]+)(?:\s*±\s*(-?[0-9.]+))?", log, re.M)
    if not m:
        sys.exit("no line " + label)
    return [float(x) for x in m.groups() if x is not None]
checks = [("Mean    KLD:", ["kld_mean", "kld_mean_stderr"]), ("Maximum KLD:", ["kld_max"]),
          ("99.0%   KLD:", ["kld_p99"]), ("Same top p:", ["same_top_p_pct", "same_top_p_stderr"]),
          ("RMS Δp    :", ["rms_dp_pct", "rms_dp_stderr"]),
          ("Mean PPL(Q)/PPL(base)         :", ["ppl_ratio", "ppl_ratio_stderr"]),
          ("Mean PPL(Q)-PPL(base)         :", ["ppl_diff", "ppl_diff_stderr"]),
          ("Mean PPL(Q)                   :", ["mean_ppl_q", "mean_ppl_q_stderr"])]
for label, keys in checks:
    vals = line(label)
    for k, v in zip(keys, vals):
        if p[k] != v:
            sys.exit("%s: parsed %r, log %r" % (k, p[k], v))
EOF

# and the base pass's PPL is the log's "Final estimate" line
python3 - "$b" <<'EOF' || fail "the base pass's parsed PPL differs from the log"
import json, re, sys
d = sys.argv[1]
log = open(d + "/llama_output.log", encoding="utf-8", errors="replace").read()
p = json.load(open(d + "/summary.json"))["llama"]["perplexity"]
m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
if not m:
    sys.exit("no Final estimate line")
if (p["ppl"], p["ppl_stderr"]) != (float(m.group(1)), float(m.group(2))):
    sys.exit("parsed %r ± %r, log %s ± %s" % (p["ppl"], p["ppl_stderr"], m.group(1), m.group(2)))
EOF

# 3. resume: with the logits kept, adding a model runs only its KLD pass
"$OSTEL" quality "$f16" "$q8" "${Q[@]}" --dir "$TMP/q2" --keep-logits -q >/dev/null 2>"$TMP/err2" ||
    fail "first pass set failed"
assert_eq "$(ls "$TMP"/q2/*.kld | wc -l)" 1 "--keep-logits keeps the logits"
b2=$(ls -d "$TMP"/q2/base-*/); b2=${b2%/}
id_before=$(json "$b2/summary.json" 'j["run"]["run_id"]')
"$OSTEL" quality "$f16" "$q8" "$q4" "${Q[@]}" --dir "$TMP/q2" >/dev/null 2>"$TMP/err3" ||
    { cat "$TMP/err3" >&2; fail "resumed quality failed"; }
assert_grep "reusing the base logits" "$TMP/err3"
assert_grep "2 of 3 passes already done" "$TMP/err3"
assert_eq "$(json "$b2/summary.json" 'j["run"]["run_id"]')" "$id_before" "the base pass was not redone"
assert_eq "$(ls -d "$TMP"/q2/kld-* | wc -l)" 2 "both KLD passes"
assert_eq "$(ls "$TMP"/q2/*.kld 2>/dev/null | wc -l)" 0 "logits removed once every pass is done"
# everything done: nothing runs at all
"$OSTEL" quality "$f16" "$q8" "$q4" "${Q[@]}" --dir "$TMP/q2" >/dev/null 2>"$TMP/err4" ||
    fail "a finished set failed"
assert_grep "3 of 3 passes already done" "$TMP/err4"
# a candidate quantized again under the same name (here: its mtime) is measured again, alone
cp "$q8" "$TMP/q8.gguf"
"$OSTEL" quality "$f16" "$TMP/q8.gguf" "${Q[@]}" --dir "$TMP/q7" --keep-logits -q >/dev/null 2>&1 ||
    fail "q7 failed"
k7=$(ls -d "$TMP"/q7/kld-q8-*/); k7=${k7%/}
id7=$(json "$k7/summary.json" 'j["run"]["run_id"]')
"$OSTEL" quality "$f16" "$TMP/q8.gguf" "${Q[@]}" --dir "$TMP/q7" --keep-logits >/dev/null 2>"$TMP/err4b" ||
    fail "q7 again failed"
assert_grep "2 of 2 passes already done" "$TMP/err4b"
touch -d '2001-01-01' "$TMP/q8.gguf"
"$OSTEL" quality "$f16" "$TMP/q8.gguf" "${Q[@]}" --dir "$TMP/q7" >/dev/null 2>"$TMP/err4c" ||
    { cat "$TMP/err4c" >&2; fail "q7 after the change failed"; }
assert_grep "1 of 2 passes already done" "$TMP/err4c"
[ "$(json "$k7/summary.json" 'j["run"]["run_id"]')" != "$id7" ] || fail "the changed model was not measured again"
# two models under one tag (model.gguf in two directories) are refused before anything runs
mkdir -p "$TMP/d1" "$TMP/d2"
cp "$q8" "$TMP/d1/model.gguf"
cp "$q4" "$TMP/d2/model.gguf"
rc=0
"$OSTEL" quality "$f16" "$TMP/d1/model.gguf" "$TMP/d2/model.gguf" "${Q[@]}" --dir "$TMP/q8" -q \
    >/dev/null 2>"$TMP/err4d" || rc=$?
assert_eq "$rc" 2 "duplicate tags refused"
assert_grep "would both be 'model'" "$TMP/err4d"
[ ! -e "$TMP/q8" ] || [ -z "$(ls "$TMP/q8")" ] || fail "something ran despite the duplicate tags"

# 4. the disk-space refusal, computed before anything is written
rc=0
"$OSTEL" quality "$f16" "$q8" "${Q[@]}" --dir "$TMP/q3" --quality-free-bytes 1M -q \
    >/dev/null 2>"$TMP/err5" || rc=$?
assert_eq "$rc" 1 "refused for space"
assert_grep "the base logits need 15.4 MiB" "$TMP/err5"
assert_grep "quality-chunks" "$TMP/err5"
assert_eq "$(ls -d "$TMP"/q3/base-* 2>/dev/null | wc -l)" 0 "no pass ran"
# and a disk that really fills up mid-pass (root only: a 6 MiB tmpfs for a 15 MiB file)
if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/small" && mount -t tmpfs -o size=6m tmpfs "$TMP/small" 2>/dev/null; then
    rc=0
    "$OSTEL" quality "$f16" "$q8" "${Q[@]}" --dir "$TMP/small/q" --quality-free-bytes 1G -q \
        >/dev/null 2>"$TMP/err6" || rc=$?
    ls "$TMP"/small/q >"$TMP/left" 2>&1 || true
    # nothing is stored as done: no pass summary says ok
    done_n=$( (grep -l '"ok":[[:space:]]*true' "$TMP"/small/q/*/summary.json 2>/dev/null || true) | wc -l)
    umount "$TMP/small"
    assert_eq "$done_n" 0 "no pass done after the full disk"
    assert_eq "$rc" 1 "a full disk fails the pass"
    assert_grep "disk full" "$TMP/err6"
    if grep -q '\.kld' "$TMP/left"; then fail "a partial logits file was left behind"; fi
else
    note "not root or no tmpfs: the full-disk case is skipped"
fi

# 5. a vocabulary other than the base's is refused with the reason; the others still run
rc=0
"$OSTEL" quality "$f16" "$qwen" "$q8" "${Q[@]}" --dir "$TMP/q4" >/dev/null 2>"$TMP/err7" || rc=$?
assert_eq "$rc" 1 "mismatched vocabulary refused"
assert_grep "vocabulary has 151936 tokens" "$TMP/err7"
[ -d "$(ls -d "$TMP"/q4/kld-tiny-llama-Q8_0-* | head -1)" ] || fail "the other model was not measured"
# the refusal is a failed pass of its own, with the reason; the logits kept, named with their size
kq=$(ls -d "$TMP"/q4/kld-tiny-qwen-F16-*/) || fail "the refused model left no pass directory"
kq=${kq%/}
assert_eq "$(json "$kq/summary.json" 'j["run"]["status"]')" failed "the refused pass's status"
assert_eq "$(json "$kq/summary.json" 'j["quality"]["ok"]')" False "the refused pass is not done"
assert_grep "151936" "$kq/llama_output.log"
json "$kq/summary.json" 'j["quality"]["error"]' | grep -q "vocabulary has 151936 tokens" ||
    fail "no reason in the refused pass's summary"
assert_grep "are kept because a pass did not finish" "$TMP/err7"
assert_grep "(15.4 MiB)" "$TMP/err7"

# 6. a text shorter than two contexts: the token count in the error
head -c 2000 "$text" >"$TMP/short.txt"
rc=0
"$OSTEL" quality "$f16" "$q8" -c 512 --quality-text "$TMP/short.txt" --dir "$TMP/q5" -q \
    >/dev/null 2>"$TMP/err8" || rc=$?
assert_eq "$rc" 1 "short text refused"
grep -Eq "tokenizes to [0-9]+ tokens, and a context of 512 needs at least 1024" "$TMP/err8" ||
    fail "no token count in: $(cat "$TMP/err8")"

# 7. the store: db import keeps each pass's figures in the quality table
"$OSTEL" db import "$b" "$k8" "$k4" --db "$TMP/q.db" >/dev/null || fail "db import failed"
assert_eq "$(sqlite3 "$TMP/q.db" 'select count(*) from quality')" 3 "quality rows"
assert_eq "$(sqlite3 "$TMP/q.db" "select kld_mean from quality q join runs r on r.id = q.run_id where r.tag = 'q4'")" \
    "$(kld "$k4")" "stored KLD"
# and the report: the quality table beside speed and memory
"$OSTEL" report "$TMP/q1" -f md -o "$TMP/r.md" >/dev/null 2>&1 || fail "report failed"
assert_grep "Quality (KL divergence" "$TMP/r.md"

# 8. the same mechanism in a study: quality passes after the runs, in its database and its report
"$OSTEL" study -q -m "$q4,$q8" -t q4,q8 -c 256 -n 8 -r 1 --no-warmup --cooldown 0.1s \
    --dir "$TMP/s" --quality --quality-base "$f16" --quality-text "$text" --quality-ctx 128 \
    --quality-chunks 2 --quality-batch 256 >/dev/null 2>"$TMP/err9" ||
    { cat "$TMP/err9" >&2; fail "study --quality failed"; }
assert_eq "$(sqlite3 "$TMP/s/ostel.db" 'select count(*) from quality where ok = 1')" 3 "study quality rows"
assert_eq "$(sqlite3 "$TMP/s/ostel.db" "select count(*) from runs where tool = 'llama-completion'")" 2 \
    "the measured runs"
assert_grep "Quality (KL divergence" "$TMP/s/report.md"
grep -Eq '^- \*\*q8\*\*: .*× the generation speed.*mean KLD [0-9.]+ ± [0-9.]+ \(same top token' \
    "$TMP/s/report.md" || fail "no quality line for q8 in report.md"
assert_grep 'id="quality-chart"' "$TMP/s/report.html"
assert_grep "KLD ratio" "$TMP/s/report.md"
# the baseline q4 is the reference; q8's KLD ratio against it, with its error
grep -Eq '^\| *q8 .*\| *[0-9.]+× ± [0-9.]+ *\|$' "$TMP/s/report.md" || fail "no KLD ratio for q8 in report.md"
assert_grep "ostel synth files (random weights)" "$TMP/s/report.md"
assert_grep ", -b 256, -ub 256 (llama.cpp's default)" "$TMP/s/report.md"
assert_eq "$(sqlite3 "$TMP/s/ostel.db" "select count(distinct spec_hash) from runs r join quality q on q.run_id = r.id")" \
    3 "each pass its own spec hash"
# a sharded study cannot run the quality passes
rc=0
"$OSTEL" study -q -m "$q4" --dir "$TMP/s2" --quality --quality-text "$text" --shard 1/2 \
    >/dev/null 2>"$TMP/err9b" || rc=$?
assert_eq "$rc" 2 "--quality with --shard refused"
assert_grep "cannot run in a sharded study" "$TMP/err9b"

# 9. kept logits that were truncated, or whose settings record is another's, are refused
"$OSTEL" quality "$f16" "$q8" "${Q[@]}" --dir "$TMP/q6" --keep-logits -q >/dev/null 2>&1 ||
    fail "q6 failed"
kf=$(ls "$TMP"/q6/*.kld)
rm -rf "$TMP"/q6/kld-*
cp "$kf" "$TMP/kld.orig"
truncate -s 100000 "$kf"
rc=0
"$OSTEL" quality "$f16" "$q8" "${Q[@]}" --dir "$TMP/q6" -q >/dev/null 2>"$TMP/err10" || rc=$?
assert_eq "$rc" 1 "truncated logits refused"
assert_grep "truncated: 100000 of 16132084 bytes" "$TMP/err10"
cp "$TMP/kld.orig" "$kf"
sed -i 's/^ctx=128$/ctx=256/' "$kf.settings"
rc=0
"$OSTEL" quality "$f16" "$q8" "${Q[@]}" --dir "$TMP/q6" -q >/dev/null 2>"$TMP/err11" || rc=$?
assert_eq "$rc" 1 "logits of other settings refused"
assert_grep "ctx=256 where this run has ctx=128" "$TMP/err11"
