#!/usr/bin/env bash
# End to end: Q4_K_M against Q8_0 under load, two `ostel serve` runs each on the real pinned
# llama-server with a tiny synthesized model, under the NVML test double (tests/gpu/fake_nvml.c):
# each level's telemetry has the GPU (gpu_metrics.csv, the double's constant 9000 MiB used) and the
# server's gauges (busy slots within -np, no KV cache gauge in this llama-server: null, never 0);
# then `ostel report` on the four run directories has the serving section per group and level in
# md, csv and json, and the report from `ostel db import`'s database is the same.
. "$(dirname "$0")/lib.sh"

fake="$(dirname "$OSTEL")/fake_nvml/libnvidia-ml.so.1"
[ -f "$fake" ] || skip "no NVML test double at $fake (not Linux?)"
export OSTEL_NVML_LIB="$fake"
unset OSTEL_GPU
export OSTEL_LLAMA_BIN=$(dirname "$(llama_tool llama-server)")
q4=$(tiny_model tiny-llama Q4_K_M)
q8=$(tiny_model tiny-llama Q8_0)

for rep in 1 2; do
    for q in q4 q8; do
        m=$q4 tag=q4_k_m
        [ $q = q8 ] && m=$q8 tag=q8_0
        "$OSTEL" serve -m "$m" -c 1024 --parallel 2 --concurrency 1,3 --requests 8 --warmup 1 \
            --prompt-tokens 24 --output-tokens 32 --prompt-nonce 1 --interval 50ms --tag $tag \
            -q -o "$TMP/runs/$q-$rep" -- -t 1 || fail "ostel serve $q rep $rep failed"
    done
done

s="$TMP/runs/q4-1/summary.json"
assert_file "$TMP/runs/q4-1/gpu_metrics.csv"
# GPU samples come every 100 ms: a level without one has null, never 0
assert_eq "$(json "$s" 'sorted(set(l["telemetry"]["gpu"]["mem_peak_mib"] for l in j["serve"]["levels"]) - {None})')" \
    "[9000]" "per-level GPU memory (the NVML double's 9000 MiB)"
assert_eq "$(json "$s" 'all((l["telemetry"]["gpu"]["samples"] > 0) == (l["telemetry"]["gpu"]["mem_peak_mib"] is not None) for l in j["serve"]["levels"])')" \
    True "a level's GPU value without GPU samples"
assert_eq "$(json "$s" '[l["telemetry"]["server"]["kv_cache_usage_max"] for l in j["serve"]["levels"]]')" \
    "[None, None]" "no KV cache gauge in the pinned llama-server"
assert_eq "$(json "$s" 'all(v is None or 0 <= v <= 2 for v in [l["telemetry"]["server"]["busy_slots_max"] for l in j["serve"]["levels"]])')" \
    True "busy slots within -np 2"

"$OSTEL" report "$TMP/runs" >"$TMP/r.md" || fail "ostel report failed"
assert_grep '## Serving by group: latency and throughput' "$TMP/r.md"
for g in q4_k_m q8_0; do
    for l in c1 c3; do
        grep -q "^| $g | $l | 2 | " "$TMP/r.md" || fail "no $g $l row over 2 runs"
    done
done
"$OSTEL" report "$TMP/runs" --format json >"$TMP/r.json" || fail "json report failed"
assert_eq "$(json "$TMP/r.json" '[l["name"] for l in j["groups"][1]["serve"]["levels"]]')" "['c1', 'c3']"
assert_eq "$(json "$TMP/r.json" 'j["groups"][1]["serve"]["levels"][1]["metrics"]["gpu_mem_peak_mib"]["max"]')" \
    9000
"$OSTEL" report "$TMP/runs" --format csv >"$TMP/r.csv" || fail "csv report failed"
assert_grep 'serve_c3_request_throughput_ratio' "$TMP/r.csv"

# the same from the database
"$OSTEL" db import --db "$TMP/s.db" "$TMP"/runs/* >/dev/null || fail "db import failed"
"$OSTEL" report --db "$TMP/s.db" >"$TMP/db.md" || fail "report --db failed"
cmp -s "$TMP/r.md" "$TMP/db.md" || fail "the report from the database differs: diff $TMP/r.md $TMP/db.md"
echo "ok"
