#!/usr/bin/env bash
# e2e: the fleet recipes in docs/fleet.md, checked as far as a machine without Slurm, Kubernetes or
# a Docker daemon can: the sbatch script parses (bash -n) and every ostel option it passes exists;
# the Kubernetes manifest parses as YAML (when python3's yaml module is installed; otherwise that
# part is skipped with a note), is an Indexed Job whose completions equal --shards, takes the
# database from a Secret, and passes only options `ostel study` knows, with a --metrics-listen
# address ostel accepts; the Dockerfile's paths exist and its llama.cpp directory is the pinned one.
# None of the three was ever run here (docs/fleet.md says so).
source "$OSTEL_SRC_DIR/tests/e2e/lib.sh"
doc="$SRC/docs/fleet.md"

# block LANG FIRST-LINE-REGEX: the fenced block of that language whose first line matches
block() {
    awk -v lang="$1" -v first="$2" '
        $0 == "```" lang { inb = 1; n = 0; next }
        inb && $0 == "```" { if (hit) exit; inb = 0; next }
        inb { n++; if (n == 1) hit = ($0 ~ first); if (hit) print }' "$doc"
}

# every --option in FILE must be one of `ostel study --help`
options_known() {
    "$OSTEL" study --help >"$TMP/help" 2>&1 || true
    for o in $(grep -o -- '--[a-z][a-z-]*' "$1" | sort -u); do
        grep -q -- "$o\b" "$TMP/help" || fail "$2 passes $o, which ostel study does not know"
    done
}

# 1. the Slurm script
block sh '^#!/bin/bash' >"$TMP/quant.sbatch"
grep -q '^#SBATCH --array=' "$TMP/quant.sbatch" || fail "no sbatch script with --array in $doc"
bash -n "$TMP/quant.sbatch" || fail "the sbatch script does not parse"
grep -v '^#' "$TMP/quant.sbatch" | grep 'ostel study' -A3 >"$TMP/sbatch-ostel"
options_known "$TMP/sbatch-ostel" "the sbatch script"
! grep -q 'OSTEL_DB=.*:[^@/]*@' "$TMP/quant.sbatch" || fail "the sbatch script puts a password in the URL"

# 2. the Kubernetes manifest
block yaml '^apiVersion:' >"$TMP/job.yaml"
[ -s "$TMP/job.yaml" ] || fail "no manifest in $doc"
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$TMP/job.yaml" >"$TMP/job-args" <<'PY' || fail "the manifest: $(cat "$TMP/job-args")"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
assert set(kinds) == {"Secret", "Job"}, sorted(kinds)
job = kinds["Job"]["spec"]
assert job["completionMode"] == "Indexed", job.get("completionMode")
c = job["template"]["spec"]["containers"][0]
cmd = c["command"]
assert cmd[:2] == ["ostel", "study"], cmd
shards = cmd[cmd.index("--shards") + 1]
assert int(shards) == job["completions"], (shards, job["completions"])
env = {e["name"]: e for e in c["env"]}
ref = env["OSTEL_DB"]["valueFrom"]["secretKeyRef"]
assert ref["name"] == kinds["Secret"]["metadata"]["name"] and ref["key"] in kinds["Secret"]["stringData"], ref
print("\n".join(cmd[2:]))
PY
    options_known "$TMP/job-args" "the manifest"
    listen=$(grep -A1 -x -- '--metrics-listen' "$TMP/job-args" | tail -1)
    if [ -n "$listen" ]; then
        # ostel must accept the address (it serves loopback only): a run that binds it and ends
        "$OSTEL" run -q --tag x --out "$TMP/l" --metrics-listen "${listen%:*}:0" -- true 2>"$TMP/err" ||
            fail "the manifest's --metrics-listen $listen is refused: $(cat "$TMP/err")"
    fi
else
    note "python3 has no yaml module: the manifest was not parsed"
fi

# 3. the Dockerfile: what it copies and runs is there; its llama.cpp is the pinned one
df="$SRC/Dockerfile"
assert_file "$df"
grep -q '^RUN bash scripts/setup.sh' "$df" || fail "the Dockerfile does not run scripts/setup.sh"
assert_file "$SRC/scripts/setup.sh"
pinned=$(grep -o 'llama.cpp-nlc-[0-9.]*' "$SRC/tests/e2e/lib.sh" | head -1)
for d in $(grep -o 'llama.cpp-nlc-[0-9.]*' "$df" | sort -u); do
    assert_eq "$d" "$pinned" "the Dockerfile's llama.cpp directory"
done
true
