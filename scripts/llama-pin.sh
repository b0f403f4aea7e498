#!/usr/bin/env bash
# scripts/llama-pin.sh vocab|build — the pinned llama.cpp release, kept in ostel's cache.
#
# The pin: the llama.cpp source that the npm package node-llama-cpp@3.21.1 ships as
# llama/gitRelease.bundle (`npm pack`, untar, `git clone` the bundle).
#   vocab  copies the source's models/ggml-vocab-*.gguf to $CACHE/vocab-<pin>/   (for ostel synth)
#   build  builds llama-completion, llama-cli, llama-bench, llama-quantize, llama-perplexity and
#          llama-server into $CACHE/llama.cpp-<pin>/bin                          (about 5 min, 2 cores)
# $CACHE is ${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}. Each result is trusted only when the
# file .complete sits in it, written as the very last step; work happens in a temporary directory that
# is removed on any exit, so a failed or interrupted step leaves nothing a later run would trust.
# Prints the result directory on stdout; progress and errors on stderr.
set -euo pipefail

NLC_VERSION=3.21.1
PIN="nlc-${NLC_VERSION}"
CACHE="${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}"
TOOLS=(llama-completion llama-cli llama-bench llama-quantize llama-perplexity llama-server)
JOBS="${OSTEL_BUILD_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"
MODE="${1:-}"

say() { printf 'llama-pin: %s\n' "$*" >&2; }
fail() { printf 'llama-pin: error: %s\n' "$*" >&2; exit 1; }

CUDA_ARGS=""
case "$MODE" in
vocab) DEST="$CACHE/vocab-$PIN" ;;
build) DEST="$CACHE/llama.cpp-$PIN" ;;
build-cuda)
    # The same pin with CUDA, for the GPU's own architecture ("9.0" → 90; OSTEL_CUDA_ARCH overrides),
    # in a cache directory of its own so the CPU build is never replaced (docs/gpu.md).
    command -v nvcc >/dev/null || fail "build-cuda needs nvcc on PATH"
    ARCH=${OSTEL_CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' .' || true)}
    [ -n "$ARCH" ] || fail "build-cuda: no GPU answered nvidia-smi; set OSTEL_CUDA_ARCH (e.g. 90)"
    DEST="$CACHE/llama.cpp-$PIN-cuda-sm$ARCH"
    CUDA_ARGS="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$ARCH -DGGML_CUDA_NCCL=OFF"
    MODE=build
    ;;
*) echo "usage: llama-pin.sh vocab|build|build-cuda" >&2; exit 2 ;;
esac

if [ -f "$DEST/.complete" ]; then
    if [ "$MODE" = build ]; then
        for t in "${TOOLS[@]}"; do
            [ -x "$DEST/bin/$t" ] || fail "$DEST is marked complete but lacks bin/$t: remove it and re-run"
        done
        echo "$DEST/bin"
    else
        ls "$DEST"/ggml-vocab-*.gguf >/dev/null 2>&1 || fail "$DEST is marked complete but empty"
        echo "$DEST"
    fi
    say "$MODE: reusing $DEST"
    exit 0
fi

for c in npm tar git; do
    command -v "$c" >/dev/null || fail "needs '$c' on PATH"
done
[ "$MODE" = vocab ] || command -v cmake >/dev/null || fail "needs 'cmake' on PATH"

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.work-$MODE-$PIN.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say "$MODE: fetching node-llama-cpp@$NLC_VERSION from npm"
(cd "$WORK" && npm pack --silent "node-llama-cpp@$NLC_VERSION" >/dev/null 2>"$WORK/npm.log") ||
    { cat "$WORK/npm.log" >&2; fail "$MODE: 'npm pack node-llama-cpp@$NLC_VERSION' failed"; }
tar -xzf "$WORK/node-llama-cpp-$NLC_VERSION.tgz" -C "$WORK" package/llama/gitRelease.bundle ||
    fail "$MODE: the npm package has no llama/gitRelease.bundle"
say "$MODE: cloning the bundle"
git clone --quiet "$WORK/package/llama/gitRelease.bundle" "$WORK/src" 2>"$WORK/git.log" ||
    { cat "$WORK/git.log" >&2; fail "$MODE: git clone of the bundle failed"; }
COMMIT=$(git -C "$WORK/src" rev-parse HEAD)

if [ "$MODE" = vocab ]; then
    mkdir -p "$WORK/out"
    cp "$WORK/src/models/"ggml-vocab-*.gguf "$WORK/out/" || fail "vocab: no ggml-vocab-*.gguf in the source"
else
    say "build: configuring (Release, static, LLAMA_CURL=OFF, tests and examples off)"
    cmake -S "$WORK/src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
        -DBUILD_SHARED_LIBS=OFF $CUDA_ARGS ${OSTEL_LLAMA_CMAKE_ARGS:-} >"$WORK/configure.log" 2>&1 ||
        { tail -n 30 "$WORK/configure.log" >&2; fail "build: cmake configure failed"; }
    say "build: compiling ${TOOLS[*]} with $JOBS jobs (about 5 minutes on 2 cores)"
    cmake --build "$WORK/build" -j "$JOBS" --target "${TOOLS[@]}" >"$WORK/build.log" 2>&1 ||
        { tail -n 30 "$WORK/build.log" >&2; fail "build: compiling failed"; }
    mkdir -p "$WORK/out/bin"
    for t in "${TOOLS[@]}"; do
        cp "$WORK/build/bin/$t" "$WORK/out/bin/" || fail "build: $t was not built"
    done
fi
printf 'pin=%s\ncommit=%s\nmade=%s\n' "$PIN" "$COMMIT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$WORK/out/VERSION"
touch "$WORK/out/.complete"
rm -rf "$DEST"
mv "$WORK/out" "$DEST"
say "$MODE: done: $DEST"
if [ "$MODE" = build ]; then echo "$DEST/bin"; else echo "$DEST"; fi
