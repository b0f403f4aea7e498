#!/usr/bin/env bash
# e2e: `ostel synth` tiny models, quantize them with the real llama-quantize, load them in the real
# llama-completion, and check that `ostel inspect` agrees with what llama.cpp printed: file type,
# file size (tensor bytes, MiB, and BPW) and parameter count.
. "$(dirname "$0")/lib.sh" # OSTEL, TMP (removed on exit), fail, wait_for
CACHE=${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}
BIN=${OSTEL_LLAMA_BIN:-$CACHE/llama.cpp-nlc-3.21.1/bin}
for t in llama-quantize llama-completion; do
    if [ ! -x "$BIN/$t" ]; then
        echo "SKIP: $BIN/$t not found (run scripts/setup.sh)"
        exit 77
    fi
done


"$OSTEL" synth tiny-llama -o "$TMP/llama-f16.gguf" --seed 5
"$OSTEL" synth tiny-qwen --type q8_0 -o "$TMP/qwen-q8.gguf" --seed 5
# the same seed gives the same bytes
"$OSTEL" synth tiny-qwen --type q8_0 -o "$TMP/qwen-q8-again.gguf" --seed 5
cmp -s "$TMP/qwen-q8.gguf" "$TMP/qwen-q8-again.gguf" || fail "synth is not deterministic"

# A synth killed outright leaves its partial file; the next synth of the same output removes it (its
# pid is gone), but never the file of a live process nor anything named otherwise.
sh -c 'exit 0' &
dead=$!
wait "$dead"
touch "$TMP/k.gguf.synth-$dead-abcdef" "$TMP/k.gguf.synth-$$-ghijkl" "$TMP/k.gguf.synth-XYZ"
"$OSTEL" synth tiny-llama -o "$TMP/k.gguf" >/dev/null 2>"$TMP/err" || fail "synth beside stale files"
[ ! -e "$TMP/k.gguf.synth-$dead-abcdef" ] || fail "a dead synth's partial file was kept"
grep -q "removed '.*/k.gguf.synth-$dead-abcdef', left by a synth" "$TMP/err" ||
    fail "no word of the removed file: $(cat "$TMP/err")"
[ -e "$TMP/k.gguf.synth-$$-ghijkl" ] && [ -e "$TMP/k.gguf.synth-XYZ" ] || fail "removed a live file"
# Ctrl-C while it writes: exit 130, one line saying so, no output and no partial file
"$OSTEL" synth llama-3.2-1b -o "$TMP/big.gguf" >/dev/null 2>"$TMP/err" &
pid=$!
wait_for "$pid" compgen -G "$TMP/big.gguf.synth-*" >/dev/null # fails when synth ends first
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "interrupted synth: exit $rc, want 130 ($(cat "$TMP/err"))"
[ ! -e "$TMP/big.gguf" ] || fail "an interrupted synth left its output"
! compgen -G "$TMP/big.gguf.synth-*" >/dev/null || fail "an interrupted synth left its partial file"
grep -q "^ostel: error: interrupted by SIGINT: '.*/big.gguf' was not written$" "$TMP/err" ||
    fail "interrupted synth said: $(cat "$TMP/err")"

q() { "$BIN/llama-quantize" "$@" 2 >"$TMP/quantize.log" 2>&1 || { cat "$TMP/quantize.log"; fail "llama-quantize $*"; }; }
q "$TMP/llama-f16.gguf" "$TMP/llama-q8.gguf" Q8_0
q "$TMP/llama-f16.gguf" "$TMP/llama-q4km.gguf" Q4_K_M
q --allow-requantize "$TMP/qwen-q8.gguf" "$TMP/qwen-q4km.gguf" Q4_K_M

# llama.cpp's "%.2f" of a byte count in MiB, and of params in K/M/B as print_info does
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

check() {
    local m=$1 log="$TMP/$(basename "$1").log"
    "$BIN/llama-completion" -m "$m" -p "Hello" -n 4 -no-cnv -lv 4 -c 256 -t 2 --temp 0 \
        >"$log" 2>&1 || { tail -20 "$log"; fail "llama-completion failed on $m"; }
    local ftype fsize params
    ftype=$(sed -n 's/.*print_info: file type   = \(.*\)$/\1/p' "$log" | head -1)
    fsize=$(sed -n 's/.*print_info: file size   = \(.*\) $/\1/p' "$log" | head -1)
    params=$(sed -n 's/.*print_info: model params *= \(.*\)$/\1/p' "$log" | head -1)
    [ -n "$ftype" ] && [ -n "$fsize" ] && [ -n "$params" ] || fail "no model-load lines in $log"
    grep -qi ' nan' "$log" && fail "nan in the output of $m"

    local insp
    insp=$("$OSTEL" inspect "$m")
    local o_ftype o_bytes o_bpw o_params
    o_ftype=$(sed -n 's/^file type  *\(.*\) ([0-9]*)$/\1/p' <<<"$insp")
    o_bytes=$(sed -n 's/^tensor data .*(\([0-9]*\) bytes).*/\1/p' <<<"$insp")
    o_bpw=$(sed -n 's/^tensor data .*, \([0-9.]*\) BPW$/\1/p' <<<"$insp")
    o_params=$(sed -n 's/^parameters  *\([0-9.]* [KMB]\) (.*/\1/p' <<<"$insp")
    [ "$o_ftype" = "$ftype" ] || fail "$m: file type: ostel '$o_ftype', llama.cpp '$ftype'"
    [ "$(mib "$o_bytes") ($o_bpw BPW)" = "$fsize" ] ||
        fail "$m: file size: ostel '$(mib "$o_bytes") ($o_bpw BPW)', llama.cpp '$fsize'"
    [ "$o_params" = "$params" ] || fail "$m: params: ostel '$o_params', llama.cpp '$params'"
    echo "ok $(basename "$m"): $ftype, $fsize, $params"
}

check "$TMP/llama-f16.gguf"
check "$TMP/llama-q8.gguf"
check "$TMP/llama-q4km.gguf"
check "$TMP/qwen-q8.gguf"
check "$TMP/qwen-q4km.gguf"

# several files side by side, and JSON
"$OSTEL" inspect "$TMP/llama-q8.gguf" "$TMP/llama-q4km.gguf" | grep -q 'Q8_0 (7) .*Q4_K - Medium (15)' ||
    fail "side-by-side table"
"$OSTEL" inspect --json "$TMP/llama-q8.gguf" "$TMP/qwen-q4km.gguf" | grep -q '"file_type_name":[[:space:]]*"Q4_K - Medium"' ||
    fail "json array"

# a truncated model: one error, exit 1
head -c 1000000 "$TMP/llama-q8.gguf" >"$TMP/cut.gguf"
set +e
err=$("$OSTEL" inspect "$TMP/cut.gguf" 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" = 1 ] || fail "truncated file: exit $rc"
grep -q truncated <<<"$err" || fail "truncated file: '$err'"
echo "all ok"
