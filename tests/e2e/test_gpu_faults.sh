#!/usr/bin/env bash
# GPU faults under `ostel run`, with the NVML test double (tests/gpu/fake_nvml.c) loaded through
# ostel's own dlopen path: a driver stuck in nvmlInit must not block the child (which writes more
# than a pipe holds before it exits), and NVML failing mid-run leaves cells empty while the run goes
# on; summary.json says what happened each time. And the child's CUDA_DEVICE_ORDER. No llama.cpp needed.
source "$(dirname "$0")/lib.sh"

fake="$(dirname "$OSTEL")/fake_nvml/libnvidia-ml.so.1"
[ -f "$fake" ] || skip "no NVML test double at $fake (not Linux?)"
export OSTEL_NVML_LIB="$fake"
# 256 KiB of output, four times the pipe: the runner must drain it while NVML is stuck.
child=(sh -c 'i=0; while [ $i -lt 4096 ]; do printf "%063d\n" $i; i=$((i+1)); done; sleep 0.3')

# 1. nvmlInit hangs (for weeks: longer than the run however slow the machine): the child finishes,
# ostel ends, nothing is recorded.
FAKE_NVML_INIT_HANG_MS=2000000000 "$OSTEL" run -q -t gpu-hang -o "$TMP/hang" -- "${child[@]}" ||
    fail "ostel run failed with a hung nvmlInit"
assert_eq "$(wc -l <"$TMP/hang/llama_output.log" | tr -d ' ')" 4096 "child output lines"
assert_eq "$(json "$TMP/hang/summary.json" 'j["gpu"]["open_timed_out"]')" True "open_timed_out"
assert_grep 'hung while starting' "$TMP/hang/config.txt"
[ ! -e "$TMP/hang/gpu_metrics.csv" ] || fail "gpu_metrics.csv written without a GPU row"

# 2. power fails (Unknown Error) from its 3rd call, energy times out once: the run goes on. The
# child runs until gpu_metrics.csv holds 8 rows (power failed in 5 or more), however long the GPU
# thread takes to read them on a loaded machine.
FAKE_NVML_FAIL=power:3,energy:4-4:10 "$OSTEL" run -q -t gpu-err -o "$TMP/err" \
    --gpu-interval 20ms -- sh -c 'until [ "$(wc -l 2>/dev/null <"$0" || echo 0)" -ge 9 ]; do
        sleep 0.05; done' "$TMP/err/gpu_metrics.csv" || fail "ostel run failed with NVML errors"
assert_eq "$(json "$TMP/err/summary.json" 'j["gpu"]["backend"]')" nvml "backend"
assert_eq "$(json "$TMP/err/summary.json" 'j["gpu"]["devices"][0]["first_error"]')" \
    "nvmlDeviceGetPowerUsage: Unknown Error" "first_error"
failed=$(json "$TMP/err/summary.json" 'j["gpu"]["devices"][0]["failed_reads"]')
[ "${failed%.*}" -ge 3 ] || fail "failed_reads $failed"
# power_w is column 9 (ts,gpu,phase,mem_used,mem_total,proc_mem,util,mem_util,power_w)
awk -F, 'NR==1 && $9 != "power_w" {exit 2} NR>=5 && $9 != "" {exit 1}' "$TMP/err/gpu_metrics.csv" ||
    fail "power_w cells not empty after the failure"
awk -F, 'NR==2 && $9 == "" {exit 1}' "$TMP/err/gpu_metrics.csv" || fail "first power cell empty"


# 3. The child gets CUDA_DEVICE_ORDER=PCI_BUS_ID (CUDA<k> = NVML's GPU k) unless the user set it.
env -u CUDA_DEVICE_ORDER "$OSTEL" run -q -t gpu-order -o "$TMP/order" -- \
    sh -c 'echo "order=${CUDA_DEVICE_ORDER:-unset}"' || fail "ostel run failed"
assert_grep '^order=PCI_BUS_ID$' "$TMP/order/llama_output.log"
CUDA_DEVICE_ORDER=FASTEST_FIRST "$OSTEL" run -q -t gpu-order2 -o "$TMP/order2" -- \
    sh -c 'echo "order=${CUDA_DEVICE_ORDER:-unset}"' || fail "ostel run failed"
assert_grep '^order=FASTEST_FIRST$' "$TMP/order2/llama_output.log"
note "hung init, mid-run NVML errors, CUDA_DEVICE_ORDER: all as documented"
