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
# Environment: OSTEL_DEMO_DIR (default ./demo), OSTEL_DEMO_PRESET (default llama-3.2-1b),
# OSTEL_DEMO_LEAVE (default 1350M), OSTEL_DEMO_REPS (default 3), OSTEL_DEMO_GEN (default 256).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh"

OSTEL="$ROOT/build/ostel"
DEMO="${OSTEL_DEMO_DIR:-$ROOT/demo}"
PRESET="${OSTEL_DEMO_PRESET:-llama-3.2-1b}"
MODELS="$DEMO/models"
mkdir -p "$MODELS"
say() { printf '==> demo: %s\n' "$*" >&2; }

find_tool() {
    local t=$1
    if [ -n "${OSTEL_LLAMA_BIN:-}" ]; then echo "$OSTEL_LLAMA_BIN/$t"; return; fi
    local pinned="${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}/llama.cpp-nlc-3.21.1/bin/$t"
    if [ -x "$pinned" ]; then echo "$pinned"; else command -v "$t"; fi
}
QUANTIZE=$(find_tool llama-quantize)

F16="$MODELS/$PRESET-f16.gguf"
if [ ! -f "$F16" ]; then
    say "synthesizing $PRESET (F16, random weights)"
    "$OSTEL" synth "$PRESET" --type f16 -o "$F16"
fi
for q in Q8_0 Q4_K_M; do
    out="$MODELS/$PRESET-$q.gguf"
    if [ ! -f "$out" ]; then
        say "quantizing to $q with $(basename "$QUANTIZE")"
        "$QUANTIZE" "$F16" "$out.tmp" "$q" >"$MODELS/quantize-$q.log" 2>&1 ||
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
say "the study: Q4_K_M vs Q8_0, idle and with only $LEAVE of memory left to llama.cpp"
"$OSTEL" study -m "$Q4,$Q8" -t q4,q8 -c 4096 -n "${OSTEL_DEMO_GEN:-256}" -r "${OSTEL_DEMO_REPS:-3}" \
    --scenario "none,mem:avail-$LEAVE" --hog-cycle 60s --name "$PRESET-q4-vs-q8" --dir "$DEMO/study" \
    --quality --quality-base "$F16" --quality-text "$TEXT" --quality-ctx 128 --quality-chunks 4
