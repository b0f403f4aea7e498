#!/usr/bin/env bash
# End to end, fault injection (issue 10): nothing lost, nothing duplicated, nothing false.
#  1. a file-size limit (ulimit -f): run (llama_output.log, gpu_metrics.csv), synth, report and db
#     import fail with one message (EFBIG), not by SIGXFSZ, and leave no temporary file
#  2. corrupted run directories (BOM, NUL, 1e308, negative durations): one validator for report and
#     db import; a bad run is refused whole; a database holding one still reports the others
#  3. two studies of one directory: the second refuses at once naming the first's pid, or --wait;
#     two writers that bypass the lock (two directories, one database) store each run once
#  4. kill -9 of a study at a few points, then resume: each run stored exactly once
# Each checks the exit code, the one error line, and the database (integrity_check, each run once)
# and the directories (no temporary files, no status contradicting another file). A full disk is
# test_faults_disk.sh (it needs a tmpfs mounted, and is skipped where that is not allowed).
. "$(dirname "$0")/lib.sh"
[ -n "${FAULTS_DEBUG:-}" ] && set -x

model=$(tiny_model tiny-llama Q8_0)
. "$(dirname "$0")/faultlib.sh"
STUDY_ARGS=(-m "$model" -t q8 -c 256 -n 8 --no-warmup --cooldown 0.1s --interval 50ms)

# ---- 1. a file-size limit -----------------------------------------------------------------------
rc=0
(ulimit -f 16; exec "$OSTEL" run --tag big --out "$TMP/u1" -- \
    sh -c 'head -c 100000 /dev/zero | tr "\0" x; echo') >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a run over the file-size limit (153 = killed by SIGXFSZ)"
one_error "$TMP/err" "file too large writing llama_output.log"
assert_grep '^status=failed$' "$TMP/u1/config.txt"
assert_grep '^error=file too large writing llama_output.log$' "$TMP/u1/config.txt"
assert_eq "$(json "$TMP/u1/summary.json" 'j["run"]["error"]')" \
    "file too large writing llama_output.log"
no_temps "$TMP/u1"
# gpu_metrics.csv over the limit (the fake NVML, two GPUs read every 10 ms; the child ends once the
# file has reached the limit, so no timing decides it; ctest's timeout ends a hang): the run fails
# like for any other artifact, in config.txt and summary.json alike
NVML=$(dirname "$OSTEL")/fake_nvml/libnvidia-ml.so.1
[ -f "$NVML" ] || fail "the fake NVML ($NVML) is not built"
rc=0
(ulimit -f 16; export OSTEL_NVML_LIB="$NVML" FAKE_NVML_GPUS=2; exec "$OSTEL" run --tag gpu \
    --gpu-interval 10ms --interval 1s --out "$TMP/ug" -- /bin/sh -c \
    'while [ "$(stat -c %s "$0/gpu_metrics.csv" 2>/dev/null || echo 0)" -lt 16384 ]; do
        sleep 0.05; done' \
    "$TMP/ug") >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a run whose gpu_metrics.csv went over the file-size limit"
one_error "$TMP/err" "run failed: file too large writing gpu_metrics.csv"
assert_grep '^status=failed$' "$TMP/ug/config.txt"
assert_grep '^error=file too large writing gpu_metrics.csv$' "$TMP/ug/config.txt"
assert_eq "$(json "$TMP/ug/summary.json" 'j["run"]["status"]')" failed \
    "summary.json's status of a run whose gpu_metrics.csv went over the file-size limit"
assert_eq "$(json "$TMP/ug/summary.json" 'j["run"]["error"]')" "file too large writing gpu_metrics.csv"
assert_eq "$(json "$TMP/ug/summary.json" 'j["gpu"]["write_failed"]')" True
no_temps "$TMP/ug"
# gpu_metrics.csv written whole while sampling, but its rewrite with phases (4 bytes a row more:
# "load", the child's last line marking the prompt's start) over the limit: the child waits for the
# GPU lost at its 200th read (the file's last row, all cells empty), then limits ostel's file size
# to that file's size + 1 byte (every other file stays below it). summary.json says failed too.
if command -v prlimit >/dev/null; then
    rc=0
    OSTEL_NVML_LIB="$NVML" FAKE_NVML_GPUS=1 FAKE_NVML_LOSE=0:200 "$OSTEL" run --tag gpu2 \
        --gpu-interval 10ms --interval 1s --out "$TMP/ug2" -- /bin/sh -c \
        'until grep -q ",0,,,," "$0/gpu_metrics.csv" 2>/dev/null; do sleep 0.05; done
        prlimit --pid $PPID --fsize=$(($(stat -c %s "$0/gpu_metrics.csv") + 1)):
        echo "generate: n_ctx = 256, n_batch = 2048, n_predict = 8, n_keep = 0"' \
        "$TMP/ug2" >/dev/null 2>"$TMP/err" || rc=$?
    assert_eq "$rc" 1 "exit status of a run whose gpu_metrics.csv's rewrite went over the limit"
    one_error "$TMP/err" "run failed: file too large writing gpu_metrics.csv"
    assert_grep '^status=failed$' "$TMP/ug2/config.txt"
    assert_eq "$(json "$TMP/ug2/summary.json" 'j["gpu"]["write_failed"]')" False
    assert_eq "$(json "$TMP/ug2/summary.json" 'j["run"]["status"]')" failed \
        "summary.json's status of a run whose gpu_metrics.csv's rewrite failed"
    assert_eq "$(json "$TMP/ug2/summary.json" 'j["run"]["error"]')" \
        "file too large writing gpu_metrics.csv"
    no_temps "$TMP/ug2"
else
    note "no prlimit: the failed rewrite of gpu_metrics.csv is not checked"
fi
mkdir -p "$TMP/u2"
rc=0; (ulimit -f 64; exec "$OSTEL" synth tiny-llama -o "$TMP/u2/m.gguf") >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of synth over the file-size limit"
one_error "$TMP/err" "File too large"
[ ! -e "$TMP/u2/m.gguf" ] || fail "synth left a partial model"
no_temps "$TMP/u2"

# a good run for what follows
"$OSTEL" run -m "$model" -c 256 -n 8 -t good --out "$TMP/good" -q >/dev/null ||
    fail "the reference run failed"
rc=0; (ulimit -f 1; exec "$OSTEL" report "$TMP/good" -o "$TMP/u2/r.html") >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of report over the file-size limit"
one_error "$TMP/err" "File too large"
no_temps "$TMP/u2"
rc=0; (ulimit -f 8; exec "$OSTEL" db import --db "$TMP/u2/a.db" "$TMP/good") >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of db import over the file-size limit"
one_error "$TMP/err" "[Ff]ile too large|disk is full|disk I/O error"
no_temps "$TMP/u2"
if [ -f "$TMP/u2/a.db" ] && [ -s "$TMP/u2/a.db" ]; then
    assert_eq "$(q "$TMP/u2/a.db" 'pragma integrity_check')" ok "integrity after EFBIG"
fi
# SQLite's own -wal/-shm may stay after an I/O error (they are its recovery files, not ostel's
# temporaries): the same import with room recovers, stores the run once and leaves neither behind
"$OSTEL" db import --db "$TMP/u2/a.db" "$TMP/good" >/dev/null 2>"$TMP/err" ||
    fail "db import after the file-size limit failed: $(cat "$TMP/err")"
assert_eq "$(q "$TMP/u2/a.db" 'pragma integrity_check')" ok "integrity after the import with room"
assert_eq "$(q "$TMP/u2/a.db" 'select count(*) from runs')" 1 "runs after the import with room"
for f in "$TMP"/u2/a.db-*; do
    [ ! -e "$f" ] || fail "db import left $(basename "$f") behind"
done
no_temps "$TMP/u2"

# ---- 2. corrupted run directories ---------------------------------------------------------------
mkrun() { rm -rf "$TMP/c/$1"; mkdir -p "$TMP/c"; cp -r "$TMP/good" "$TMP/c/$1"; }
mkrun bom
{ printf '\xef\xbb\xbf'; cat "$TMP/good/metrics.csv"; } >"$TMP/c/bom/metrics.csv"
sed -i 's/^run_id=.*/run_id=00000000000000000000000000000b0b/' "$TMP/c/bom/config.txt"
mkrun nul
python3 - "$TMP/c/nul/metrics.csv" <<'PY'
import sys; p = sys.argv[1]; ls = open(p, 'rb').read().split(b'\n')
ls[2] = ls[2][:5] + b'\0' + ls[2][5:]; open(p, 'wb').write(b'\n'.join(ls))
PY
mkrun huge
python3 - "$TMP/c/huge/summary.json" <<'PY'
import json, sys; p = sys.argv[1]; j = json.load(open(p))
j["telemetry"]["overall"]["rss_peak_mib"] = 1e308; open(p, 'w').write(json.dumps(j))
PY
mkrun negative
python3 - "$TMP/c/negative/summary.json" <<'PY'
import json, sys; p = sys.argv[1]; j = json.load(open(p))
j["run"]["wall_s"] = -12.5; open(p, 'w').write(json.dumps(j))
PY
D="$TMP/c.db"
"$OSTEL" db import --db "$D" "$TMP/good" >/dev/null || fail "importing the good run failed"
rc=0; "$OSTEL" db import --db "$D" "$TMP/c/bom" >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 0 "a metrics.csv with a BOM is imported (the BOM stripped): $(cat "$TMP/err")"
"$OSTEL" report "$TMP/c/bom" >/dev/null 2>"$TMP/err" || fail "report refused a BOM: $(cat "$TMP/err")"
for bad in "nul:line 3: a NUL byte" "huge:rss_peak_mib: an absurd number" \
    "negative:run.wall_s: a negative duration"; do
    name=${bad%%:*} why=${bad#*:}
    rc=0; "$OSTEL" db import --db "$D" "$TMP/c/$name" >/dev/null 2>"$TMP/err" || rc=$?
    assert_eq "$rc" 1 "db import of the $name run"
    assert_eq "$(errors "$TMP/err")" 1 "error lines importing $name: $(cat "$TMP/err")"
    assert_grep "$why" "$TMP/err"
    rc=0; "$OSTEL" report "$TMP/c/$name" >/dev/null 2>"$TMP/err" || rc=$?
    assert_eq "$rc" 1 "report of the $name run"
    one_error "$TMP/err" "$why"
done
assert_eq "$(q "$D" 'select count(*) from runs')" 2 "only the good and the BOM run are stored"
assert_eq "$(q "$D" 'pragma integrity_check')" ok
# a database that somehow holds a bad run (written by an older ostel): the others are reported
q "$D" "update runs set summary_json = replace(summary_json, '\"wall_s\":', '\"wall_s\": -1e308, \"x\":')
    where id = (select max(id) from runs)"
rc=0; "$OSTEL" report --db "$D" --format json >"$TMP/rep.json" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 0 "report --db with one bad stored run: $(cat "$TMP/err")"
grep -q 'is left out of the report' "$TMP/err" || fail "the bad stored run was not named"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/rep.json" || fail "report not JSON"
assert_grep '"good"' "$TMP/rep.json"

# ---- 3. two studies of one directory ------------------------------------------------------------
S="$TMP/s2"
LONG=(-c 4096 -n 3000) # about a second per run even on a fast machine
"$OSTEL" study -q "${STUDY_ARGS[@]}" "${LONG[@]}" -r 3 --dir "$S" >/dev/null 2>"$TMP/err_a" &
pa=$!
wait_for "$pa" test -s "$S/.lock" # fails when the first study ends without taking its lock
rc=0; "$OSTEL" study -q "${STUDY_ARGS[@]}" "${LONG[@]}" -r 3 --dir "$S" >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit status of a second study of the same directory"
one_error "$TMP/err" "is in use by another ostel study \(pid $pa\)"
"$OSTEL" study -q "${STUDY_ARGS[@]}" "${LONG[@]}" -r 3 --dir "$S" --wait >/dev/null 2>"$TMP/err_w" &
pw=$!
wait "$pa" || fail "the first study failed: $(cat "$TMP/err_a")"
wait "$pw" || fail "the waiting study failed: $(cat "$TMP/err_w")"
grep -q 'waiting' "$TMP/err_w" || fail "--wait did not say it waits"
db_sound "$S/ostel.db" 3
no_temps "$S"
# two writers that bypass the lock: one study (same name and definition) in two directories
# sharing one database: the unique (study, spec, repetition) keeps one row per run
"$OSTEL" study -q "${STUDY_ARGS[@]}" -r 3 --name shared --dir "$TMP/b1" --db "$TMP/b.db" \
    >/dev/null 2>"$TMP/err_1" &
p1=$!
"$OSTEL" study -q "${STUDY_ARGS[@]}" -r 3 --name shared --dir "$TMP/b2" --db "$TMP/b.db" \
    >/dev/null 2>"$TMP/err_2" &
p2=$!
wait "$p1" || fail "bypass study 1 failed: $(cat "$TMP/err_1")"
wait "$p2" || fail "bypass study 2 failed: $(cat "$TMP/err_2")"
assert_eq "$(q "$TMP/b.db" 'select count(*) from studies')" 1
db_sound "$TMP/b.db" 3

# ---- 4. kill -9 of a study at a few points, then resume ------------------------------------------
S="$TMP/s3"
stored() { q "$S/ostel.db" 'select count(*) from runs' 2>/dev/null || echo 0; }
# at start-up (its lock taken), during its first run (llama-completion its child), and once a run
# is stored and the next one under way: each point a state the study is seen in, never a time
# (lib.sh's wait_for fails when the study ends first)
locked() { [ "$(cat "$S/.lock" 2>/dev/null)" = "$spid" ]; } # the holder writes its pid there
running() { pgrep -P "$spid" >/dev/null; }
for point in start-up first-run stored; do
    "$OSTEL" study -q "${STUDY_ARGS[@]}" "${LONG[@]}" -r 4 --dir "$S" >/dev/null 2>&1 &
    spid=$!
    case $point in
    start-up) wait_for "$spid" locked ;;
    first-run) wait_for "$spid" running ;;
    stored)
        have=$(stored)
        more_stored() { [ "$(stored)" -gt "$have" ]; }
        wait_for "$spid" more_stored
        wait_for "$spid" running
        ;;
    esac
    kill -0 "$spid" 2>/dev/null || fail "the study ended before kill -9 at point $point"
    kill -KILL "$spid"
    wait "$spid" 2>/dev/null || true
done
# the kernel released the lock of the killed study: the resume starts at once
"$OSTEL" study -q "${STUDY_ARGS[@]}" "${LONG[@]}" -r 4 --dir "$S" >/dev/null 2>"$TMP/err" ||
    fail "the resume after kill -9 failed: $(cat "$TMP/err")"
db_sound "$S/ostel.db" 4
no_temps "$S"
dirs_consistent "$S/runs"
echo "ok: faults and integrity"
