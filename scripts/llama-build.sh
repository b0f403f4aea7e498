#!/usr/bin/env bash
# Builds the pinned llama.cpp release into ostel's cache, or reuses it.
#
# The pin: the llama.cpp source that the npm package node-llama-cpp@3.21.1 ships as
# llama/gitRelease.bundle. The build lands in $OSTEL_CACHE/llama.cpp-<pin>/bin and is trusted only when
# the file .complete sits beside it, written as the very last step: a failed or interrupted build leaves
# no directory a later run would use. Prints the bin directory on its last line of stdout.
set -euo pipefail

NLC_VERSION=3.21.1
PIN="nlc-${NLC_VERSION}"
CACHE="${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}"
DEST="$CACHE/llama.cpp-$PIN"
TOOLS=(llama-completion llama-cli llama-bench llama-quantize llama-perplexity llama-server)
JOBS="${OSTEL_BUILD_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"

say() { printf 'llama-build: %s\n' "$*" >&2; }
fail() { printf 'llama-build: error: %s\n' "$*" >&2; exit 1; }

if [ -f "$DEST/.complete" ]; then
    for t in "${TOOLS[@]}"; do
        [ -x "$DEST/bin/$t" ] || fail "cache $DEST is marked complete but lacks $t; remove it and re-run"
    done
    say "reusing $DEST/bin"
    echo "$DEST/bin"
    exit 0
fi

for c in npm tar git cmake; do
    command -v "$c" >/dev/null || fail "needs '$c' on PATH"
done

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.build-$PIN.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say "step 1/4: fetching node-llama-cpp@$NLC_VERSION from npm"
(cd "$WORK" && npm pack --silent "node-llama-cpp@$NLC_VERSION" >/dev/null) \
    || fail "step 1/4 failed: npm pack node-llama-cpp@$NLC_VERSION"

say "step 2/4: unpacking llama/gitRelease.bundle"
tar -xzf "$WORK/node-llama-cpp-$NLC_VERSION.tgz" -C "$WORK" package/llama/gitRelease.bundle \
    || fail "step 2/4 failed: the package has no llama/gitRelease.bundle"
git clone --quiet "$WORK/package/llama/gitRelease.bundle" "$WORK/src" 2>/dev/null \
    || fail "step 2/4 failed: git clone of the bundle"
COMMIT=$(git -C "$WORK/src" rev-parse HEAD)

say "step 3/4: building ${TOOLS[*]} with $JOBS jobs (about 10 minutes on 2 cores)"
cmake -S "$WORK/src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    -DBUILD_SHARED_LIBS=OFF ${OSTEL_LLAMA_CMAKE_ARGS:-} >"$WORK/configure.log" 2>&1 \
    || { tail -n 30 "$WORK/configure.log" >&2; fail "step 3/4 failed: cmake configure"; }
cmake --build "$WORK/build" -j "$JOBS" --target "${TOOLS[@]}" >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log" >&2; fail "step 3/4 failed: cmake build"; }

say "step 4/4: installing into $DEST"
rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/models"
for t in "${TOOLS[@]}"; do
    cp "$WORK/build/bin/$t" "$DEST/bin/" || fail "step 4/4 failed: $t was not built"
done
cp "$WORK/src/models/"ggml-vocab-*.gguf "$DEST/models/"
printf 'pin=%s\ncommit=%s\nbuilt=%s\n' "$PIN" "$COMMIT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$DEST/VERSION"
touch "$DEST/.complete"
say "done: $DEST/bin"
echo "$DEST/bin"
