#!/usr/bin/env bash
# End to end: `ostel serve --utf8-only` on the real pinned llama-server. A random-weight model with
# llama-bpe's vocabulary (a tiny custom `ostel synth` llama: 2 layers, 64 wide) samples tokens whose
# bytes are not valid UTF-8 on their own; llama-server's output parser then ends the request with
# "The model produced output that does not match the expected Content-only format" (docs/serve.md).
# By default (auto, an ostel synth model) every request bans llama-bpe's 1352 such tokens with
# logit_bias and all requests complete; the same prompts without the ban (--utf8-only off) fail.
# Then --url: off unless --vocab names the server's GGUF; and the usage errors.
. "$(dirname "$0")/lib.sh"

export OSTEL_LLAMA_BIN=$(dirname "$(llama_tool llama-server)")
model="$E2E_MODELS/tiny-llama-bpe-F16.gguf"
mkdir -p "$E2E_MODELS"
(
    flock 9
    if [ ! -f "$model" ]; then
        "$OSTEL" synth --arch llama --layers 2 --embd 64 --ff 128 --heads 2 --kv-heads 1 \
            -o "$model" >/dev/null || exit 1
    fi
) 9>"$E2E_MODELS/.lock" || fail "could not make the tiny llama-bpe model"

# one level at concurrency 2, 8 requests of 256 tokens, the prompts pinned so both runs send the
# same ones
LOAD=(-c 2048 --parallel 2 --concurrency 2 --requests 8 --warmup 0 --prompt-tokens 16
    --output-tokens 256 --prompt-nonce 7 --max-error-rate 1)

# failed DIR → the number of failed requests in DIR/requests.csv
failed() {
    python3 -c 'import csv,sys; print(sum(r["ok"] != "1" for r in csv.DictReader(open(sys.argv[1]))))' \
        "$1/requests.csv"
}

# 1. the default: auto is on for an ostel synth model; every request completes, 256 tokens each
"$OSTEL" serve -m "$model" "${LOAD[@]}" -o "$TMP/auto" -- -t 1 2>"$TMP/auto.err" ||
    { cat "$TMP/auto.err" >&2; fail "ostel serve with the ban failed"; }
assert_grep "its 1352 tokens that are not UTF-8 on their own are banned" "$TMP/auto.err"
assert_eq "$(failed "$TMP/auto")" 0 "failed requests with the ban"
python3 - "$TMP/auto/requests.csv" <<'EOF' || fail "a request with the ban was cut short"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 8, len(rows)
for r in rows:
    assert int(r["chunks"]) == int(r["completion_tokens"]) == 256, r
EOF
assert_eq "$(json "$TMP/auto/summary.json" 'j["serve"]["utf8_only"]')" True
assert_eq "$(json "$TMP/auto/summary.json" 'j["serve"]["banned_tokens"]')" 1352
assert_grep '^serve_utf8_only=1$' "$TMP/auto/config.txt"
assert_grep '^serve_banned_tokens=1352$' "$TMP/auto/config.txt"

# 2. the same prompts without the ban: llama-server's parser ends requests. Each request has 256
# greedy tokens from a vocabulary of which 1% are such tokens; on this model all 8 failed in every
# run tried, so at least one must fail here
rc=0
"$OSTEL" serve -m "$model" "${LOAD[@]}" --utf8-only off -q -o "$TMP/off" -- -t 1 2>/dev/null ||
    rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "ostel serve --utf8-only off exited $rc"
n=$(failed "$TMP/off")
note "without the ban: $n of 8 requests failed"
[ "$n" -ge 1 ] || fail "no request failed without the ban: the test no longer shows the problem"
python3 - "$TMP/off/requests.csv" <<'EOF' || fail "a request failed for another reason"
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    assert r["ok"] == "1" or "does not match the expected Content-only format" in r["error"], r
EOF
assert_eq "$(json "$TMP/off/summary.json" 'j["serve"]["utf8_only"]')" False
assert_eq "$(json "$TMP/off/summary.json" 'j["serve"]["banned_tokens"]')" 0
assert_grep '^serve_utf8_only=0$' "$TMP/off/config.txt"

# 3. --url: ostel does not know the server's model, so auto is off; --vocab names its GGUF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(llama_tool llama-server)" -m "$model" --host 127.0.0.1 --port "$port" -c 2048 -np 2 -t 1 \
    >"$TMP/url-server.log" 2>&1 &
spid=$!
URL=(--url "http://127.0.0.1:$port" --concurrency 2 --requests 2 --warmup 0 --prompt-tokens 16
    --output-tokens 8 --prompt-nonce 7 -q)
"$OSTEL" serve "${URL[@]}" -o "$TMP/url-auto" || fail "the --url run failed"
assert_eq "$(json "$TMP/url-auto/summary.json" 'j["serve"]["utf8_only"]')" False
"$OSTEL" serve "${URL[@]}" --vocab "$model" --max-error-rate 1 --output-tokens 256 \
    -o "$TMP/url-vocab" || fail "the --url --vocab run failed"
assert_eq "$(json "$TMP/url-vocab/summary.json" 'j["serve"]["banned_tokens"]')" 1352
assert_eq "$(failed "$TMP/url-vocab")" 0 "failed requests with --url --vocab"
kill "$spid"
wait "$spid" 2>/dev/null || true

# 4. usage errors: nothing started, exit 2
usage() {
    local rc=0 want=$1
    shift
    "$OSTEL" serve "$@" -q -o "$TMP/usage" 2>"$TMP/usage.err" || rc=$?
    assert_eq "$rc" 2 "exit status of serve $*"
    assert_grep "$want" "$TMP/usage.err"
    [ ! -e "$TMP/usage" ] || fail "a refused command made a run directory"
}
usage "utf8-only must be auto, on or off" -m "$model" --utf8-only yes
usage "--vocab is for --url" -m "$model" --vocab "$model"
usage "needs --vocab FILE" --url http://127.0.0.1:1 --utf8-only on
printf 'not a gguf file\n' >"$TMP/bad.gguf"
usage "--utf8-only on: cannot read" -m "$TMP/bad.gguf" --utf8-only on
usage "vocabulary '$TMP/none.gguf' not found" --url http://127.0.0.1:1 --vocab "$TMP/none.gguf"
# a vocabulary of 70000 tokens that are all a lone 0xFF: too many to send with every request
python3 - "$TMP/huge.gguf" <<'EOF'
import struct, sys
def s(b): return struct.pack('<Q', len(b)) + b
kv = s(b'tokenizer.ggml.model') + struct.pack('<I', 8) + s(b'gpt2')
kv += s(b'tokenizer.ggml.tokens') + struct.pack('<IIQ', 9, 8, 70000) + s(b'\xff') * 70000
open(sys.argv[1], 'wb').write(b'GGUF' + struct.pack('<IQQ', 3, 0, 2) + kv)
EOF
usage "70000 tokens are not UTF-8 on their own, too many to ban" -m "$TMP/huge.gguf" --utf8-only on
note "serve --utf8-only: all checks passed"
