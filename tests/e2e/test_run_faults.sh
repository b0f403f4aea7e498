#!/usr/bin/env bash
# End to end: `ostel run` when things go wrong. The child killed with SIGKILL mid-run, ostel itself
# interrupted with SIGINT and SIGTERM, a --timeout that fires, and usage errors (missing model, a file
# that is not GGUF, an unwritable output directory, an unknown option): the right status and exit code,
# complete artifacts for every run that started, nothing written for those that did not.
. "$(dirname "$0")/lib.sh"

model=$(tiny_model tiny-llama Q8_0)
LONG=(-m "$model" -c 32768 -n 30000 --interval 20ms -q)

# has PATTERN FILE: the file has the pattern (waited on with lib.sh's wait_for PID has ...)
has() { grep -a -q -- "$1" "$2" 2>/dev/null; }

check_complete() { # DIR STATUS
    [ -f "$1/llama_output.log" ] || fail "no llama_output.log in $1"
    for f in metrics.csv config.txt summary.json; do assert_file "$1/$f"; done
    assert_eq "$(json "$1/summary.json" 'j["run"]["status"]')" "$2" "status in $1"
    assert_grep "^status=$2\$" "$1/config.txt"
    [ "$(wc -l <"$1/metrics.csv")" -ge 3 ] || fail "metrics.csv of $1 has almost no rows"
    python3 -c 'import csv,sys; list(csv.reader(open(sys.argv[1])))' "$1/metrics.csv" ||
        fail "metrics.csv of $1 is not valid CSV"
}

# 1. SIGKILL to the child mid-generation
"$OSTEL" run "${LONG[@]}" -t killed --out "$TMP/killed" &
opid=$!
wait_for "$opid" has "generate: n_ctx" "$TMP/killed/llama_output.log"
child=$(pgrep -P "$opid") || fail "no llama-completion child of ostel"
kill -KILL "$child"
rc=0; wait "$opid" || rc=$?
assert_eq "$rc" 1 "exit status after the child was killed"
check_complete "$TMP/killed" killed
assert_eq "$(json "$TMP/killed/summary.json" 'j["run"]["signal"]')" SIGKILL
assert_eq "$(json "$TMP/killed/summary.json" 'j["run"]["oom_killed"]')" False

# 2. SIGINT and SIGTERM to ostel: the child's group is stopped, the run marked interrupted
for sig in INT TERM; do
    "$OSTEL" run "${LONG[@]}" -t "sig$sig" --out "$TMP/sig$sig" &
    opid=$!
    wait_for "$opid" has "generate: n_ctx" "$TMP/sig$sig/llama_output.log"
    child=$(pgrep -P "$opid") || fail "no child"
    kill -"$sig" "$opid"
    rc=0; wait "$opid" || rc=$?
    want=$([ "$sig" = INT ] && echo 130 || echo 143)
    assert_eq "$rc" "$want" "exit status after SIG$sig"
    kill -0 "$child" 2>/dev/null && fail "llama-completion still runs after ostel got SIG$sig"
    check_complete "$TMP/sig$sig" interrupted
    assert_eq "$(json "$TMP/sig$sig/summary.json" 'j["run"]["interrupted_by"]')" "SIG$sig"
done

# 3. --timeout ends a child that runs too long
# (no bound on how long it took: status=timeout says the timer ended it, not the child's own end)
rc=0; "$OSTEL" run "${LONG[@]}" -t slow --timeout 1.5s --out "$TMP/timeout" || rc=$?
assert_eq "$rc" 1 "exit status after a timeout"
check_complete "$TMP/timeout" timeout
# a child that ignores SIGTERM is killed after the grace period
rc=0; "$OSTEL" run -q -t stubborn --timeout 0.5s --out "$TMP/stubborn" -- \
    sh -c 'trap "" TERM; while :; do sleep 0.1; done' || rc=$?
assert_eq "$rc" 1
check_complete "$TMP/stubborn" timeout

# 4. usage errors: one line, exit 2, nothing written
usage_error() { # WANT_SUBSTRING ARGS...
    local want=$1; shift
    local rc=0
    (cd "$TMP" && "$OSTEL" run "$@" >"$TMP/out" 2>"$TMP/err") || rc=$?
    assert_eq "$rc" 2 "exit status of: ostel run $*"
    assert_eq "$(wc -l <"$TMP/err")" 1 "one error line for: ostel run $*"
    assert_grep "$want" "$TMP/err"
}
usage_error "model '$TMP/nope.gguf' not found" -m "$TMP/nope.gguf" -c 512 -n 4 -t x --runs-dir "$TMP/r"
printf 'this is not a model\n' >"$TMP/fake.gguf"
usage_error "not a usable GGUF model" -m "$TMP/fake.gguf" -c 512 -n 4 -t x --runs-dir "$TMP/r"
head -c 5000 "$model" >"$TMP/trunc.gguf"
usage_error "not a usable GGUF model" -m "$TMP/trunc.gguf" -c 512 -n 4 -t x --runs-dir "$TMP/r"
[ ! -e "$TMP/r" ] || fail "a run directory was made for a run that never started"
mkdir "$TMP/ro" && chmod 0555 "$TMP/ro"
if [ "$(id -u)" != 0 ]; then
    usage_error "cannot" -m "$model" -c 512 -n 4 -t x --out "$TMP/ro/run"
fi
touch "$TMP/afile"
usage_error "cannot create directory" -m "$model" -c 512 -n 4 -t x --out "$TMP/afile/run"
mkdir -p "$TMP/full" && touch "$TMP/full/x"
usage_error "is not empty" -m "$model" -c 512 -n 4 -t x --out "$TMP/full"
usage_error "unknown option" --frobnicate -m "$model"
usage_error "ctx-size must be" -m "$model" -c lots
usage_error "command 'no-such-program-xyz' not found" -t x -- no-such-program-xyz
echo "ok: ostel run faults"
