#!/usr/bin/env bash
# scripts/demo.sh — the main job, from a fresh machine: set-up, then the Q4-vs-Q8 study on synthesized
# models, ending with the report's path.
#
#   1. scripts/setup.sh (packages, pinned llama.cpp, ostel);
#   2. ostel synth llama-3.2-1b (F16, random weights, the real shape) and llama-quantize to Q8_0 and
#      Q4_K_M (kept in demo/models and reused by later runs);
#   3. ostel inspect and ostel fit of both;
#   4. ostel study: both models at context 4096, 256 generated tokens, 3 repetitions, on an idle
#      machine and with a memory hog that leaves llama.cpp only OSTEL_DEMO_LEAVE of available memory
#      (default 1350M: just at Q8_0's working set, so part of its mapped weights is read back from
#      disk during the run); the hog re-writes its pages once a minute, so that it takes memory, not
#      CPU, from llama.cpp (this machine has no swap: its anonymous pages cannot be evicted anyway);
#      re-running resumes (complete runs are skipped);
#   5. with the study, its quality passes (docs/quality.md): llama-perplexity's KL divergence of both
#      models against their F16 source, on a text the machine already has (the GPL from
#      /usr/share/common-licenses, else ostel's README), 4 chunks of 128 tokens: 21 s to 1 min here.
# On a machine with an NVIDIA GPU (nvidia-smi answers) where setup.sh built the pinned llama.cpp with
# CUDA (its cache directory llama.cpp-nlc-3.21.1-cuda-sm<arch>), the demo runs on the GPU instead:
#   2'. ostel synth llama-3.1-8b (the 8B shape: big enough that the GPU matters) as F16 quantized to
#      Q8_0 and Q4_K_M when the disk has room for the three (about 30 GB), else synthesized as Q8_0
#      and requantized to Q4_K_M (llama-quantize --allow-requantize);
#   3'. ostel fit holds both against each GPU's free memory (NVML);
#   4'. the study with the CUDA build and -- -ngl 99, idle only (a host-memory hog is not what a
#      GPU run feels; OSTEL_DEMO_SCENARIOS overrides), into DEMO/study-gpu; ostel records the GPU
#      through NVML, and the report has its GPU section (VRAM, power, energy per token).
# OSTEL_DEMO_GPU=0 keeps the CPU demo on such a machine; without a GPU nothing of this applies.
# Environment: OSTEL_DEMO_DIR (default ./demo), OSTEL_DEMO_PRESET (default llama-3.2-1b; on the GPU
# llama-3.1-8b), OSTEL_DEMO_LEAVE (default 1350M), OSTEL_DEMO_REPS (default 3), OSTEL_DEMO_GEN
# (default 256), OSTEL_DEMO_GPU, OSTEL_DEMO_SCENARIOS (GPU only; default none).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh"

OSTEL="$ROOT/build/ostel"
DEMO="${OSTEL_DEMO_DIR:-$ROOT/demo}"
say() { printf '==> demo: %s\n' "$*" >&2; }

# The GPU demo: an NVIDIA GPU answers and setup.sh built the CUDA pin (not when OSTEL_DEMO_GPU=0).
GPU_BIN=""
if [ "${OSTEL_DEMO_GPU:-}" != 0 ] && command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    for d in "${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}"/llama.cpp-nlc-3.21.1-cuda-sm*; do
        if [ -f "$d/.complete" ] && [ -x "$d/bin/llama-completion" ]; then GPU_BIN="$d/bin"; break; fi
    done
    [ -n "$GPU_BIN" ] || say "an NVIDIA GPU answers but no CUDA build of llama.cpp is cached: the demo runs on the CPU"
fi
if [ -n "$GPU_BIN" ]; then
    PRESET="${OSTEL_DEMO_PRESET:-llama-3.1-8b}"
else
    PRESET="${OSTEL_DEMO_PRESET:-llama-3.2-1b}"
fi
MODELS="$DEMO/models"
mkdir -p "$MODELS"

find_tool() {
    local t=$1
    if [ -n "${OSTEL_LLAMA_BIN:-}" ]; then echo "$OSTEL_LLAMA_BIN/$t"; return; fi
    local pinned="${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}/llama.cpp-nlc-3.21.1/bin/$t"
    if [ -x "$pinned" ]; then echo "$pinned"; else command -v "$t"; fi
}
QUANTIZE=$(find_tool llama-quantize)

F16="$MODELS/$PRESET-f16.gguf"
SRC="$F16"   # what Q8_0 and Q4_K_M are quantized from
REQUANT=()
if [ -n "$GPU_BIN" ] && [ ! -f "$F16" ]; then
    # F16 of the 8B shape is 16 GB, Q8_0 8.5 GB, Q4_K_M 4.9 GB: with less room than the three need
    # (plus 2 GB), synthesize Q8_0 and requantize it to Q4_K_M.
    need_kib=$("$OSTEL" synth "$PRESET" --type f16 -o "$F16" --dry-run 2>/dev/null |
        awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "bytes") {printf "%d", $i / 1024 * 1.9 + 2097152; exit}}')
    avail_kib=$(df -Pk "$MODELS" | awk 'NR == 2 {print $4}')
    if [ -z "$need_kib" ] || [ -z "$avail_kib" ] || [ "$avail_kib" -lt "$need_kib" ]; then
        SRC="$MODELS/$PRESET-Q8_0.gguf"
        REQUANT=(--allow-requantize)
        if [ ! -f "$SRC" ]; then
            say "synthesizing $PRESET (Q8_0, random weights; too little disk for F16 and both quantizations)"
            "$OSTEL" synth "$PRESET" --type q8_0 -o "$SRC"
        fi
    fi
fi
if [ "$SRC" = "$F16" ] && [ ! -f "$F16" ]; then
    say "synthesizing $PRESET (F16, random weights)"
    "$OSTEL" synth "$PRESET" --type f16 -o "$F16"
fi
for q in Q8_0 Q4_K_M; do
    out="$MODELS/$PRESET-$q.gguf"
    if [ ! -f "$out" ]; then
        say "quantizing to $q with $(basename "$QUANTIZE")"
        "$QUANTIZE" ${REQUANT[@]+"${REQUANT[@]}"} "$SRC" "$out.tmp" "$q" >"$MODELS/quantize-$q.log" 2>&1 ||
            { tail -n 20 "$MODELS/quantize-$q.log" >&2; rm -f "$out.tmp"; exit 1; }
        mv "$out.tmp" "$out"
    fi
done

Q8="$MODELS/$PRESET-Q8_0.gguf"
Q4="$MODELS/$PRESET-Q4_K_M.gguf"
say "inspecting both"
"$OSTEL" inspect "$Q8" "$Q4"
say "will they fit at context 4096?"
"$OSTEL" fit -m "$Q4" -m "$Q8" -c 4096

LEAVE="${OSTEL_DEMO_LEAVE:-1350M}"
# the quality passes' text: one this machine already has (nothing is downloaded)
TEXT=/usr/share/common-licenses/GPL-3
[ -r "$TEXT" ] || TEXT="$ROOT/README.md"
if [ -n "$GPU_BIN" ]; then
    # the quality base: the F16 source when there is one, else the highest-precision model (Q8_0)
    BASE=()
    [ -f "$F16" ] && BASE=(--quality-base "$F16")
    say "the study on the GPU ($GPU_BIN, -ngl 99): Q4_K_M vs Q8_0 of $PRESET"
    "$OSTEL" study -m "$Q4,$Q8" -t q4,q8 -c 4096 -n "${OSTEL_DEMO_GEN:-256}" -r "${OSTEL_DEMO_REPS:-3}" \
        --scenario "${OSTEL_DEMO_SCENARIOS:-none}" --name "$PRESET-q4-vs-q8-gpu" --dir "$DEMO/study-gpu" \
        --llama-bin "$GPU_BIN" --quality ${BASE[@]+"${BASE[@]}"} --quality-text "$TEXT" \
        --quality-ctx 128 --quality-chunks 4 -- -ngl 99
    exit 0
fi
say "the study: Q4_K_M vs Q8_0, idle and with only $LEAVE of memory left to llama.cpp"
"$OSTEL" study -m "$Q4,$Q8" -t q4,q8 -c 4096 -n "${OSTEL_DEMO_GEN:-256}" -r "${OSTEL_DEMO_REPS:-3}" \
    --scenario "none,mem:avail-$LEAVE" --hog-cycle 60s --name "$PRESET-q4-vs-q8" --dir "$DEMO/study" \
    --quality --quality-base "$F16" --quality-text "$TEXT" --quality-ctx 128 --quality-chunks 4
