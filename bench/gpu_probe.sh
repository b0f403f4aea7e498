#!/usr/bin/env bash
# bench/gpu_probe.sh — ostel's NVML telemetry on a real NVIDIA driver in about a minute, without
# llama.cpp (for a device call too short for bench/gpu_cuda.sh's CUDA build). Needs .dev/debs and
# .dev/vocab.gguf as bench/gpu_cuda.sh does, and a python3 with torch on the machine for the CUDA
# process. Runs: the live e2e test's NVML part; `ostel run` of `sleep` (the device, no process); of a
# torch process holding 4 GiB and multiplying matrices (the process tree's VRAM matched by pid,
# power, energy); `ostel fit` on a synthesized model with NVML's free memory as the budget; and
# bench/nvml_cost.c's per-call table. Everything goes to $OUT (log.txt, results.tar).
set -u -o pipefail
T0=$(date +%s)
el() { echo "[t=$(($(date +%s) - T0))s] $*"; }
OUT=${OUT:-/tmp/out}
W=/tmp/w
mkdir -p "$OUT" $W/runs $W/logs
exec > >(tee -a "$OUT/log.txt") 2>&1
pack() { tar -C $W -cf "$OUT/.r.tmp" runs logs 2>/dev/null && mv "$OUT/.r.tmp" "$OUT/results.tar"; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,power.limit --format=csv
P=/tmp/pfx
for f in .dev/debs/*.deb; do dpkg -x "$f" $P; done
export LD_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu
cmake -S . -B /tmp/ob -DCMAKE_BUILD_TYPE=Release -DOSTEL_TESTS=OFF -DCMAKE_PREFIX_PATH=$P/usr \
    -DCMAKE_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu -DCMAKE_INCLUDE_PATH=$P/usr/include \
    -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON >$W/logs/ostel-build.log 2>&1 &&
    cmake --build /tmp/ob -j16 >>$W/logs/ostel-build.log 2>&1 || { tail -30 $W/logs/ostel-build.log; exit 1; }
O=/tmp/ob/ostel
$O --version
el "built"
cc -O2 -o /tmp/nvml_cost bench/nvml_cost.c -ldl && /tmp/nvml_cost 100 "(idle)" | tee $W/logs/nvml_cost_idle.md

el "e2e test_gpu_live (its NVML part; no CUDA llama.cpp here)"
OSTEL_BIN=$O OSTEL_SRC_DIR=$PWD bash tests/e2e/test_gpu_live.sh; echo "test_gpu_live rc=$?"

show() {
    grep '^gpu' "$1/config.txt"
    head -3 "$1/gpu_metrics.csv"
    python3 - "$1/summary.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
g = j.get("gpu") or {}
print("status", j["run"]["status"], "| gpu keys", sorted(g))
for d in g.get("devices", []):
    print({k: d.get(k) for k in ("name", "samples", "failed_reads", "first_error", "proc_reads",
                                   "proc_matched_reads", "other_procs_max", "energy_resets")})
print(json.dumps(g.get("run"))[:600])
ph = (g.get("devices") or [{}])[0].get("phases") or (g.get("devices") or [{}])[0].get("overall")
print(json.dumps(ph)[:900])
PY
}
el "ostel run -- sleep 2"
$O run -q -t probe-sleep -o $W/runs/sleep -- sleep 2
show $W/runs/sleep
el "ostel run -- a torch process: 4 GiB on the GPU, matrix products for 5 s"
$O run -q -t probe-torch -o $W/runs/torch -- python3 -c '
import time, torch
x = torch.empty(1 << 30, dtype=torch.float32, device="cuda")
a = torch.randn(8192, 8192, device="cuda")
t = time.time()
while time.time() - t < 5:
    b = a @ a
torch.cuda.synchronize()
print("held", x.numel() * 4 >> 20, "MiB")'
show $W/runs/torch
el "fit against NVML's free memory"
$O synth llama-3.2-1b --type q8_0 --vocab .dev/vocab.gguf -o /tmp/m.gguf >/dev/null &&
    $O fit -m /tmp/m.gguf -c 4096 --device cuda | tee $W/logs/fit.txt
el done
