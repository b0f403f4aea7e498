#!/usr/bin/env bash
# scripts/setup.sh [--tests] — everything ostel needs on a fresh machine, idempotent and safe to re-run.
#
#  1. system packages (Debian/Ubuntu: apt-get; macOS: Homebrew), only those missing;
#  2. the chart library for HTML reports (uPlot, pinned in package-lock.json) with npm ci;
#  3. the pinned llama.cpp release's vocab GGUFs (for ostel synth) in the cache;
#  4. llama.cpp's tools: $OSTEL_LLAMA_BIN or tools already on PATH are used as they are, otherwise the
#     pinned release is built once into the cache (scripts/llama-pin.sh);
#  5. ostel itself, into ./build (Release).
# --tests also installs what the test suite needs (chromium, hyperfine, python3-psutil, valgrind).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WITH_TESTS=0
for a in "$@"; do
    case "$a" in
    --tests) WITH_TESTS=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument '$a'" >&2; exit 2 ;;
    esac
done

say() { printf '==> setup: %s\n' "$*" >&2; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

install_debian() {
    local pkgs=(build-essential cmake pkg-config git ca-certificates libcmocka-dev
                libsqlite3-dev libcjson-dev libcurl4-openssl-dev libpq-dev sqlite3)
    # Node.js may come from elsewhere (NodeSource ships npm inside its nodejs): ask for Debian's
    # packages only when the commands are missing.
    command -v node >/dev/null || pkgs+=(nodejs)
    command -v npm >/dev/null || pkgs+=(npm)
    [ "$WITH_TESTS" -eq 1 ] && pkgs+=(chromium hyperfine python3-psutil python3-aiohttp liburing-dev valgrind clang procps
                                    time bc)
    # the macOS cross-build test (cross/macos): llvm-nm/llvm-objdump, tclsh for the SQLite amalgamation
    [ "$WITH_TESTS" -eq 1 ] && pkgs+=(llvm tcl)
    # the install test (dist/install): man -l renders ostel(1), zsh parses _ostel
    [ "$WITH_TESTS" -eq 1 ] && pkgs+=(man-db groff-base zsh)
    # the PostgreSQL store tests (e2e/test_pg_*), promtool for the Prometheus exposition test
    [ "$WITH_TESTS" -eq 1 ] && pkgs+=(postgresql prometheus curl)
    # the formatting check (lint/format): Debian 12's clang-format 14 made the tree as it is
    [ "$WITH_TESTS" -eq 1 ] && pkgs+=(clang-format)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "system packages: all present"
        return
    fi
    say "system packages: installing ${missing[*]}"
    $SUDO apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null || fail "apt-get install ${missing[*]} failed"
}

install_macos() {
    command -v brew >/dev/null || fail "Homebrew is needed on macOS (https://brew.sh)"
    local pkgs=(cmake pkg-config cmocka sqlite cjson curl libpq node)
    [ "$WITH_TESTS" -eq 1 ] && pkgs+=(hyperfine)
    say "Homebrew packages: ${pkgs[*]}"
    brew install --quiet "${pkgs[@]}" || fail "brew install failed"
}

case "$(uname -s)" in
Linux) command -v apt-get >/dev/null && install_debian ||
    say "not a Debian-like system: install cmake, cmocka, sqlite3, cjson, libcurl, libpq, node/npm yourself" ;;
Darwin) install_macos ;;
*) say "unknown OS $(uname -s): install the dependencies yourself" ;;
esac

cd "$ROOT"
if [ -f package-lock.json ]; then
    if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.ostel-lock; then
        say "chart assets: npm ci"
        if npm ci --silent --no-audit --no-fund >/dev/null 2>&1; then
            cp package-lock.json node_modules/.ostel-lock
        else
            say "npm ci failed: HTML reports will carry tables only, without charts"
        fi
    else
        say "chart assets: node_modules is current"
    fi
fi

say "vocab GGUFs of the pinned llama.cpp release"
bash "$ROOT/scripts/llama-pin.sh" vocab >/dev/null

if [ -n "${OSTEL_LLAMA_BIN:-}" ]; then
    [ -x "$OSTEL_LLAMA_BIN/llama-completion" ] || [ -x "$OSTEL_LLAMA_BIN/llama-cli" ] ||
        fail "OSTEL_LLAMA_BIN=$OSTEL_LLAMA_BIN has neither llama-completion nor llama-cli"
    say "llama.cpp: using OSTEL_LLAMA_BIN=$OSTEL_LLAMA_BIN"
elif command -v llama-completion >/dev/null && command -v llama-quantize >/dev/null; then
    say "llama.cpp: using the tools on PATH ($(dirname "$(command -v llama-completion)"))"
else
    say "llama.cpp: the pinned release, from the cache (the first time it is built: about 5 minutes on 2 cores)"
    bash "$ROOT/scripts/llama-pin.sh" build >/dev/null
fi
# With nvcc and an NVIDIA GPU (or OSTEL_LLAMA_CUDA=1), the pin is also built with CUDA for the GPU's
# architecture, into a cache directory of its own; OSTEL_LLAMA_CUDA=0 skips it. Without a GPU nothing
# changes.
if [ "${OSTEL_LLAMA_CUDA:-}" = 1 ] || { [ "${OSTEL_LLAMA_CUDA:-}" != 0 ] && command -v nvcc >/dev/null &&
    nvidia-smi -L >/dev/null 2>&1; }; then
    say "llama.cpp: the pinned release with CUDA (about 5 minutes on 16 cores for sm_90)"
    CUDA_BIN=$(bash "$ROOT/scripts/llama-pin.sh" build-cuda) ||
        fail "the CUDA build of llama.cpp failed (OSTEL_LLAMA_CUDA=0 skips it)"
    say "llama.cpp with CUDA: $CUDA_BIN (use it with OSTEL_LLAMA_BIN=$CUDA_BIN and -ngl 99)"
fi

say "building ostel into $ROOT/build"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DOSTEL_TESTS=OFF -DOSTEL_SANITIZE=OFF \
    -DOSTEL_WERROR=OFF >/dev/null ||
    fail "cmake configure failed"
cmake --build "$ROOT/build" -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" >/dev/null ||
    fail "build failed (run: cmake --build build)"
say "ready: $ROOT/build/ostel"
