/*
 * Unit tests for phase boundaries (from log-line arrival marks and perf durations) and for the
 * per-phase aggregation of metrics rows.
 */
#include "testlib.h"
#include "run/aggregate.h"
#include "run/phases.h"

#include <math.h>
#include <string.h>

static struct ostel_logval val(double v)
{
    struct ostel_logval x = {v, true};
    return x;
}

static void test_full_run(void **state)
{
    (void)state;
    struct ostel_line_mark marks[] = {
        {100.2, OSTEL_LOGPARSE_EVENT_MODEL_LOAD_START},
        {101.0, OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED},
        {101.5, OSTEL_LOGPARSE_EVENT_PROMPT_START},
        {105.0, OSTEL_LOGPARSE_EVENT_PERF_START},
    };
    struct ostel_log_timings t;
    memset(&t, 0, sizeof(t));
    t.prompt_ms = val(500);
    t.gen_ms = val(2900);
    struct ostel_phase_bounds b;
    ostel_phases_compute(marks, 4, &t, 100.0, 105.3, &b);
    assert_true(fabs(b.start[OSTEL_PHASE_LOAD] - 100.0) < 1e-9);
    assert_true(fabs(b.start[OSTEL_PHASE_PROMPT] - 101.5) < 1e-9);
    assert_true(fabs(b.start[OSTEL_PHASE_GENERATE] - 102.0) < 1e-9);
    assert_true(fabs(b.start[OSTEL_PHASE_TEARDOWN] - 105.0) < 1e-9);
    assert_int_equal(ostel_phases_at(&b, 99.9), OSTEL_PHASE_NONE);
    assert_int_equal(ostel_phases_at(&b, 100.5), OSTEL_PHASE_LOAD);
    assert_int_equal(ostel_phases_at(&b, 101.7), OSTEL_PHASE_PROMPT);
    assert_int_equal(ostel_phases_at(&b, 104.9), OSTEL_PHASE_GENERATE);
    assert_int_equal(ostel_phases_at(&b, 105.2), OSTEL_PHASE_TEARDOWN);
}

static void test_no_prompt_mark_uses_perf(void **state)
{
    (void)state;
    /* Without a prompt-start line: generation starts at perf - eval time, prompt before it. */
    struct ostel_line_mark marks[] = {{110.0, OSTEL_LOGPARSE_EVENT_PERF_START}};
    struct ostel_log_timings t;
    memset(&t, 0, sizeof(t));
    t.prompt_ms = val(1000);
    t.gen_ms = val(4000);
    struct ostel_phase_bounds b;
    ostel_phases_compute(marks, 1, &t, 100.0, 111.0, &b);
    assert_true(fabs(b.start[OSTEL_PHASE_GENERATE] - 106.0) < 1e-9);
    assert_true(fabs(b.start[OSTEL_PHASE_PROMPT] - 105.0) < 1e-9);
    assert_int_equal(ostel_phases_at(&b, 104.0), OSTEL_PHASE_LOAD);
    assert_int_equal(ostel_phases_at(&b, 110.5), OSTEL_PHASE_TEARDOWN);
}

static void test_killed_mid_generation(void **state)
{
    (void)state;
    /* Killed: a prompt-start mark but no perf block. Load is known; what follows cannot be split.
     */
    struct ostel_line_mark marks[] = {{101.0, OSTEL_LOGPARSE_EVENT_PROMPT_START}};
    struct ostel_log_timings t;
    memset(&t, 0, sizeof(t));
    struct ostel_phase_bounds b;
    ostel_phases_compute(marks, 1, &t, 100.0, 103.0, &b);
    assert_int_equal(ostel_phases_at(&b, 100.5), OSTEL_PHASE_LOAD);
    assert_int_equal(ostel_phases_at(&b, 102.0), OSTEL_PHASE_NONE);
    assert_true(b.start[OSTEL_PHASE_TEARDOWN] < 0);
}

static void test_plain_command(void **state)
{
    (void)state;
    struct ostel_log_timings t;
    memset(&t, 0, sizeof(t));
    struct ostel_phase_bounds b;
    ostel_phases_compute(NULL, 0, &t, 100.0, 103.0, &b);
    assert_int_equal(ostel_phases_at(&b, 101.0), OSTEL_PHASE_NONE);
}

static void test_aggregate(void **state)
{
    (void)state;
    struct ostel_metrics_row rows[4];
    memset(rows, 0, sizeof(rows));
    double rss[] = {100, 300, 200, 50};
    for (int i = 0; i < 4; i++) {
        ostel_metrics_set(&rows[i], OSTEL_COL_TS, 1000 + i * 0.1);
        ostel_metrics_set(&rows[i], OSTEL_COL_RSS_MB, rss[i]);
        ostel_metrics_set(&rows[i], OSTEL_COL_MAJFLT_DELTA, i);
        ostel_metrics_set(&rows[i], OSTEL_COL_VM_PRESSURE_FLAG, i == 2 ? 4 : 1);
        rows[i].phase = i < 2 ? OSTEL_PHASE_LOAD : OSTEL_PHASE_GENERATE;
    }
    ostel_metrics_set(&rows[1], OSTEL_COL_CPU_PCT, 150);
    /* macOS: the sampled footprint misses a spike that the kernel's high-water mark kept */
    double fp[] = {80, 250, 190, 40}, fp_life[] = {90, 400, 400, 400};
    for (int i = 0; i < 4; i++) {
        ostel_metrics_set(&rows[i], OSTEL_COL_FOOTPRINT_MB, fp[i]);
        ostel_metrics_set(&rows[i], OSTEL_COL_FOOTPRINT_PEAK_MB, fp_life[i]);
    }
    struct ostel_phase_stats s;
    ostel_aggregate_phase(rows, 4, OSTEL_PHASE_NONE, &s);
    assert_int_equal(s.rows, 4);
    assert_true(s.v[OSTEL_PHASE_STAT_SAMPLES] == 4);
    assert_true(s.v[OSTEL_PHASE_STAT_RSS_PEAK_MIB] == 300);
    assert_true(s.v[OSTEL_PHASE_STAT_RSS_MEAN_MIB] == 162.5);
    assert_true(s.v[OSTEL_PHASE_STAT_MAJFLT] == 6);
    assert_true(s.v[OSTEL_PHASE_STAT_PRESSURE_WORST] == 4);
    assert_true(s.has[OSTEL_PHASE_STAT_CPU_MEAN_PCT] && s.v[OSTEL_PHASE_STAT_CPU_MEAN_PCT] == 150);
    assert_true(s.has[OSTEL_PHASE_STAT_FOOTPRINT_PEAK_MIB] &&
                s.v[OSTEL_PHASE_STAT_FOOTPRINT_PEAK_MIB] == 250);
    assert_true(s.has[OSTEL_PHASE_STAT_FOOTPRINT_LIFETIME_PEAK_MIB] &&
                s.v[OSTEL_PHASE_STAT_FOOTPRINT_LIFETIME_PEAK_MIB] == 400);
    ostel_aggregate_phase(rows, 4, OSTEL_PHASE_GENERATE, &s);
    assert_int_equal(s.rows, 2);
    assert_true(s.v[OSTEL_PHASE_STAT_RSS_PEAK_MIB] == 200);
    assert_false(s.has[OSTEL_PHASE_STAT_CPU_MEAN_PCT]);
    cJSON *j = ostel_aggregate_to_json(&s);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "cpu_mean_pct")));
    assert_true(cJSON_GetObjectItem(j, "majflt")->valuedouble == 5);
    assert_true(cJSON_GetObjectItem(j, "footprint_peak_mib")->valuedouble == 190);
    assert_true(cJSON_GetObjectItem(j, "footprint_lifetime_peak_mib")->valuedouble == 400);
    cJSON_Delete(j);
    /* Linux has no footprint: the keys are null, never 0 */
    struct ostel_metrics_row lin = rows[0];
    lin.valid &= ~((1u << OSTEL_COL_FOOTPRINT_MB) | (1u << OSTEL_COL_FOOTPRINT_PEAK_MB));
    ostel_aggregate_phase(&lin, 1, OSTEL_PHASE_NONE, &s);
    j = ostel_aggregate_to_json(&s);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "footprint_peak_mib")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "footprint_lifetime_peak_mib")));
    cJSON_Delete(j);
    ostel_aggregate_phase(rows, 4, OSTEL_PHASE_PROMPT, &s);
    j = ostel_aggregate_to_json(&s);
    assert_true(cJSON_IsNull(j));
    cJSON_Delete(j);

    cJSON *t = ostel_aggregate_telemetry_json(rows, 4, 100);
    assert_true(fabs(cJSON_GetObjectItem(t, "interval_ms_mean")->valuedouble - 100) < 0.01);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "phases"), "teardown")));
    cJSON_Delete(t);
}

/* A phase's JSON holds the PHASE STATS table's keys in its order (summary.json's order, the one
 * docs/run-directory.md lists), a statistic without a value null; a phase without rows is null. */
static void test_json_keys_are_the_table(void **state)
{
    (void)state;
    struct ostel_metrics_row row;
    memset(&row, 0, sizeof(row));
    ostel_metrics_set(&row, OSTEL_COL_TS, 1700000000.25);
    ostel_metrics_set(&row, OSTEL_COL_RSS_MB, 100.1234);
    ostel_metrics_set(&row, OSTEL_COL_THREADS, 7);
    struct ostel_phase_stats s;
    ostel_aggregate_phase(&row, 1, OSTEL_PHASE_NONE, &s);
    cJSON *j = ostel_aggregate_to_json(&s);
    const cJSON *item = j->child;
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++, item = item->next) {
        const struct ostel_phase_stat_info *info = ostel_phase_stat((enum ostel_phase_stat)k);
        assert_non_null(item);
        assert_string_equal(item->string, info->key);
        bool has = info->agg == OSTEL_PHASE_AGG_COUNT || info->col == OSTEL_COL_TS ||
                   info->col == OSTEL_COL_RSS_MB || info->col == OSTEL_COL_THREADS;
        assert_int_equal(cJSON_IsNumber(item), has);
        assert_int_equal(cJSON_IsNull(item), !has);
    }
    assert_null(item);
    /* timestamps as they are, the rest to 3 decimals */
    assert_true(cJSON_GetObjectItem(j, "start_ts")->valuedouble == 1700000000.25);
    assert_true(cJSON_GetObjectItem(j, "rss_mean_mib")->valuedouble == 100.123);
    assert_true(cJSON_GetObjectItem(j, "duration_s")->valuedouble == 0);
    assert_true(cJSON_GetObjectItem(j, "samples")->valuedouble == 1);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_run),
        cmocka_unit_test(test_no_prompt_mark_uses_perf),
        cmocka_unit_test(test_killed_mid_generation),
        cmocka_unit_test(test_plain_command),
        cmocka_unit_test(test_aggregate),
        cmocka_unit_test(test_json_keys_are_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
