#!/usr/bin/env bash
# A run directory made on a real NVIDIA driver (tests/data/runs/nvml-h100: `ostel run` of a torch
# process holding 4 GiB and multiplying matrices, and of `sleep`, on an H100 through the device
# machine; bench/gpu_probe.sh): gpu_metrics.csv reads back through the report, the summary's
# figures agree with the rows, and the process's VRAM was matched by pid while the GPU was busy.
source "$(dirname "$0")/lib.sh"

D="$SRC/tests/data/runs/nvml-h100"
for r in torch sleep; do
    assert_grep '^gpu=nvml, driver 580.159.04: GPU 0 NVIDIA H100 80GB HBM3$' "$D/$r/config.txt"
done
"$OSTEL" report --format json "$D/torch" >"$TMP/r.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "report"; }
m() { json "$TMP/r.json" "j['groups'][0]['metrics']['$1']['value']"; }
assert_eq "$(m gpu_process_peak_mib)" 5482 "process peak VRAM from summary.json"
assert_eq "$(m gpu_power_peak_w)" 700.75 "peak power"
# the rows themselves: the peak of proc_mem_mb and power_w, and an energy delta on every row but
# the first; the process list is read every 5th row, so most rows have an empty proc_mem_mb
python3 - "$D/torch/gpu_metrics.csv" <<'PY' || fail "gpu_metrics.csv disagrees with summary.json"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
proc = [float(r["proc_mem_mb"]) for r in rows if r["proc_mem_mb"]]
assert max(proc) == 5482, max(proc)
assert max(float(r["power_w"]) for r in rows) == 700.75
assert all(r["energy_j"] for r in rows[1:]) and not rows[0]["energy_j"]
assert len(proc) < len(rows) / 2, (len(proc), len(rows))
PY
# sleep holds no GPU memory: matched reads 0, no process peak (empty, not 0)
assert_eq "$(json "$D/sleep/summary.json" 'j["gpu"]["devices"][0]["proc_matched_reads"]')" 0
assert_eq "$(json "$D/sleep/summary.json" 'j["gpu"]["run"]["peak_proc_mem_mb"]')" null
note "real H100 fixture: report and rows agree"
