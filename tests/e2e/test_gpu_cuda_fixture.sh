#!/usr/bin/env bash
# The CUDA study made on the device machine (tests/data/runs/cuda-h100: bench/gpu_cuda.sh on an
# NVIDIA H100 80GB HBM3, the pinned llama.cpp built with CUDA, Llama-3.1-8B shapes from ostel synth
# as Q4_K_M and Q8_0, ctx 4096, 1024 tokens, -ngl 99, 10 repetitions each; and one Q4_K_M run with
# and one without mmap) through parse, report and fit:
# - parse reads llama.cpp's CUDA0 memory breakdown from the log;
# - the report's GPU section: VRAM beyond llama.cpp's accounting (NVML process peak − llama.cpp's
#   self), energy per token with its CI, and Q8_0 against Q4_K_M (ratio, Welch) on J/token;
# - the host side read right: with the model on the GPU, RSS is file-backed pages of the mmap'd
#   GGUF; with --no-mmap those are gone (what is left is the CUDA libraries' mapped code);
# - the serving study (serve-study/: ostel study --serve of both on llama-server, concurrency 1, 4,
#   16, 2 repetitions): every request completed with the synthesized model's non-UTF-8 tokens
#   banned, the serving section per group and level with the GPU, and ~600 MiB beyond llama.cpp too;
# - fit, on a sparse synthesized 8B Q8_0 (the same header, no weights on disk), predicts every
#   buffer of the log exactly, and its GPU need with the CUDA overhead covers NVML's process peak.
source "$(dirname "$0")/lib.sh"

D="$SRC/tests/data/runs/cuda-h100"
Q4R="$D/study/001-q4_k_m-none-c4096-n1024-r1"
Q8R="$D/study/002-q8_0-none-c4096-n1024-r1"

# parse: the log's own accounting on CUDA0
"$OSTEL" parse --json "$Q8R/llama_output.log" >"$TMP/parse.json" || fail "parse of the CUDA log"
cuda0() { json "$TMP/parse.json" "[d for d in j['memory_breakdown'] if d['device'].startswith('CUDA0')][0]['$1']"; }
assert_eq "$(cuda0 self)" 8375 "llama.cpp's CUDA0 self (Q8_0)"
assert_eq "$(cuda0 model)" 7605 "CUDA0 model"
assert_eq "$(json "$TMP/parse.json" 'j["context"]["offloaded_layers"]')" 33 "layers offloaded"

# report: the GPU section per group, over the 20 runs
"$OSTEL" report --format json --baseline q4_k_m "$D/study" >"$TMP/r.json" 2>"$TMP/err" ||
    { cat "$TMP/err"; fail "report of the CUDA study"; }
g() { json "$TMP/r.json" "[x for x in j['groups'] if x['label'] == '$1'][0]$2"; }
assert_eq "$(g q4_k_m "['n_ok']")" 10 "q4_k_m runs"
assert_eq "$(g q8_0 "['n_ok']")" 10 "q8_0 runs"
for t in q4_k_m q8_0; do
    assert_eq "$(g $t "['metrics']['gpu_beyond_llama_mib']['mean']")" 599 "$t: VRAM beyond llama.cpp"
    assert_eq "$(g $t "['metrics']['gpu_j_per_token']['n']")" 10 "$t: J/token over 10 runs"
done
assert_eq "$(g q4_k_m "['metrics']['gpu_llama_mib']['mean']")" 5173 "q4_k_m: llama.cpp on CUDA0"
assert_eq "$(g q4_k_m "['metrics']['gpu_process_peak_mib']['mean']")" 5772 "q4_k_m: NVML process peak"
assert_eq "$(g q8_0 "['metrics']['gpu_process_peak_mib']['mean']")" 8974 "q8_0: NVML process peak"
assert_eq "$(g q4_k_m "['metrics']['gpu_j_per_token']['mean']")" 1.93293 "q4_k_m: J/token"
assert_eq "$(g q8_0 "['metrics']['gpu_j_per_token']['mean']")" 2.24784 "q8_0: J/token"
# the CI is the mean's: it holds the mean and lies inside the runs' range
python3 - "$TMP/r.json" <<'PY' || fail "J/token CI or the Q8_0-vs-Q4_K_M comparison is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
g = {x["label"]: x for x in j["groups"]}
for m in (g["q4_k_m"]["metrics"]["gpu_j_per_token"], g["q8_0"]["metrics"]["gpu_j_per_token"]):
    lo, hi = m["ci95"]
    assert m["min"] < lo < m["mean"] < hi < m["max"], m
c = g["q8_0"]["vs_baseline"]["gpu_j_per_token"]
assert c["significant"] and c["p"] < 0.001, c
assert 1.15 < c["ci95"][0] < c["ratio"] < c["ci95"][1] < 1.17, c  # 16 % more energy per token
t = g["q8_0"]["vs_baseline"]["gpu_tokens_per_j"]
assert t["ratio"] < 1 and t["significant"], t
PY
"$OSTEL" report --format md --baseline q4_k_m "$D/study" >"$TMP/r.md" || fail "md report"
assert_grep '^## GPU' "$TMP/r.md"
assert_grep '| q8_0 | Energy per token (J) | 1.163× |' "$TMP/r.md"
assert_grep 'file-backed pages of the mmap' "$TMP/r.md"
assert_grep '599 MiB beyond llama.cpp' "$TMP/r.md"
"$OSTEL" report --format html --baseline q4_k_m "$D/study" -o "$TMP/r.html" 2>/dev/null || fail "html report"
assert_grep '<h2>GPU</h2>' "$TMP/r.html"
assert_grep '1.933 ± 0.010' "$TMP/r.html"

# the host side: mmap'd, the peak RSS is the model file's pages; --no-mmap, they are not there
peak() { json "$D/mmap/$1/summary.json" "j['telemetry']['overall']['$2']"; }
awk -v m="$(peak q4-mmap rss_file_peak_mib)" -v n="$(peak q4-no-mmap rss_file_peak_mib)" \
    -v a="$(peak q4-mmap rss_anon_peak_mib)" -v b="$(peak q4-no-mmap rss_anon_peak_mib)" \
    'BEGIN{exit !(m > 4600 && n < 600 && a < 300 && b < 300)}' ||
    fail "file-backed RSS with and without mmap: $(peak q4-mmap rss_file_peak_mib) / $(peak q4-no-mmap rss_file_peak_mib)"

# the serving study
S="$D/serve-study"
for r in "$S"/*/; do
    assert_eq "$(json "$r/summary.json" 'sum(l["failed"] for l in j["serve"]["levels"])')" 0 "failed requests in $r"
    assert_eq "$(json "$r/summary.json" 'j["serve"]["banned_tokens"]')" 1352 "banned tokens in $r"
done
"$OSTEL" report --format json --baseline q4_k_m "$S" >"$TMP/s.json" || fail "report of the serving study"
python3 - "$TMP/s.json" <<'PY' || fail "the serving study's report is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
g = {x["label"]: x for x in j["groups"]}
assert g["q4_k_m"]["metrics"]["gpu_beyond_llama_mib"]["mean"] == 606, g["q4_k_m"]["metrics"]["gpu_beyond_llama_mib"]
assert g["q4_k_m"]["metrics"]["gpu_process_peak_mib"]["mean"] == 7166
sv = g["q8_0"]["serve"]
levels = {l["name"]: l for l in sv["levels"]}
assert sorted(levels) == ["c1", "c16", "c4"], sorted(levels)
c1 = levels["c1"]["vs_baseline"]["request_throughput"]
assert c1["significant"] and 0.85 < c1["ratio"] < 0.95, c1  # Q8_0 slower at one stream
assert not levels["c4"]["vs_baseline"]["request_throughput"]["significant"]
PY
"$OSTEL" report --format md --baseline q4_k_m "$S" >"$TMP/s.md" || fail "md report of the serving study"
assert_grep '^## Serving by group: the machine' "$TMP/s.md"
assert_grep '| q4_k_m | c16 | 2 | 6,808.6 ± 0.1 |' "$TMP/s.md"

# fit: a sparse 8B Q8_0 of the same shape (ostel synth --sparse: the header, the weights a hole)
model="$TMP/llama-3.1-8b-Q8_0.gguf"
"$OSTEL" synth llama-3.1-8b --type q8_0 --sparse -o "$model" >/dev/null 2>"$TMP/synth.err" ||
    skip "ostel synth could not make the 8B header: $(head -1 "$TMP/synth.err")"
assert_eq "$(stat -c %s "$model")" "$(json "$Q8R/summary.json" 'j["model_file"]["file_size"]')" \
    "the sparse model has the study model's size"
"$OSTEL" fit -m "$model" -c 4096 --device cuda --gpu-mem 80G --compare "$Q8R/llama_output.log" \
    >"$TMP/cmp.json" || fail "fit --compare on the CUDA log"
python3 - "$TMP/cmp.json" <<'PY' || fail "fit's prediction of the CUDA buffers is not exact"
import json, sys
j = json.load(open(sys.argv[1]))
gpu = [d for d in j["devices"] if d["device"] == "gpu"][0]
for part in ("model", "context", "compute"):
    assert gpu[part]["error_pct"] == 0, (part, gpu[part])
assert j["within_bars"], j
PY
OSTEL_GPU=none "$OSTEL" fit -m "$model" -c 4096 --device cuda --gpu-mem 80G --json >"$TMP/fit.json" ||
    fail "fit --json"
python3 - "$TMP/fit.json" "$Q8R/summary.json" <<'PY' || fail "fit's GPU need does not cover NVML's process peak"
import json, sys
f, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
need = [d for d in f["models"][0]["needs"] if d["device"] == "gpu"][0]["need_mib"]
err = f["machine"]["cuda_overhead_err_mib"]
peak = s["gpu"]["run"]["peak_proc_mem_mb"]
assert abs(need - peak) <= err, (need, peak, err)
PY
note "CUDA study fixture: parse, report (GPU section, J/token CI, mmap) and fit agree"
