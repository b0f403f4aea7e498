#!/usr/bin/env bash
# scripts/macos-check.sh BINARY ARCH LIBSYSTEM_TBD [--update-allowlist]
#
# Checks a cross-built ostel Mach-O (scripts/macos-build.sh runs it), with llvm-objdump and llvm-nm
# (Debian's llvm package):
#  - a Mach-O executable (MH_EXECUTE) for ARCH (aarch64 -> ARM64, x86_64 -> X86_64);
#  - LC_BUILD_VERSION platform macOS, minos 12.0;
#  - the only dylib it loads is /usr/lib/libSystem.B.dylib;
#  - every undefined symbol is exported by zig's libSystem.tbd for that architecture, and is listed
#    in packaging/macos/libsystem-symbols.txt (the allow-list: a new libc call shows up as a diff to
#    review; --update-allowlist rewrites it from this binary, merged with the other architecture's);
#  - uPlot's chart code is embedded (cmake/embed_assets.cmake ran).
# Prints one line per failed check on stderr; exit 0 when all pass.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:?usage: macos-check.sh BINARY ARCH LIBSYSTEM_TBD [--update-allowlist]}
ARCH=${2:?arch}
TBD=${3:?libSystem.tbd}
UPDATE=${4:-}
ALLOW="$ROOT/packaging/macos/libsystem-symbols.txt"
MIN=12.0

bad=0
nope() { printf 'macos-check: %s: %s\n' "$ARCH" "$*" >&2; bad=1; }
tool() {
    local t
    for t in "$1" "$1-16" "$1-15" "$1-14"; do
        command -v "$t" >/dev/null && { echo "$t"; return; }
    done
    echo "macos-check: $1 is missing (Debian: apt-get install llvm)" >&2
    exit 1
}
OBJDUMP=$(tool llvm-objdump)
NM=$(tool llvm-nm)

[ -f "$BIN" ] || { echo "macos-check: $BIN does not exist" >&2; exit 1; }
case "$ARCH" in
aarch64) cpu=ARM64 tbd_arch=arm64-macos tbd_arch2=arm64e-macos ;;
x86_64) cpu=X86_64 tbd_arch=x86_64-macos tbd_arch2= ;;
*) echo "macos-check: unknown arch $ARCH" >&2; exit 2 ;;
esac

hdr=$("$OBJDUMP" --macho --private-headers "$BIN" 2>&1) || { nope "not a Mach-O file: $hdr"; exit 1; }
# The mach header line: magic cputype cpusubtype caps filetype ...
echo "$hdr" | awk '/^Mach header/{getline; getline; print; exit}' | grep -q "$cpu .* EXECUTE" ||
    nope "not a Mach-O executable for $cpu"
echo "$hdr" | grep -A4 'cmd LC_BUILD_VERSION' | grep -q 'platform macos' || nope "no LC_BUILD_VERSION for macOS"
echo "$hdr" | grep -A4 'cmd LC_BUILD_VERSION' | grep -Eq "minos $MIN\$" || nope "minimum macOS is not $MIN"
dylibs=$(echo "$hdr" | awk '/cmd LC_LOAD_(WEAK_)?DYLIB/{getline; getline; print $2}' | sort -u)
[ "$dylibs" = "/usr/lib/libSystem.B.dylib" ] || nope "loads dylibs other than libSystem: $(echo $dylibs)"

undef=$("$NM" --undefined-only --format=just-symbols "$BIN" | sort -u)
[ -n "$undef" ] || nope "no undefined symbols at all (not linked against libSystem?)"

# Symbols the tbd exports for this architecture. TAPI v4 lists them in `exports:` blocks keyed by
# `targets: [ ... ]`; a block for several targets includes this one.
exported=$(awk -v want="$tbd_arch" -v want2="$tbd_arch2" '
    function flush_targets() { ok = index(tg, want " ") || index(tg, want ",") || index(tg, want "]") ||
                                    (want2 != "" && (index(tg, want2 " ") || index(tg, want2 ",") || index(tg, want2 "]"))) }
    /^(---|\.\.\.)/ { inexp = 0; next }
    /^[a-z-]+:/ { inexp = ($0 ~ /^(exports|reexports):/); intg = 0; insym = 0; next }
    !inexp { next }
    /^  - targets:/ { tg = $0; intg = ($0 !~ /\]/); if (!intg) flush_targets(); insym = 0; next }
    intg { tg = tg $0; if ($0 ~ /\]/) { intg = 0; flush_targets() }; next }
    /^    [a-z-]+:/ { insym = ok && ($0 ~ /^    (symbols|weak-symbols|thread-local-symbols):/) }
    insym {
        line = $0; sub(/^    [a-z-]+:[ ]*/, "", line)
        n = split(line, parts, ",")
        for (i = 1; i <= n; i++) { x = parts[i]; gsub(/[][ \047"]/, "", x); if (x != "") print x }
        if ($0 ~ /\]/) insym = 0
    }' "$TBD" | sort -u)
[ -n "$exported" ] || nope "read no exported symbols for $tbd_arch from $TBD"
missing=$(comm -23 <(echo "$undef") <(echo "$exported"))
[ -z "$missing" ] || nope "undefined symbols libSystem does not export: $(echo $missing)"

if [ "$UPDATE" = --update-allowlist ]; then
    { grep -v '^#' "$ALLOW" 2>/dev/null || true; echo "$undef"; } | grep -v '^$' | sort -u >"$ALLOW.new"
    { sed -n '/^#/p' "$ALLOW" 2>/dev/null; cat "$ALLOW.new"; } >"$ALLOW.tmp"
    mv "$ALLOW.tmp" "$ALLOW"
    rm -f "$ALLOW.new"
    echo "macos-check: $ARCH: wrote $(grep -vc '^#' "$ALLOW") symbols to $ALLOW" >&2
fi
allowed=$(grep -v '^#' "$ALLOW" 2>/dev/null | grep -v '^$' | sort -u || true)
extra=$(comm -23 <(echo "$undef") <(echo "$allowed"))
[ -z "$extra" ] || nope "undefined symbols not in $ALLOW (review them, then add them or run scripts/macos-build.sh --update-allowlist): $(echo $extra)"

grep -aq 'uPlot' "$BIN" || nope "the chart assets (uPlot) are not embedded"
[ "$bad" -eq 0 ] && printf 'macos-check: %s: Mach-O %s, macOS >= %s, libSystem only, %d undefined symbols all allowed\n' \
    "$ARCH" "$cpu" "$MIN" "$(echo "$undef" | wc -l)" >&2
exit $bad
