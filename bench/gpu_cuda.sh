#!/usr/bin/env bash
# bench/gpu_cuda.sh full|rerun — what made docs/gpu.md's CUDA figures, run on the device machine (an
# H100 or H200; no network, 10 minutes a call) from an ostel tree whose .dev/ holds:
#   debs/            libcjson1, libcjson-dev, libsqlite3-0, libsqlite3-dev (.debs, `apt-get download`)
#   vocab.gguf       ggml-vocab-llama-bpe.gguf (scripts/llama-pin.sh vocab)
#   llama-src.tar.xz the pinned llama.cpp source without models/, docs/, .git  (full: built here with
#                    CUDA for sm_90, ~300 s on 16 cores)
#   llama-bin.tar.xz.NN  or the binaries a full call brought back, in ≤15 MiB pieces (rerun)
# ostel is built without libcurl there (-DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON: no ostel serve), unless
# SERVE=1: then llama-server is built too, ostel links the machine's libcurl.so.4 with the headers of
# .dev/debs/libcurl4-openssl-dev, and `ostel serve` loads each model at SERVE_LEVELS (closed loop;
# SERVE_REQUESTS per level), or with SERVE_REPS=N an `ostel study --serve` of both, N repetitions.
# Everything measured goes to $OUT: log.txt, results.tar (run directories without GGUFs, logs, the
# study's reports), and after a full build the llama.cpp binaries. Stages that the call would not
# have time for are skipped and say so. Environment: REPS (study repetitions, default 5), GEN
# (generated tokens per run, default 1024), STUDY (0 skips the study), OVERHEAD (0 skips it),
# CUDA_FA=OFF (build without the flash-attention kernels: a shorter build for a short call),
# STUDY_RESERVE (seconds kept back from the study for what follows, default 60), OVERHEAD_CFGS
# ("OS-interval GPU-interval;..." pairs), OVH_REPS (llama-bench repetitions per pair set), LIMIT.
# A warm machine keeps /tmp between calls: a second call reuses the models the first one made.
# The figures of docs/gpu.md (2026-12-07, an H100; tests/data/runs/cuda-h100) came from two calls:
#   REPS=3 GEN=512 OVERHEAD_CFGS="1h off;100ms 100ms" OVH_REPS=60 LIMIT=570 bash bench/gpu_cuda.sh full
#   REPS=10 GEN=1024 STUDY_RESERVE=200 OVERHEAD_CFGS="1h off;100ms off;100ms 100ms;100ms 20ms" \
#       OVH_REPS=100 LIMIT=580 bash bench/gpu_cuda.sh rerun
set -u -o pipefail
MODE=${1:-full}
T0=$(date +%s)
LIMIT=${LIMIT:-585} # seconds this call may use before packing for the last time
el() { echo "[t=$(($(date +%s) - T0))s] $*"; }
left() { echo $((LIMIT - ($(date +%s) - T0))); }
before() { [ $(($(date +%s) - T0)) -lt "$1" ]; }
OUT=${OUT:-/tmp/out}
W=/tmp/w
rm -rf $W # a warm machine keeps /tmp between calls: the models in /tmp/m are reused
mkdir -p "$OUT" $W/runs $W/logs /tmp/m
exec > >(tee -a "$OUT/log.txt") 2>&1
# results.tar is written beside and renamed, so a call killed mid-pack leaves the previous one whole
pack() {
    tar -C $W --exclude='*.gguf' -cf "$OUT/.results.tar.tmp" runs logs 2>/dev/null &&
        mv "$OUT/.results.tar.tmp" "$OUT/results.tar"
    el packed
}

el "start $MODE"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,power.limit,persistence_mode,clocks.max.sm --format=csv
nproc; head -2 /etc/os-release; ldd --version | head -1; nvcc --version | tail -1; cmake --version | head -1
P=/tmp/pfx
for f in .dev/debs/*.deb; do dpkg -x "$f" $P; done
CURL_OPT=-DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON
SERVER_TARGET=
if [ "${SERVE:-0}" = 1 ]; then
    # the machine's own libcurl.so.4 (its dependencies are the machine's), Debian's headers
    sys=$(ls /usr/lib/x86_64-linux-gnu/libcurl.so.4 /lib/x86_64-linux-gnu/libcurl.so.4 2>/dev/null | head -1)
    if [ -n "$sys" ]; then
        rm -f $P/usr/lib/x86_64-linux-gnu/libcurl.so* && ln -s "$sys" $P/usr/lib/x86_64-linux-gnu/libcurl.so
        CURL_OPT=
        SERVER_TARGET=llama-server
        el "ostel serve: libcurl from $sys"
    else
        el "ostel serve: no libcurl.so.4 on this machine, serve skipped"
    fi
fi
export LD_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu
(cmake -S . -B /tmp/ob -DCMAKE_BUILD_TYPE=Release -DOSTEL_TESTS=OFF -DCMAKE_PREFIX_PATH=$P/usr \
    -DCMAKE_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu -DCMAKE_INCLUDE_PATH=$P/usr/include \
    $CURL_OPT >$W/logs/ostel-build.log 2>&1 &&
    cmake --build /tmp/ob -j4 >>$W/logs/ostel-build.log 2>&1
 echo "ostel build rc=$?") &
OB=$!

LB=/tmp/lb/bin
export LD_LIBRARY_PATH=$LB:$LD_LIBRARY_PATH
export OSTEL_LLAMA_BIN=$LB
if [ "$MODE" = full ]; then
    mkdir -p /tmp/llama && tar -xJf .dev/llama-src.tar.xz -C /tmp/llama || { el "no llama source"; exit 1; }
    cmake -S /tmp/llama -B /tmp/lb -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DGGML_CUDA_NCCL=OFF -DGGML_CUDA_FA=${CUDA_FA:-ON} -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=$([ -n "$SERVER_TARGET" ] && echo ON || echo OFF) -DBUILD_SHARED_LIBS=ON >$W/logs/llama-configure.log 2>&1 ||
        { tail -30 $W/logs/llama-configure.log; pack; exit 1; }
    el "llama.cpp configured"
    cmake --build /tmp/lb -j16 --target llama-completion llama-bench llama-quantize $SERVER_TARGET >$W/logs/llama-build.log 2>&1 &
    LBP=$!
else
    mkdir -p $LB
    ls .dev/llama-bin.tar.xz.* >/dev/null 2>&1 || { el "rerun needs .dev/llama-bin.tar.xz.*"; exit 1; }
    cat .dev/llama-bin.tar.xz.* | xz -T16 -d | tar -xf - -C $LB || { el "could not unpack the binaries"; exit 1; }
    LBP=
fi

# ostel on the real NVML before anything long: a run of `sleep` records the GPU
wait $OB
O=/tmp/ob/ostel
$O --version || { tail -30 $W/logs/ostel-build.log; pack; exit 1; }
el "probe: ostel run -- sleep 2 on the real NVML"
$O run -q -t probe -o $W/runs/probe -- sleep 2
grep '^gpu' $W/runs/probe/config.txt
head -4 $W/runs/probe/gpu_metrics.csv
python3 -c 'import json,sys; g=json.load(open(sys.argv[1])).get("gpu"); print(json.dumps(g)[:1500])' \
    $W/runs/probe/summary.json
cc -O2 -o /tmp/nvml_cost bench/nvml_cost.c -ldl && /tmp/nvml_cost 200 "($GPU, idle)" | tee $W/logs/nvml_cost_idle.md
pack

if [ -n "$LBP" ] && [ "${NOPACK:-0}" = 1 ]; then
    wait $LBP || { tail -40 $W/logs/llama-build.log; pack; exit 1; }
    el "llama.cpp built (binaries not packed: NOPACK=1)"
elif [ -n "$LBP" ]; then
    wait $LBP || { tail -40 $W/logs/llama-build.log; pack; exit 1; }
    el "llama.cpp built"
    (cd $LB && tar -cf - llama-completion llama-bench llama-quantize $SERVER_TARGET ./*.so* | xz -T16 -6 >/tmp/llama-bin.tar.xz &&
        ls -la /tmp/llama-bin.tar.xz && split -b 15M -d /tmp/llama-bin.tar.xz "$OUT/llama-bin.tar.xz.")
    el "binaries packed"
fi
$LB/llama-completion --version 2>&1 | tail -2

el synth
[ -s /tmp/m/llama-3.1-8b-Q4_K_M.gguf ] && el "models kept from the last call on this machine" || {
$O synth llama-3.1-8b --type q8_0 --vocab .dev/vocab.gguf -o /tmp/m/llama-3.1-8b-Q8_0.gguf || { pack; exit 1; }
$LB/llama-quantize --allow-requantize /tmp/m/llama-3.1-8b-Q8_0.gguf /tmp/m/llama-3.1-8b-Q4_K_M.gguf Q4_K_M 16 \
    >$W/logs/quantize.log 2>&1 || { tail $W/logs/quantize.log; pack; exit 1; }
}
el quantized
Q4=/tmp/m/llama-3.1-8b-Q4_K_M.gguf
Q8=/tmp/m/llama-3.1-8b-Q8_0.gguf
$O fit -m $Q4 -m $Q8 -c 4096 --device cuda >$W/logs/fit.txt 2>&1
cat $W/logs/fit.txt

REPS=${REPS:-5}
GEN=${GEN:-1024}
if [ "${STUDY:-1}" != 0 ]; then
    # the study may use what is left but 60 s; a killed study keeps the runs it stored
    RES=${STUDY_RESERVE:-60}
    el "study: $REPS repetitions, $GEN tokens, $(($(left) - RES)) s at most"
    timeout -s INT $(($(left) - RES)) $O study --name cuda-q4-vs-q8 --dir $W/runs/study -m $Q4,$Q8 \
        -t q4_k_m,q8_0 -c 4096 -n "$GEN" -r "$REPS" --cooldown 1s --llama-bin $LB -- -ngl 99 2>&1 |
        grep -v '^\s*$' | tail -40
    el "study ended"
    pack
fi
if [ "$(left)" -gt 90 ]; then
    el "mmap vs no-mmap"
    $O run -q -m $Q4 -c 4096 -n 256 -t q4-mmap -o $W/runs/q4-mmap --llama-bin $LB -- -ngl 99
    $O run -q -m $Q4 -c 4096 -n 256 -t q4-no-mmap -o $W/runs/q4-no-mmap --llama-bin $LB -- -ngl 99 --no-mmap
    pack
else
    el "skipped: mmap vs no-mmap (no time)"
fi
if [ "$(left)" -gt 60 ]; then
    $LB/llama-bench -m $Q4 -ngl 99 -p 0 -n 8192 -r 1 >/dev/null 2>&1 &
    BP=$!
    sleep 12 # past the 8B load: the table is of a GPU that is generating
    /tmp/nvml_cost 100 "($GPU, llama-bench generating)" | tee $W/logs/nvml_cost_load.md
    kill $BP 2>/dev/null
    wait $BP 2>/dev/null
    pack
else
    el "skipped: NVML cost under load (no time)"
fi
if [ -n "$SERVER_TARGET" ] && [ "${SERVE_REPS:-0}" -gt 0 ]; then
    # a serving study: both models under load, SERVE_REPS repetitions each, interleaved
    el "serving study: $SERVE_REPS repetitions at concurrency ${SERVE_LEVELS:-1,4,16}"
    timeout -s INT $(($(left) - 30)) $O study --serve --name cuda-serve --dir $W/runs/serve-study \
        -m /tmp/m/llama-3.1-8b-Q4_K_M.gguf,/tmp/m/llama-3.1-8b-Q8_0.gguf -t q4_k_m,q8_0 -c 16384 \
        -r "$SERVE_REPS" --parallel 16 --concurrency "${SERVE_LEVELS:-1,4,16}" \
        --requests "${SERVE_REQUESTS:-48}" --prompt-tokens 512 --output-tokens 256 \
        --llama-bin $LB -- -ngl 99 2>&1 | grep -v '^\s*$' | tail -30
    el "serving study ended"
    [ -f $W/runs/serve-study/report.md ] && sed -n '/^## Serving by group/,/^## Serving by group: statistics/p' \
        $W/runs/serve-study/report.md | head -60
    pack
elif [ -n "$SERVER_TARGET" ]; then
    # each model under load: the server on the GPU, the levels closed-loop, prompts unique
    for q in Q4_K_M Q8_0; do
        [ "$(left)" -gt 100 ] || { el "skipped: serve $q (no time)"; continue; }
        el "serve $q at concurrency ${SERVE_LEVELS:-1,4,16}"
        timeout -s INT $(($(left) - 30)) $O serve -q -m /tmp/m/llama-3.1-8b-$q.gguf -c 16384 \
            --parallel 16 --concurrency "${SERVE_LEVELS:-1,4,16}" --requests "${SERVE_REQUESTS:-48}" \
            --prompt-tokens 512 --output-tokens 256 -t "serve-$q" -o $W/runs/serve-$q --llama-bin $LB -- -ngl 99
        el "serve $q rc=$?"
        $O report --format md $W/runs/serve-$q 2>&1 | sed -n '/[Ss]erv/,$p' | head -40
        pack
    done
fi
if [ "${OVERHEAD:-1}" != 0 ]; then
    el "overhead: watched vs unwatched repetitions in one llama-bench process (GPU)"
    # the OS sampler at its default 100 ms in all but the control; only the GPU sampler's interval varies
    IFS=';' read -ra CFGS <<<"${OVERHEAD_CFGS:-1h off;100ms off;100ms 100ms;100ms 20ms}"
    for cfg in "${CFGS[@]}"; do
        set -- $cfg
        [ "$(left)" -gt 45 ] || { el "skipped: overhead $cfg (no time)"; break; }
        echo "### ostel run --interval $1, OSTEL_GPU_INTERVAL=$2" | tee -a $W/logs/overhead.md
        OSTEL_GPU_INTERVAL=$2 timeout $(($(left) - 15)) python3 bench/overhead.py --only interleaved --ostel $O \
            --model $Q4 --llama-args "-ngl 99" --toggle-intervals "$1" --toggle-procs 1 --toggle-reps ${OVH_REPS:-200} \
            --toggle-gen 32 --raw-toggle "$W/logs/toggle-raw-$1-$2.csv" 2>&1 | tee -a $W/logs/overhead.md
        pack
    done
fi
el done
pack
