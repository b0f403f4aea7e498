#!/usr/bin/env bash
# `ostel fit` on NVIDIA GPUs, with the NVML test double (tests/gpu/fake_nvml.c) loaded through ostel's
# own dlopen path: one budget per GPU from NVML's free memory (two GPUs with different free memory,
# the GPU buffers split in proportion), the CUDA runtime's overhead added to each GPU's need with its
# error bar (also under --gpu-mem), OSTEL_GPU=none respected, and a driver stuck in nvmlInit bounded.
# Needs only `ostel synth` (the pinned vocab), not llama.cpp.
source "$(dirname "$0")/lib.sh"

fake="$(dirname "$OSTEL")/fake_nvml/libnvidia-ml.so.1"
[ -f "$fake" ] || skip "no NVML test double at $fake (not Linux?)"
export OSTEL_NVML_LIB="$fake"
unset OSTEL_GPU OSTEL_FIT_DEVICE OSTEL_FIT_GPU_MEM
model="$TMP/tiny.gguf"
"$OSTEL" synth tiny-llama --type f16 -o "$model" >/dev/null 2>"$TMP/synth.err" ||
    skip "ostel synth could not make a model: $(head -1 "$TMP/synth.err")"
dev() { # dev FILE NAME EXPR → EXPR over the machine device called NAME
    json "$1" "[d for d in j['machine']['devices'] if d['device'] == '$2'][0]$3"
}
need() {
    json "$1" "[d for d in j['models'][0]['needs'] if d['device'] == '$2'][0]['need_mib']"
}

# 1. Two GPUs: 134221 and 43221 MiB free (143771 total, 550 reserved, 9000 and 100000 used).
FAKE_NVML_GPUS=2 FAKE_NVML_USED_MIB=9000,100000 "$OSTEL" fit -m "$model" -c 512 --json \
    >"$TMP/two.json" || fail "fit with two GPUs failed"
assert_eq "$(json "$TMP/two.json" 'j["machine"]["backend"]')" cuda "auto device with NVML"
assert_eq "$(dev "$TMP/two.json" gpu0 "['budget_mib']")" 134221 "gpu0 budget"
assert_eq "$(dev "$TMP/two.json" gpu1 "['budget_mib']")" 43221 "gpu1 budget"
assert_eq "$(dev "$TMP/two.json" gpu1 "['nvml_index']")" 1 "gpu1 index"
overhead=$(json "$TMP/two.json" 'j["machine"]["cuda_overhead_mib"]')
awk "BEGIN{exit !($overhead > 0)}" || fail "no CUDA overhead in the prediction: $overhead"
n0=$(need "$TMP/two.json" gpu0)
n1=$(need "$TMP/two.json" gpu1)
# shares in proportion to free memory: (n0 - o) / (n1 - o) = 134221 / 43221
awk -v a="$n0" -v b="$n1" -v o="$overhead" \
    'BEGIN{r=(a-o)/(b-o); exit !(r > 134221/43221*0.999 && r < 134221/43221*1.001)}' ||
    fail "GPU needs $n0 / $n1 not split by free memory"
FAKE_NVML_GPUS=2 FAKE_NVML_USED_MIB=9000,100000 "$OSTEL" fit -m "$model" -c 512 >"$TMP/two.txt" ||
    fail "fit (text) failed"
assert_grep 'gpu1  needs .* of 43221 MiB (NVML free on GPU 1 (NVIDIA H200))' "$TMP/two.txt"
assert_grep 'CUDA runtime' "$TMP/two.txt"

# 2. One GPU: named "gpu"; its need is llama.cpp's GPU total plus the overhead.
"$OSTEL" fit -m "$model" -c 512 --json >"$TMP/one.json" || fail "fit with one GPU failed"
gpu_total=$(json "$TMP/one.json" 'j["models"][0]["prediction"]["devices"][1]["total_mib"]')
n=$(need "$TMP/one.json" gpu)
awk -v n="$n" -v t="$gpu_total" -v o="$overhead" 'BEGIN{d=n-t-o; exit !(d < 0.02 && d > -0.02)}' ||
    fail "one GPU's need $n is not $gpu_total + $overhead"

# 3. --gpu-mem: the overhead counts there too, and its error bar makes a near miss "tight".
err=$(json "$TMP/one.json" 'j["machine"]["cuda_overhead_err_mib"]')
gpu_verdict() { # gpu_verdict MiB → the gpu's verdict with --gpu-mem MiB
    "$OSTEL" fit -m "$model" -c 512 --device cuda --gpu-mem "${1}M" --json >"$TMP/gm.json" || true
    json "$TMP/gm.json" '[d for d in j["models"][0]["needs"] if d["device"] == "gpu"][0]["verdict"]'
}
below=$(awk -v n="$n" 'BEGIN{printf "%d", n - 10}')
assert_eq "$(gpu_verdict "$below")" "does not fit" "--gpu-mem below need + overhead"
# fits by the 10 % rule (need < 90 % of it) but not by the error bar (need + err > it)
in_bar=$(awk -v n="$n" -v e="$err" 'BEGIN{printf "%d", (n / 0.9 + n + e) / 2}')
assert_eq "$(gpu_verdict "$in_bar")" tight "--gpu-mem within the overhead's error bar"
clear=$(awk -v n="$n" -v e="$err" 'BEGIN{printf "%d", (n + e) / 0.9 + 50}')
assert_eq "$(gpu_verdict "$clear")" fits "--gpu-mem well above need"

# 4. OSTEL_GPU=none: NVML is not asked; auto is the CPU, --device cuda has no budget.
OSTEL_GPU=none "$OSTEL" fit -m "$model" -c 512 --json >"$TMP/none.json" || fail "fit OSTEL_GPU=none"
assert_eq "$(json "$TMP/none.json" 'j["machine"]["backend"]')" cpu "OSTEL_GPU=none backend"
OSTEL_GPU=none "$OSTEL" fit -m "$model" -c 512 --device cuda --json >"$TMP/none2.json" || true
case "$(dev "$TMP/none2.json" gpu "['budget_source']")" in
*OSTEL_GPU=none*) ;;
*) fail "OSTEL_GPU=none not named in the budget source" ;;
esac

# 5. nvmlInit hangs: fit gives up on NVML after its bound and answers for the CPU.
FAKE_NVML_INIT_HANG_MS=60000 "$OSTEL" fit -m "$model" -c 512 --json >"$TMP/hang.json" ||
    fail "fit with a hung driver failed"
assert_eq "$(json "$TMP/hang.json" 'j["machine"]["backend"]')" cpu "hung NVML backend"
case "$(json "$TMP/hang.json" 'j["machine"]["nvml"]')" in
*"did not answer"*) ;;
*) fail "the hung NVML is not reported" ;;
esac
note "fit per GPU from the fake NVML: budgets, split, overhead ± error bar, none, hang bounded"
