# tests/e2e/faultlib.sh — sourced after lib.sh by the fault-injection tests (test_faults_*.sh): the
# checks each of them makes after a fault — the one error line, no temporary file left, the database
# sound (integrity_check, each run exactly once), no run directory contradicting itself.
command -v sqlite3 >/dev/null || fail "sqlite3 (the CLI) is needed: scripts/setup.sh --tests"
q() { sqlite3 -batch -noheader "$1" "$2"; }
errors() { grep -c '^ostel: error:' "$1" || true; }
one_error() { # FILE REGEX: exactly one error line, matching
    assert_eq "$(errors "$1")" 1 "error lines in $1 ($(cat "$1"))"
    grep '^ostel: error:' "$1" | grep -q -E -- "$2" || fail "error line does not match '$2': $(cat "$1")"
}
no_temps() { # DIR: no temporary file of ostel's anywhere below
    local left
    left=$(find "$1" \( -name '*.tmp.*' -o -name '*.synth-*' -o -name '.scenario-*' \) -print)
    [ -z "$left" ] || fail "temporary files left: $left"
}
db_sound() { # DB PLANNED: integrity ok, each (study, spec, repetition) once, PLANNED final runs
    assert_eq "$(q "$1" 'pragma integrity_check')" ok "integrity_check of $1"
    assert_eq "$(q "$1" "select count(*) from (select 1 from runs where status in
        ('ok','failed','killed','timeout') group by study_id, spec_hash, repetition
        having count(*) > 1)")" 0 "runs stored twice in $1"
    assert_eq "$(q "$1" "select count(*) from runs where status in ('ok','failed','killed','timeout')")" \
        "$2" "runs in $1"
}
# No run directory says one thing in config.txt and another in summary.json.
dirs_consistent() {
    local d st
    for d in "$1"/*/; do
        [ -f "$d/config.txt" ] || continue
        st=$(sed -n 's/^status=//p' "$d/config.txt")
        if [ -f "$d/summary.json" ]; then
            assert_eq "$(json "$d/summary.json" 'j["run"]["status"]')" "$st" "status of $d"
        else
            [ "$st" != ok ] || fail "$d: config.txt says ok beside no summary.json"
        fi
    done
}
