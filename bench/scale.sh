#!/usr/bin/env bash
# bench/scale.sh — `ostel report` and `ostel db` at scale: 1,000 / 10,000 (/ 100,000) runs.
#
#   bash bench/scale.sh [--sizes 1000,10000] [--100k] [--interval DUR] [--work DIR] [--reuse]
#
# 1. makes a few real runs itself: a tiny synthesized model (ostel synth tiny-llama, F16 and Q8_0
#    by llama-quantize) in a small `ostel study` (2 models x 3 repetitions, 1024 generated tokens,
#    10 ms sampling: on an idle 2-core machine about 100-150 samples a run, as in issue 16),
#    on the pinned llama.cpp (scripts/setup.sh);
# 2. builds each run-directory set from them: copies taken in turn, each with a fresh run_id
#    (bench/scale_make_set.py; metrics.csv and llama_output.log hard-linked);
# 3. times side by side, on each set: report --format md|csv|json|html from the directories,
#    db import, report --db (md and html), and headless Chromium opening the HTML page (a
#    screenshot); for each, wall and CPU seconds and peak RSS (/usr/bin/time -v).
# --100k adds a 100,000-run database generated from the 10,000-run one (runs and samples copied
#    in SQL with fresh run ids) and times report --db --format md on it.
# Prints a Markdown table. The machine's other load moves wall times; CPU seconds move less.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OSTEL=${OSTEL_BIN:-$ROOT/build/ostel}
WORK=${TMPDIR:-/tmp}/ostel-bench-scale
SIZES=1000,10000
BIG=0
REUSE=0
INTERVAL=10ms
while [ $# -gt 0 ]; do
    case "$1" in
    --sizes) SIZES=$2; shift ;;
    --100k) BIG=1 ;;
    --work) WORK=$2; shift ;;
    --reuse) REUSE=1 ;;
    --interval) INTERVAL=$2; shift ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "scale.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$OSTEL" ] || { echo "scale.sh: no ostel at $OSTEL (bash scripts/setup.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "scale.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
mkdir -p "$WORK"
say() { printf '==> scale: %s\n' "$*" >&2; }

# ---- 1. real runs ----
LLAMA_BIN=${OSTEL_LLAMA_BIN:-${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}/llama.cpp-nlc-3.21.1/bin}
SEED="$WORK/seed"
SEED_RUNS="$SEED/study/runs"
if [ "$REUSE" = 0 ] || [ ! -d "$SEED_RUNS" ]; then
    rm -rf "$SEED"
    mkdir -p "$SEED"
    if [ -x "$LLAMA_BIN/llama-completion" ] && [ -x "$LLAMA_BIN/llama-quantize" ]; then
        say "real runs: ostel synth tiny-llama, llama-quantize Q8_0, ostel study (6 runs)"
        "$OSTEL" synth tiny-llama --type f16 -o "$SEED/tiny-f16.gguf" >/dev/null
        "$LLAMA_BIN/llama-quantize" "$SEED/tiny-f16.gguf" "$SEED/tiny-q8.gguf" Q8_0 \
            >"$SEED/quantize.log" 2>&1
        OSTEL_LLAMA_BIN=$LLAMA_BIN "$OSTEL" study -q -m "$SEED/tiny-f16.gguf,$SEED/tiny-q8.gguf" \
            -t f16,q8 -c 2048 -n 1024 -r 3 --interval "$INTERVAL" --cooldown 0.1s --dir "$SEED/study" \
            >/dev/null
    else
        say "no llama.cpp at $LLAMA_BIN: using the recorded real runs of tests/data/runs instead"
        mkdir -p "$SEED_RUNS"
        cp -r "$ROOT/tests/data/runs/real-tiny/." "$SEED_RUNS/"
    fi
fi
nseed=$(find "$SEED_RUNS" -mindepth 2 -maxdepth 2 -name summary.json | wc -l)
samples=$(find "$SEED_RUNS" -mindepth 2 -maxdepth 2 -name metrics.csv -exec cat {} + | wc -l)
say "$nseed real runs, $((samples - nseed)) samples in all"

# ---- timing ----
# measure NAME CMD... → one table row: wall s, CPU s (user+sys), peak RSS MB.
ROWS=()
measure() {
    local name=$1 size=$2
    shift 2
    local log="$WORK/time.log"
    if ! /usr/bin/time -v "$@" >"$WORK/cmd.out" 2>"$log"; then
        tail -n 30 "$log" >&2
        echo "scale.sh: '$name' failed" >&2
        exit 1
    fi
    local wall user sys rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$log" | awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    user=$(sed -n 's/.*User time (seconds): //p' "$log")
    sys=$(sed -n 's/.*System time (seconds): //p' "$log")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    ROWS+=("$(printf '| %s | %s | %.2f | %.2f | %.0f |' "$name" "$size" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)")")
    printf '%-28s %8s  wall %6.2f s  cpu %6.2f s  peak %6.0f MB\n' "$name" "$size" "$wall" \
        "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)" >&2
}

BROWSER=""
for b in chromium chromium-browser google-chrome; do
    command -v "$b" >/dev/null 2>&1 && { BROWSER=$(command -v "$b"); break; }
done

NOTES=()
for n in ${SIZES//,/ }; do
    SET="$WORK/set-$n"
    if [ "$REUSE" = 0 ] || [ ! -d "$SET" ]; then
        rm -rf "$SET" "$WORK/set-$n.db"*
        say "building the $n-run set"
        python3 "$ROOT/bench/scale_make_set.py" "$SET" "$n" "$SEED_RUNS"
    fi
    label=$(printf "%'d" "$n")
    for f in md csv json html; do
        measure "report --format $f" "$label" "$OSTEL" report "$SET" --format "$f" -o "$WORK/r-$n.$f"
    done
    html_kb=$(( $(stat -c %s "$WORK/r-$n.html") / 1024 ))
    rm -f "$WORK/set-$n.db"*
    measure "db import" "$label" "$OSTEL" db import -q --db "$WORK/set-$n.db" "$SET"/*
    measure "report --db (md)" "$label" "$OSTEL" report --db "$WORK/set-$n.db" --format md -o "$WORK/d-$n.md"
    measure "report --db (html)" "$label" "$OSTEL" report --db "$WORK/set-$n.db" --format html -o "$WORK/d-$n.html"
    cmp -s "$WORK/r-$n.md" "$WORK/d-$n.md" || NOTES+=("$n runs: the --db report differs from the directories' one")
    if [ -n "$BROWSER" ]; then
        mkdir -p "$WORK/profile"
        measure "chromium screenshot (html)" "$label" timeout 120 "$BROWSER" --headless --no-sandbox \
            --disable-gpu --no-first-run --user-data-dir="$WORK/profile" --hide-scrollbars \
            --virtual-time-budget=10000 --window-size=1280,3000 --screenshot="$WORK/shot-$n.png" \
            "file://$WORK/r-$n.html"
    fi
    NOTES+=("$label runs: HTML page $html_kb KiB, database $(( $(stat -c %s "$WORK/set-$n.db") / 1048576 )) MiB")
done

if [ "$BIG" = 1 ]; then
    src="$WORK/set-10000.db"
    [ -f "$src" ] || { echo "scale.sh: --100k needs the 10000-run set (--sizes ...,10000)" >&2; exit 1; }
    big="$WORK/set-100000.db"
    rm -f "$big"*
    say "generating the 100,000-run database from the 10,000-run one (SQL copies, fresh run ids)"
    cp "$src" "$big"
    sqlite3 "$big" <<'SQL'
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TEMP TABLE k(i INTEGER); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 9) INSERT INTO k SELECT i FROM c;
CREATE TEMP TABLE src AS SELECT * FROM runs;
CREATE TEMP TABLE srcs AS SELECT * FROM samples;
INSERT INTO runs SELECT src.id + k.i * 1000000, src.run_key || '#' || k.i, study_id, machine_id, spec_hash, run_dir || '-' || k.i, imported_at, kernel, llama_version, tag, status, exit_code, signal, oom_killed, start_ts, end_ts, wall_s, tool, model, ctx, gen, scenario, repetition, ostel_version, samples, interval_ms, interval_ms_mean, interval_ms_p99, load_ms, prompt_tokens, prompt_ms, prompt_tok_s, gen_tokens, gen_ms, gen_tok_s, rss_peak_mib, rss_anon_peak_mib, rss_file_peak_mib, swap_peak_mib, cpu_mean_pct, majflt, pageouts, swapouts, pressure_worst, avail_min_pct, json_set(summary_json, '$.run.run_id', lower(hex(randomblob(16)))), config_text, metrics_header, ostel_cpu_ms, ostel_cpu_us_per_sample FROM src, k;
INSERT INTO samples SELECT srcs.run_id + k.i * 1000000, seq, ts, rss_mb, cpu_pct, vm_pressure_flag, avail_mem_level, pageins_delta, pageouts_delta, phase, rss_anon_mb, rss_file_mb, swap_mb, minflt_delta, majflt_delta, threads, sys_avail_mb, swapin_delta, swapout_delta, psi_some_pct, psi_full_pct, extra FROM srcs, k;
SQL
    measure "report --db (md)" "100,000" "$OSTEL" report --db "$big" --format md -o "$WORK/d-100000.md"
    NOTES+=("100,000 runs: a generated database of $(( $(stat -c %s "$big") / 1048576 )) MiB")
fi

echo
echo "ostel $("$OSTEL" --version 2>/dev/null | head -n1), $(nproc) cores, $nseed real runs copied ($((samples - nseed)) samples), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | runs | wall s | CPU s | peak MB |"
echo "| --- | --: | --: | --: | --: |"
printf '%s\n' "${ROWS[@]}"
echo
for x in "${NOTES[@]}"; do echo "- $x"; done
