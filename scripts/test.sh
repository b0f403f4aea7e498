#!/usr/bin/env bash
# scripts/test.sh — the whole test suite on a fresh machine: set-up, a sanitizer build (ASan+UBSan,
# -Werror), then every CTest test except those labelled slow (unit, fuzz-replay, e2e on the real
# llama.cpp). Extra arguments go to ctest (e.g. -L unit, -R gguf).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh" --tests
B="$ROOT/build-test"
echo "==> test: sanitizer build in $B" >&2
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Debug -DOSTEL_SANITIZE=ON -DOSTEL_WERROR=ON >/dev/null
cmake --build "$B" -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" >/dev/null ||
    { cmake --build "$B" -j 1 2>&1 | tail -n 40; exit 1; }
cd "$B"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec ctest --output-on-failure --timeout 1800 -LE slow "$@"
