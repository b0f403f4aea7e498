#!/usr/bin/env bash
# tests/dist/package.sh SOURCE_DIR — the source tarball as a user gets it: `package_source` makes
# ostel-VERSION.tar.gz; in a git checkout it holds exactly the tracked files; extracted elsewhere
# it configures, builds ostel and the unit tests (-Werror) and they pass.
set -euo pipefail
S=${1:?usage: package.sh SOURCE_DIR}
W=$(mktemp -d "${TMPDIR:-/tmp}/ostel-package.XXXXXX")
trap 'rm -rf "$W"' EXIT
fail() { echo "package test: $*" >&2; exit 1; }
J=${OSTEL_BUILD_JOBS:-2}

cmake -S "$S" -B "$W/cfg" -DOSTEL_TESTS=OFF >"$W/cfg.log" 2>&1 || { tail -20 "$W/cfg.log" >&2; fail "configure failed"; }
cmake --build "$W/cfg" --target package_source >"$W/pkg.log" 2>&1 ||
    { tail -20 "$W/pkg.log" >&2; fail "package_source failed"; }
ver=$(sed -n 's/^project(ostel VERSION \([0-9.]*\).*/\1/p' "$S/CMakeLists.txt")
tgz="$W/cfg/ostel-$ver.tar.gz"
[ -f "$tgz" ] || fail "package_source wrote no ostel-$ver.tar.gz"
tar -tzf "$tgz" | sed -n "s|^ostel-$ver/||p" | grep -v '/$' | grep -v '^$' | sort >"$W/tar.list"
if git -C "$S" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files, and untracked ones git does not ignore (work in progress is packaged too).
    git -C "$S" ls-files --cached --others --exclude-standard | sort -u >"$W/git.list"
    while read -r f; do [ -e "$S/$f" ] && echo "$f"; done <"$W/git.list" >"$W/git.exist"
    d=$(diff "$W/git.exist" "$W/tar.list" || true)
    [ -z "$d" ] || fail "the tarball differs from git's files (< git only, > tarball only):
$d"
fi
mkdir -p "$W/x"
tar -xzf "$tgz" -C "$W/x"
X="$W/x/ostel-$ver"
cmake -S "$X" -B "$X/build" -DCMAKE_BUILD_TYPE=Release -DOSTEL_WERROR=ON >"$W/x.log" 2>&1 ||
    { tail -20 "$W/x.log" >&2; fail "the extracted tarball does not configure"; }
nice -n 10 cmake --build "$X/build" -j "$J" >"$W/xb.log" 2>&1 ||
    { grep -E 'error|warning' "$W/xb.log" | head -20 >&2; fail "the extracted tarball does not build"; }
(cd "$X/build" && ctest -L unit --output-on-failure >"$W/xt.log" 2>&1) ||
    { tail -30 "$W/xt.log" >&2; fail "unit tests fail in the extracted tarball"; }
"$X/build/ostel" --version | grep -q "^ostel $ver" || fail "the built ostel is not version $ver"
echo "package test: ok ($(du -k "$tgz" | cut -f1) KiB, $(wc -l <"$W/tar.list") files)"
