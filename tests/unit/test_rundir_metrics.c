/*
 * Unit tests for rundir_metrics: metrics.csv's column table against docs/run-directory.md (the
 * docs' column list is the table's: names in order, units), its writer (an invalid value an empty
 * cell, never 0) read back, and its one reader: the header mapped by name (columns in any order,
 * missing ones invalid in every row, unknown ones skipped; the original harness's seven-column
 * files), a header-only file, an empty cell invalid and never 0, a malformed number or hostile
 * input one error.
 */
#include "testlib.h"
#include "rundir/rundir_metrics.h"
#include "rundir/rundir_validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The header the writer writes is the table's names in order, and every name maps back. */
static void test_columns_in_order(void **state)
{
    (void)state;
    char hdr[1024];
    size_t n = ostel_metrics_format_header(hdr, sizeof(hdr));
    assert_true(n > 0);
    struct ostel_str rest = ostel_str_make(hdr, n - 1);
    for (int c = 0; c < OSTEL_COL_COUNT; c++) {
        const struct ostel_metrics_col_info *info = ostel_metrics_col((enum ostel_metric_col)c);
        assert_string_equal(info->name, ostel_metrics_col_name((enum ostel_metric_col)c));
        const char *comma = memchr(rest.p, ',', rest.n);
        struct ostel_str cell = ostel_str_make(rest.p, comma ? (size_t)(comma - rest.p) : rest.n);
        assert_true(ostel_str_eq(cell, info->name));
        assert_int_equal(ostel_metrics_col_find(cell), c);
        assert_true(info->unit[0] != '\0');
        assert_true(info->decimals >= 0 && info->decimals <= 3);
        if (comma) {
            rest.n -= (size_t)(comma - rest.p) + 1;
            rest.p = comma + 1;
        } else {
            assert_int_equal(c, OSTEL_COL_COUNT - 1);
        }
    }
    assert_int_equal(ostel_metrics_col_find(ostel_str_from_cstr(OSTEL_METRICS_LEVEL_COL)), -1);
    assert_int_equal(ostel_metrics_col_find(ostel_str_from_cstr("rss")), -1);
    /* the first seven are the original harness's, in its order */
    static const char harness[] = "ts,rss_mb,cpu_pct,vm_pressure_flag,avail_mem_level,"
                                  "pageins_delta,pageouts_delta,";
    assert_int_equal(strncmp(hdr, harness, sizeof(harness) - 1), 0);
}

/* docs/run-directory.md's metrics.csv table lists the table's columns in its order (a row may name
 * several: "`minflt_delta`, `majflt_delta`"), each unit cell starting with the table's unit, then
 * serve's level column. */
static void test_docs_list_is_the_table(void **state)
{
    (void)state;
    char *path = test_src_path("docs/run-directory.md");
    size_t len;
    char *doc = test_read_file(path, &len);
    struct ostel_str rest = ostel_str_make(doc, len), line;
    bool in = false, level = false;
    int next = 0;
    while (ostel_str_next_line(&rest, &line)) {
        if (line.n > 3 && memcmp(line.p, "## ", 3) == 0) {
            if (in)
                break;
            in = ostel_str_eq(line, "## metrics.csv");
            continue;
        }
        if (!in || line.n < 4 || memcmp(line.p, "| `", 3) != 0)
            continue;
        struct ostel_str names = test_md_cell(line, 0), unit = test_md_cell(line, 1), name;
        while (test_md_next_code(&names, &name)) {
            assert_false(level); /* level is the last column */
            if (ostel_str_eq(name, OSTEL_METRICS_LEVEL_COL)) {
                level = true;
                continue;
            }
            if (next >= OSTEL_COL_COUNT)
                fail_msg("docs list '%.*s' after the table's last column", (int)name.n, name.p);
            const struct ostel_metrics_col_info *info =
                ostel_metrics_col((enum ostel_metric_col)next);
            if (!ostel_str_eq(name, info->name))
                fail_msg("docs list '%.*s' where the table has '%s'", (int)name.n, name.p,
                         info->name);
            size_t ul = strlen(info->unit);
            if (unit.n < ul || memcmp(unit.p, info->unit, ul) != 0)
                fail_msg("docs give %s the unit '%.*s', the table '%s'", info->name, (int)unit.n,
                         unit.p, info->unit);
            next++;
        }
    }
    if (next != OSTEL_COL_COUNT)
        fail_msg("docs list %d of the table's %d columns", next, (int)OSTEL_COL_COUNT);
    assert_true(level);
    free(doc);
    free(path);
}

static int parse(const char *csv, struct ostel_metrics_table *t, char *err, size_t err_size)
{
    return ostel_metrics_parse(csv, strlen(csv), t, err, err_size);
}

/* An old file: fewer columns, in another order, with columns this ostel does not know. */
static void test_header_by_name(void **state)
{
    (void)state;
    struct ostel_metrics_table t;
    char err[256] = "";
    const char *csv = "gpu0_mem_mb,rss_mb,ts,level,phase\n"
                      "12,100.5,1700000000.25,c1,generate\n"
                      "x,,1700000000.5,,\n";
    if (parse(csv, &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(t.n, 2);
    assert_true(t.rows[0].v[OSTEL_COL_TS] == 1700000000.25);
    assert_true(t.rows[0].v[OSTEL_COL_RSS_MB] == 100.5);
    assert_int_equal(t.rows[0].phase, OSTEL_PHASE_GENERATE);
    /* an empty cell is invalid, NAN, never 0 */
    assert_false(ostel_metrics_has(&t.rows[1], OSTEL_COL_RSS_MB));
    assert_true(isnan(ostel_metrics_get(&t.rows[1], OSTEL_COL_RSS_MB)));
    assert_int_equal(t.rows[1].phase, OSTEL_PHASE_NONE);
    /* a missing column is invalid in every row */
    for (size_t i = 0; i < t.n; i++)
        for (int c = 0; c < OSTEL_COL_COUNT; c++)
            if (c != OSTEL_COL_TS && !(i == 0 && c == OSTEL_COL_RSS_MB))
                assert_false(ostel_metrics_has(&t.rows[i], (enum ostel_metric_col)c));
    ostel_metrics_table_free(&t);

    /* the mapping itself */
    struct ostel_str cells[] = {ostel_str_from_cstr("cpu_pct"), ostel_str_from_cstr("new_col"),
                                ostel_str_from_cstr("ts")};
    struct ostel_metrics_header h;
    ostel_metrics_header_map(&h, cells, 3);
    assert_int_equal(h.ncols, 3);
    assert_int_equal(h.col[0], OSTEL_COL_CPU_PCT);
    assert_int_equal(h.col[1], -1);
    assert_int_equal(h.col[2], OSTEL_COL_TS);
    assert_int_equal(h.at[OSTEL_COL_TS], 2);
    assert_int_equal(h.at[OSTEL_COL_RSS_MB], -1);
}

/* A file with its header only has no rows and is no error; a BOM and CRLF line ends are fine. */
static void test_header_only(void **state)
{
    (void)state;
    struct ostel_metrics_table t;
    char err[256] = "";
    char hdr[1024];
    ostel_metrics_format_header(hdr, sizeof(hdr));
    assert_int_equal(parse(hdr, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
    ostel_metrics_table_free(&t);
    assert_int_equal(parse("\xef\xbb\xbfts,rss_mb\r\n1,2\r\n", &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 1);
    assert_true(t.rows[0].v[OSTEL_COL_RSS_MB] == 2);
    ostel_metrics_table_free(&t);
}

/* A malformed number is one error naming its line and column; nothing is returned. */
static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *want;
    } cases[] = {
        {"ts,rss_mb\n1,2\n2,4o3.9\n3,4\n", "line 3: column rss_mb is not a number: '4o3.9'"},
        {"ts,cpu_pct\n1,-5\n", "line 2: column cpu_pct is negative: '-5'"},
        {"ts,footprint_mb\n1,abc\n", "line 2: column footprint_mb is not a number: 'abc'"},
        {"ts,cgroup_mem_mb\n1,-1\n", "line 2: column cgroup_mem_mb is negative: '-1'"},
        {"ts,phase\n1,idle\n", "line 2: unknown phase 'idle'"},
        {"ts,rss_mb\n1\n", "line 2: 1 cells but the header has 2"},
        {"rss_mb\n1\n", "line 1: no 'ts' column"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        struct ostel_metrics_table t;
        char err[256] = "";
        assert_int_equal(parse(cases[i].csv, &t, err, sizeof(err)), OSTEL_ERR);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
        assert_null(t.rows);
        assert_int_equal(t.n, 0);
    }
    /* a column the table does not know is text: not checked as a number */
    struct ostel_metrics_table t;
    char err[256] = "";
    assert_int_equal(parse("ts,whatever\n1,abc\n", &t, err, sizeof(err)), 0);
    ostel_metrics_table_free(&t);
}

/* The pull scanner gives the push scan's rows. */
static void test_scanner(void **state)
{
    (void)state;
    const char *csv = "ts,rss_mb,phase\n1,2,load\n\n3,,prompt\n";
    struct ostel_rundir_metrics_scan *sc = ostel_xmalloc(sizeof(*sc));
    char err[256];
    assert_int_equal(ostel_rundir_metrics_scan_init(sc, csv, strlen(csv), NULL, err, sizeof(err)),
                     0);
    assert_int_equal(sc->ncols, 3);
    struct ostel_metrics_header h;
    ostel_metrics_header_map(&h, sc->header, sc->ncols);
    struct ostel_metrics_row r;
    assert_int_equal(ostel_rundir_metrics_scan_next(sc, err, sizeof(err)), 1);
    ostel_metrics_row_from_cells(&h, sc->cells, sc->vals, &r);
    assert_true(r.v[OSTEL_COL_RSS_MB] == 2);
    assert_int_equal(r.phase, OSTEL_PHASE_LOAD);
    assert_int_equal(ostel_rundir_metrics_scan_next(sc, err, sizeof(err)), 1);
    ostel_metrics_row_from_cells(&h, sc->cells, sc->vals, &r);
    assert_false(ostel_metrics_has(&r, OSTEL_COL_RSS_MB));
    assert_int_equal(r.phase, OSTEL_PHASE_PROMPT);
    assert_int_equal(ostel_rundir_metrics_scan_next(sc, err, sizeof(err)), 0);
    free(sc);
}

/* The writer's header and rows, read back; the columns added later round-trip too. */
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
        cmocka_unit_test(test_columns_in_order),
        cmocka_unit_test(test_docs_list_is_the_table),
        cmocka_unit_test(test_header_by_name),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_scanner),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_harness_columns),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
