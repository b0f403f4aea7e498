/*
 * Unit tests for metrics.csv: formatting (empty cells for invalid values, never 0) and parsing
 * back, including the original harness's seven-column files and hostile inputs.
 */
#include "testlib.h"
#include "rundir/rundir_metrics.h"

#include <string.h>

static void test_roundtrip(void **state)
{
    (void)state;
    char buf[1024];
    size_t n = ostel_metrics_format_header(buf, sizeof(buf));
    assert_true(n > 0);
    assert_true(strncmp(buf,
                        "ts,rss_mb,cpu_pct,vm_pressure_flag,avail_mem_level,pageins_delta,"
                        "pageouts_delta,phase,rss_anon_mb",
                        61 + 30) == 0);
    struct ostel_metrics_row r;
    memset(&r, 0, sizeof(r));
    ostel_metrics_set(&r, OSTEL_COL_TS, 1764140000.1234);
    ostel_metrics_set(&r, OSTEL_COL_RSS_MB, 512.256);
    ostel_metrics_set(&r, OSTEL_COL_VM_PRESSURE_FLAG, 2);
    ostel_metrics_set(&r, OSTEL_COL_MAJFLT_DELTA, 0);
    r.phase = OSTEL_PHASE_GENERATE;
    char row[512];
    size_t rl = ostel_metrics_format_row(&r, row, sizeof(row));
    assert_true(rl > 0);
    assert_string_equal(row, "1764140000.123,512.26,,2,,,,generate,,,,,0,,,,,,,,,\n");
    /* appended in this order, each after the last */
    assert_true(strstr(buf, ",psi_full_pct,cgroup_mem_mb,footprint_mb,footprint_peak_mb\n"));
    char small[20];
    assert_int_equal(ostel_metrics_format_row(&r, small, sizeof(small)), 0);

    struct ostel_buf f;
    ostel_buf_init(&f, 0);
    ostel_buf_append(&f, buf, n);
    ostel_buf_append(&f, row, rl);
    struct ostel_metrics_table t;
    char err[128];
    if (ostel_metrics_parse(f.data, f.len, &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(t.n, 1);
    assert_true(ostel_metrics_has(&t.rows[0], OSTEL_COL_RSS_MB));
    assert_false(ostel_metrics_has(&t.rows[0], OSTEL_COL_CPU_PCT));
    assert_true(ostel_metrics_has(&t.rows[0], OSTEL_COL_MAJFLT_DELTA));
    assert_true(t.rows[0].v[OSTEL_COL_RSS_MB] > 512.25 && t.rows[0].v[OSTEL_COL_RSS_MB] < 512.27);
    assert_int_equal(t.rows[0].phase, OSTEL_PHASE_GENERATE);
    assert_false(ostel_metrics_has(&t.rows[0], OSTEL_COL_CGROUP_MEM_MB)); /* empty cell */
    ostel_metrics_table_free(&t);
    ostel_buf_free(&f);

    /* the cgroup's usage round-trips */
    ostel_metrics_set(&r, OSTEL_COL_CGROUP_MEM_MB, 600.5);
    rl = ostel_metrics_format_row(&r, row, sizeof(row));
    assert_string_equal(row, "1764140000.123,512.26,,2,,,,generate,,,,,0,,,,,,,600.50,,\n");
    ostel_buf_init(&f, 0);
    ostel_buf_append(&f, buf, n);
    ostel_buf_append(&f, row, rl);
    if (ostel_metrics_parse(f.data, f.len, &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(ostel_metrics_has(&t.rows[0], OSTEL_COL_CGROUP_MEM_MB));
    assert_true(t.rows[0].v[OSTEL_COL_CGROUP_MEM_MB] > 600.49 &&
                t.rows[0].v[OSTEL_COL_CGROUP_MEM_MB] < 600.51);
    assert_false(ostel_metrics_has(&t.rows[0], OSTEL_COL_FOOTPRINT_MB)); /* empty: not macOS */
    ostel_metrics_table_free(&t);
    ostel_buf_free(&f);

    /* macOS's footprint and its lifetime peak round-trip */
    ostel_metrics_set(&r, OSTEL_COL_FOOTPRINT_MB, 700.25);
    ostel_metrics_set(&r, OSTEL_COL_FOOTPRINT_PEAK_MB, 900.126);
    rl = ostel_metrics_format_row(&r, row, sizeof(row));
    assert_string_equal(row,
                        "1764140000.123,512.26,,2,,,,generate,,,,,0,,,,,,,600.50,700.25,900.13\n");
    ostel_buf_init(&f, 0);
    ostel_buf_append(&f, buf, n);
    ostel_buf_append(&f, row, rl);
    if (ostel_metrics_parse(f.data, f.len, &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(ostel_metrics_has(&t.rows[0], OSTEL_COL_FOOTPRINT_PEAK_MB));
    assert_true(t.rows[0].v[OSTEL_COL_FOOTPRINT_MB] > 700.24 &&
                t.rows[0].v[OSTEL_COL_FOOTPRINT_MB] < 700.26);
    assert_true(t.rows[0].v[OSTEL_COL_FOOTPRINT_PEAK_MB] > 900.12 &&
                t.rows[0].v[OSTEL_COL_FOOTPRINT_PEAK_MB] < 900.14);
    ostel_metrics_table_free(&t);
    ostel_buf_free(&f);
}

static void test_harness_columns(void **state)
{
    (void)state;
    const char *csv = "ts,rss_mb,cpu_pct,vm_pressure_flag,avail_mem_level,pageins_delta,"
                      "pageouts_delta\r\n1700000000,5455.1,98.5,1,42,10,0\r\n"
                      "1700000001,5460.0,,1,41,0,0\r\n";
    struct ostel_metrics_table t;
    char err[128];
    assert_int_equal(ostel_metrics_parse(csv, strlen(csv), &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_false(ostel_metrics_has(&t.rows[1], OSTEL_COL_CPU_PCT));
    assert_false(ostel_metrics_has(&t.rows[1], OSTEL_COL_SWAP_MB));
    assert_true(t.rows[0].v[OSTEL_COL_PAGEINS_DELTA] == 10);
    ostel_metrics_table_free(&t);
}

static void test_bad(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *want;
    } cases[] = {
        {"", "line 1: no header"},
        {"a,b,c\n1,2,3\n", "line 1: no 'ts' column"},
        {"ts,rss_mb\n1,2\n3\n", "line 3: 1 cells but the header has 2"},
        {"ts,rss_mb\n1,abc\n", "line 2: column rss_mb is not a number: 'abc'"},
        {"ts,rss_mb\n1,nan\n", "line 2: column rss_mb is not a number: 'nan'"},
        {"ts,rss_mb\n,5\n", "line 2: empty 'ts'"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        struct ostel_metrics_table t;
        char err[128] = "";
        assert_int_equal(
            ostel_metrics_parse(cases[i].csv, strlen(cases[i].csv), &t, err, sizeof(err)),
            OSTEL_ERR);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
        assert_null(t.rows);
    }
    const char nul[] = "ts\n1\0\n";
    struct ostel_metrics_table t;
    char err[128];
    assert_int_equal(ostel_metrics_parse(nul, sizeof(nul) - 1, &t, err, sizeof(err)), OSTEL_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_harness_columns),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
