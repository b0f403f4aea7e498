#!/usr/bin/env bash
# tests/dist/install.sh BUILD_DIR — `cmake --install` into a temporary prefix, then: the binary,
# man page and completions are in their standard places; `man -l` renders ostel(1) with every
# command; bash loads the completion (`complete -p ostel`) and completes an option; zsh parses
# _ostel; the installed ostel prints its version and the pinned llama.cpp.
set -euo pipefail
B=${1:?usage: install.sh BUILD_DIR}
P=$(mktemp -d "${TMPDIR:-/tmp}/ostel-install.XXXXXX")
trap 'rm -rf "$P"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$B" --prefix "$P" >/dev/null || fail "cmake --install failed"
for f in bin/ostel share/man/man1/ostel.1 share/bash-completion/completions/ostel \
    share/zsh/site-functions/_ostel; do
    [ -s "$P/$f" ] || fail "$f was not installed"
done
ASAN_OPTIONS=detect_leaks=0 "$P/bin/ostel" --version >"$P/version" || fail "ostel --version failed"
grep -q '^ostel [0-9]' "$P/version" || fail "--version has no version: $(cat "$P/version")"
grep -q 'llama.cpp .*80fb11a.*pin nlc-3.21.1' "$P/version" || fail "--version does not name the pinned llama.cpp"

command -v man >/dev/null || fail "man is missing (Debian: man-db groff-base; scripts/setup.sh --tests)"
MANWIDTH=100 man -l "$P/share/man/man1/ostel.1" >"$P/man.txt" 2>"$P/man.err" || fail "man -l failed: $(cat "$P/man.err")"
[ ! -s "$P/man.err" ] || fail "man warned: $(cat "$P/man.err")"
for c in db fit hog inspect parse quality report run serve study synth "db checkout" "db export" \
    "db import" "db info"; do
    grep -q "ostel $c " "$P/man.txt" || fail "the man page has no section for 'ostel $c'"
done
# An option from the tables, with its environment variable, as --help prints it.
grep -q -- '--db FILE' "$P/man.txt" || fail "the man page lacks --db FILE"
grep -q 'OSTEL_DB' "$P/man.txt" || fail "the man page lacks the OSTEL_DB mirror"

out=$(bash --norc -c 'source "$1"; complete -p ostel
    COMP_WORDS=(ostel db import --d); COMP_CWORD=3; _ostel; echo "reply ${COMPREPLY[*]}"
    COMP_WORDS=(ostel st); COMP_CWORD=1; _ostel; echo "reply ${COMPREPLY[*]}"' _ \
    "$P/share/bash-completion/completions/ostel") || fail "bash could not load the completion"
echo "$out" | grep -q 'complete .*-F _ostel ostel' || fail "complete -p ostel: $out"
echo "$out" | grep -qx 'reply --db' || fail "bash did not complete 'ostel db import --d': $out"
echo "$out" | grep -qx 'reply study' || fail "bash did not complete 'ostel st': $out"

command -v zsh >/dev/null || fail "zsh is missing (Debian: zsh; scripts/setup.sh --tests)"
zsh -n "$P/share/zsh/site-functions/_ostel" || fail "zsh cannot parse _ostel"
echo "install test: ok ($P)"
