#!/usr/bin/env bash
# bench/gpu_h200.sh full|rerun — what made docs/gpu.md's H200 figures, run on the device machine (no
# network) from an ostel tree whose .dev/ holds: debs/ (libcjson, libinih, libsqlite3 -dev + runtime
# .debs), vocab.gguf (ggml-vocab-llama-bpe.gguf), and either llama-src.tar.xz (full: build llama.cpp
# with CUDA for sm_90 here) or llama-bin.tar.xz.* (rerun: the binaries a full call brought back).
# Everything it measures goes to $OUT: log.txt, results.tar (run directories without GGUFs, logs),
# and after a build the llama.cpp binaries in ≤15 MiB pieces. Stages are skipped when the 10-minute
# call would not have time for them.
set -u -o pipefail
MODE=${1:-full}
T0=$(date +%s)
el() { echo "[t=$(($(date +%s) - T0))s] $*"; }
before() { [ $(($(date +%s) - T0)) -lt "$1" ]; }
OUT=${OUT:-/tmp/out}
W=/tmp/w
mkdir -p "$OUT" $W/runs $W/logs /tmp/m
exec > >(tee -a "$OUT/log.txt") 2>&1
pack() { tar -C $W --exclude='*.gguf' -cf "$OUT/results.tar" runs logs 2>/dev/null; el packed; }

el "start $MODE"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,power.limit,persistence_mode,clocks.max.sm --format=csv
nproc; head -2 /etc/os-release; ldd --version | head -1; nvcc --version | tail -1; cmake --version | head -1
P=/tmp/pfx
for f in .dev/debs/*.deb; do dpkg -x "$f" $P; done
export LD_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu
(cmake -S . -B /tmp/ob -DCMAKE_BUILD_TYPE=Release -DOSTEL_TESTS=OFF -DCMAKE_PREFIX_PATH=$P/usr \
    -DCMAKE_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu -DCMAKE_INCLUDE_PATH=$P/usr/include \
    >$W/logs/ostel-build.log 2>&1 && cmake --build /tmp/ob -j4 >>$W/logs/ostel-build.log 2>&1
 echo "ostel build rc=$?") &
OB=$!
cc -O2 -o /tmp/nvml_cost bench/nvml_cost.c -ldl && /tmp/nvml_cost 200 "(H200, idle)" | tee $W/logs/nvml_cost_idle.md

LB=/tmp/lb/bin
export LD_LIBRARY_PATH=$LB:$LD_LIBRARY_PATH
if [ "$MODE" = full ]; then
    mkdir -p /tmp/llama && tar -xJf .dev/llama-src.tar.xz -C /tmp/llama
    cmake -S /tmp/llama -B /tmp/lb -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DGGML_CUDA_NCCL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=ON >$W/logs/llama-configure.log 2>&1 ||
        { tail -30 $W/logs/llama-configure.log; pack; exit 1; }
    el "llama.cpp configured"
    cmake --build /tmp/lb -j16 --target llama-completion llama-bench llama-quantize >$W/logs/llama-build.log 2>&1 ||
        { tail -40 $W/logs/llama-build.log; pack; exit 1; }
    el "llama.cpp built"
    ls -la $LB
    (cd $LB && tar -cf - llama-completion llama-bench llama-quantize ./*.so* | xz -T16 -6 >/tmp/llama-bin.tar.xz &&
        ls -la /tmp/llama-bin.tar.xz && split -b 15M -d /tmp/llama-bin.tar.xz "$OUT/llama-bin.tar.xz.")
    el "binaries packed"
else
    mkdir -p $LB && cat .dev/llama-bin.tar.xz.* | xz -T16 -d | tar -xf - -C $LB
fi
wait $OB
O=/tmp/ob/ostel
$O --version || { tail -30 $W/logs/ostel-build.log; pack; exit 1; }
$LB/llama-completion --version 2>&1 | tail -2

el synth
$O synth llama-3.1-8b --type q8_0 --vocab .dev/vocab.gguf -o /tmp/m/llama-3.1-8b-q8_0.gguf || { pack; exit 1; }
$LB/llama-quantize --allow-requantize /tmp/m/llama-3.1-8b-q8_0.gguf /tmp/m/llama-3.1-8b-q4_k_m.gguf Q4_K_M 16 \
    >$W/logs/quantize.log 2>&1 || { tail $W/logs/quantize.log; pack; exit 1; }
el quantized
Q4=/tmp/m/llama-3.1-8b-q4_k_m.gguf
Q8=/tmp/m/llama-3.1-8b-q8_0.gguf
$O fit -m $Q4 -m $Q8 -c 4096 >$W/logs/fit.txt 2>&1; cat $W/logs/fit.txt

REPS=${REPS:-5}
el study
$O study --name h200-q4-vs-q8 --dir $W/runs/study -m $Q4,$Q8 -t q4_k_m,q8_0 -c 4096 -n 512 \
    -r "$REPS" --cooldown 1s --llama-bin $LB -- -ngl 99 2>&1 | tail -20
pack
if before 420; then
    el "mmap vs no-mmap"
    $O run -q -m $Q4 -c 4096 -n 128 -t q4-mmap -o $W/runs/q4-mmap --llama-bin $LB -- -ngl 99
    $O run -q -m $Q4 -c 4096 -n 128 -t q4-no-mmap -o $W/runs/q4-no-mmap --llama-bin $LB -- -ngl 99 --no-mmap
    pack
fi
if before 440; then
    $LB/llama-bench -m $Q4 -ngl 99 -p 0 -n 4096 -r 1 >/dev/null 2>&1 &
    BP=$!
    sleep 4
    /tmp/nvml_cost 100 "(H200, llama-bench generating)" | tee $W/logs/nvml_cost_load.md
    kill $BP 2>/dev/null
    wait $BP 2>/dev/null
    pack
fi
el "overhead: watched vs unwatched repetitions in one llama-bench process"
for iv in 1h 100ms 10ms; do
    before 540 || break
    OSTEL_GPU_INTERVAL=$iv python3 bench/overhead.py --only interleaved --ostel $O --model $Q4 \
        --llama-args "-ngl 99" --toggle-intervals $iv --toggle-procs 1 --toggle-reps 300 \
        --toggle-gen 16 --raw-toggle $W/logs/toggle-raw.csv 2>&1 | tee -a $W/logs/overhead.md
    pack
done
el done
pack
