/*
 * Unit tests for rundir_gpu_metrics: gpu_metrics.csv's column table against the docs (the header
 * line in docs/run-directory.md, the field table in docs/gpu.md), its writer (every fixture that
 * ostel wrote comes back byte for byte through the reader and the writer), and its one reader: a
 * good file, columns reordered and unknown ones skipped, a missing required column, garbage, a cut
 * last row, each bad input one error naming its line.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testlib.h"
#include "rundir/rundir_gpu_metrics.h"

#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The writer's header is the table's names in order, the fields after ts, gpu and phase. */
static void test_columns_in_order(void **state)
{
    (void)state;
    char hdr[512];
    size_t n = ostel_gpu_metrics_format_header(hdr, sizeof(hdr));
    assert_true(n > 0);
    struct ostel_str rest = ostel_str_make(hdr, n - 1), cell;
    for (int c = 0; c < OSTEL_GPU_COL_COUNT; c++) {
        const struct ostel_gpu_metrics_col_info *info =
            ostel_gpu_metrics_col((enum ostel_gpu_metrics_col)c);
        const char *comma = memchr(rest.p, ',', rest.n);
        cell = ostel_str_make(rest.p, comma ? (size_t)(comma - rest.p) : rest.n);
        assert_true(ostel_str_eq(cell, info->name));
        assert_int_equal(ostel_gpu_metrics_col_find(cell), c);
        assert_true(info->unit[0] != '\0');
        if (c >= OSTEL_GPU_COL_FIRST_FIELD)
            assert_string_equal(
                ostel_gpu_field_name((enum ostel_gpu_field)(c - OSTEL_GPU_COL_FIRST_FIELD)),
                info->name);
        if (comma)
            rest = ostel_str_make(comma + 1, rest.n - (size_t)(comma - rest.p) - 1);
        else
            assert_int_equal(c, OSTEL_GPU_COL_COUNT - 1);
    }
    assert_string_equal(ostel_gpu_field_name(OSTEL_GPU_FIELD_COUNT), "");
    assert_int_equal(ostel_gpu_metrics_col_find(ostel_str_from_cstr("level")), -1);
}

/* docs/run-directory.md gives the header as one code line under "## gpu_metrics.csv": the
 * writer's, byte for byte. docs/gpu.md's field table names the fields in order (a row may name
 * two), each with the table's unit in its meaning or its column name. */
static void test_docs_are_the_table(void **state)
{
    (void)state;
    char hdr[512];
    size_t n = ostel_gpu_metrics_format_header(hdr, sizeof(hdr));
    hdr[n - 1] = '\0';
    char *path = test_src_path("docs/run-directory.md");
    size_t len;
    char *doc = test_read_file(path, &len);
    char *want = ostel_xasprintf("\n`%s`\n", hdr);
    char *sec = strstr(doc, "\n## gpu_metrics.csv");
    assert_non_null(sec);
    char *next = strstr(sec + 1, "\n## ");
    char *at = strstr(sec, want);
    if (!at || (next && at > next))
        fail_msg("docs/run-directory.md's gpu_metrics.csv section lacks %s", want);
    free(want);
    free(doc);
    free(path);

    path = test_src_path("docs/gpu.md");
    doc = test_read_file(path, &len);
    struct ostel_str rest = ostel_str_make(doc, len), line;
    bool in = false;
    int f = 0;
    while (ostel_str_next_line(&rest, &line)) {
        if (line.n > 3 && memcmp(line.p, "## ", 3) == 0) {
            if (in)
                break;
            in = line.n >= 13 && memcmp(line.p, "## The fields", 13) == 0;
            continue;
        }
        if (!in || line.n < 4 || memcmp(line.p, "| `", 3) != 0)
            continue;
        const char *bar = memchr(line.p + 1, '|', line.n - 1);
        assert_non_null(bar);
        struct ostel_str cell = ostel_str_make(line.p + 1, (size_t)(bar - line.p - 1)), name;
        while (test_md_next_code(&cell, &name)) {
            if (f >= OSTEL_GPU_FIELD_COUNT)
                fail_msg("docs/gpu.md lists '%.*s' after the last field", (int)name.n, name.p);
            if (!ostel_str_eq(name, ostel_gpu_field_name((enum ostel_gpu_field)f)))
                fail_msg("docs/gpu.md lists '%.*s' where the table has '%s'", (int)name.n, name.p,
                         ostel_gpu_field_name((enum ostel_gpu_field)f));
            f++;
        }
    }
    if (f != OSTEL_GPU_FIELD_COUNT)
        fail_msg("docs/gpu.md lists %d of the table's %d fields", f, (int)OSTEL_GPU_FIELD_COUNT);
    free(doc);
    free(path);
}

/* ---- every gpu_metrics.csv fixture through the reader and back through the writer ---- */

static size_t fixtures_seen, fixtures_written;

static int roundtrip_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    const char *base = strrchr(fpath, '/');
    if (type != FTW_F || strcmp(base ? base + 1 : fpath, "gpu_metrics.csv") != 0)
        return 0;
    size_t len;
    char *data = test_read_file(fpath, &len);
    struct ostel_gpu_table t;
    char err[256] = "";
    if (ostel_gpu_metrics_parse(data, len, &t, err, sizeof(err)) != 0)
        fail_msg("%s: %s", fpath, err);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char line[512];
    ostel_buf_append(&b, line, ostel_gpu_metrics_format_header(line, sizeof(line)));
    for (size_t i = 0; i < t.n; i++) {
        size_t n = ostel_gpu_metrics_format_row(&t.rows[i], line, sizeof(line));
        assert_true(n > 0);
        ostel_buf_append(&b, line, n);
    }
    /* gpu-fake/ was written by hand (power with one decimal): it only has to load */
    if (!strstr(fpath, "/gpu-fake/")) {
        if (b.len != len || memcmp(b.data, data, len) != 0)
            fail_msg("%s: not the same bytes once read and written again", fpath);
        fixtures_written++;
    }
    fixtures_seen++;
    ostel_buf_free(&b);
    ostel_gpu_metrics_table_free(&t);
    free(data);
    return 0;
}

/* The fixtures from real runs were written by ostel's earlier writers (the runner's GPU sampler,
 * then its rewrite with phases; H100 runs, serve runs): the table's writer gives the same bytes,
 * and the reader loses nothing. Every fixture loads. */
static void test_fixtures_roundtrip(void **state)
{
    (void)state;
    char *runs = test_src_path("tests/data/runs");
    fixtures_seen = fixtures_written = 0;
    assert_int_equal(nftw(runs, roundtrip_one, 16, FTW_PHYS), 0);
    assert_true(fixtures_seen >= 38);
    assert_true(fixtures_written >= 32);
    free(runs);
}

/* ---- the reader ---- */

static int parse(const char *csv, struct ostel_gpu_table *t, char *err, size_t err_size)
{
    return ostel_gpu_metrics_parse(csv, strlen(csv), t, err, err_size);
}

static void test_good_file(void **state)
{
    (void)state;
    struct ostel_gpu_table t;
    char err[256] = "";
    const char *csv =
        "ts,gpu,phase,mem_used_mb,mem_total_mb,proc_mem_mb,util_pct,mem_util_pct,"
        "power_w,power_instant_w,energy_j,sm_clock_mhz,mem_clock_mhz,temp_c,"
        "clock_events\n"
        "1700000000.100,0,load,1024.5,81559.0,,12,3,71.25,80.50,7.125,1980,2619,-3,4\n"
        "1700000000.100,1,,,,,,,,,,,,,\n";
    if (parse(csv, &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(t.n, 2);
    assert_true(t.rows[0].ts == 1700000000.1);
    assert_int_equal(t.rows[0].gpu, 0);
    assert_int_equal(t.rows[0].phase, OSTEL_PHASE_LOAD);
    assert_true(t.rows[0].v[OSTEL_GPU_MEM_USED_MB] == 1024.5);
    assert_true(t.rows[0].v[OSTEL_GPU_ENERGY_J] == 7.125);
    assert_true(t.rows[0].v[OSTEL_GPU_TEMP_C] == -3); /* the one field that may be below zero */
    assert_false((t.rows[0].valid >> OSTEL_GPU_PROC_MEM_MB) & 1u); /* empty: not read, never 0 */
    assert_int_equal(t.rows[1].gpu, 1);
    assert_int_equal(t.rows[1].valid, 0);
    assert_int_equal(t.rows[1].phase, OSTEL_PHASE_NONE);
    /* and back: the same bytes */
    char line[512];
    ostel_gpu_metrics_format_row(&t.rows[0], line, sizeof(line));
    assert_string_equal(
        line, "1700000000.100,0,load,1024.5,81559.0,,12,3,71.25,80.50,7.125,1980,2619,-3,4\n");
    ostel_gpu_metrics_table_free(&t);
    /* header only, a BOM, CRLF line ends, blank lines */
    assert_int_equal(parse("ts,gpu\n", &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
    ostel_gpu_metrics_table_free(&t);
    assert_int_equal(
        parse("\xef\xbb\xbfts,gpu,power_w\r\n1,0,5\r\n\r\n2,0,6\r\n", &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_true(t.rows[1].v[OSTEL_GPU_POWER_W] == 6);
    ostel_gpu_metrics_table_free(&t);
}

/* An older or foreign file: fewer columns, in another order, with columns the table lacks. */
static void test_reordered_and_extra(void **state)
{
    (void)state;
    struct ostel_gpu_table t;
    char err[256] = "";
    const char *csv = "power_w,board,gpu,ts,note\n"
                      "300.5,x9,3,12.5,anything at all\n"
                      ",,0,13,\n";
    if (parse(csv, &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(t.n, 2);
    assert_true(t.rows[0].ts == 12.5);
    assert_int_equal(t.rows[0].gpu, 3);
    assert_true(t.rows[0].v[OSTEL_GPU_POWER_W] == 300.5);
    assert_int_equal(t.rows[0].valid, 1u << OSTEL_GPU_POWER_W); /* the missing ones invalid */
    assert_int_equal(t.rows[1].valid, 0);
    ostel_gpu_metrics_table_free(&t);
    /* the mapping itself */
    struct ostel_gpu_metrics_scan sc;
    assert_int_equal(ostel_gpu_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(sc.csv.ncols, 5);
    assert_int_equal(sc.csv.col[0], OSTEL_GPU_COL_POWER_W);
    assert_int_equal(sc.csv.col[1], -1);
    assert_int_equal(sc.csv.at[OSTEL_GPU_COL_TS], 3);
    assert_int_equal(sc.csv.at[OSTEL_GPU_COL_PHASE], -1);
    ostel_gpu_metrics_scan_free(&sc);
}

/* The cells are rundir_csv.c's: a quoted one's quotes undone, blanks around a value trimmed before
 * the column's rule, a quote left open one error naming its row. */
static void test_quoted_and_blanks(void **state)
{
    (void)state;
    struct ostel_gpu_table t;
    char err[256] = "";
    if (parse("ts,gpu,phase,power_w\n\"1.5\", 2 ,\"load\", 300.25 \n", &t, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(t.n, 1);
    assert_true(t.rows[0].ts == 1.5);
    assert_int_equal(t.rows[0].gpu, 2);
    assert_int_equal(t.rows[0].phase, OSTEL_PHASE_LOAD);
    assert_true(ostel_gpu_row_get(&t.rows[0], OSTEL_GPU_POWER_W) == 300.25);
    ostel_gpu_metrics_table_free(&t);
    assert_int_equal(parse("ts,gpu\n1,0\n\"2,0\n", &t, err, sizeof(err)), OSTEL_ERR);
    assert_string_equal(err, "line 3: a malformed cell (a quote not closed, or text after one)");
    assert_null(t.rows);
}

/* Bad input: one error naming the line (and the column), nothing returned. */
static void test_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *want;
    } cases[] = {
        {"", "line 1: no header"},
        {"\n1,0\n", "line 1: no header"},
        {"ts,power_w\n1,300\n", "line 1: not a GPU metrics header (needs the columns ts and gpu)"},
        {"gpu,phase\n0,load\n", "line 1: not a GPU metrics header"},
        {"ts,gpu,ts\n1,0,1\n", "line 1: column 'ts' appears twice"},
        {"ts,gpu\n1,64\n", "line 2: no ts or no GPU index (0 to 63)"},
        {"ts,gpu\n1,0.5\n", "line 2: no ts or no GPU index (0 to 63)"},
        {"ts,gpu\n1,0\n,0\n", "line 3: no ts or no GPU index (0 to 63)"},
        {"ts,gpu,power_w\n1,0,30O\n", "line 2: column power_w is not a number"},
        {"ts,gpu\nnan,0\n", "line 2: column ts is not a number"},
        {"ts,gpu,energy_j\n1,0,1e300\n", "line 2: column energy_j is out of range"},
        {"ts,gpu,mem_used_mb\n1,0,-1\n", "line 2: column mem_used_mb is negative"},
        {"ts,gpu\n-1,0\n", "line 2: column ts is negative"},
        {"ts,gpu\n1,0,7\n", "line 2: more cells than the header's 2"},
        {"ts,gpu,power_w\n1,0\n2,0,5\n", "line 2: 2 cells but the header has 3"},
        /* a file cut inside its last row (ostel killed mid-write) */
        {"ts,gpu,power_w,energy_j\n1,0,5,1\n2,0,5", "line 3: 3 cells but the header has 4 (the "
                                                    "last row, cut short)"},
        {"\x01\xff\xfe,\"\n\x00\x00", "line 1: not a GPU metrics header"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        struct ostel_gpu_table t;
        char err[256] = "";
        size_t len = strlen(cases[i].csv);
        if (i == OSTEL_ARRAY_LEN(cases) - 1)
            len += 2; /* the NULs too */
        assert_int_equal(ostel_gpu_metrics_parse(cases[i].csv, len, &t, err, sizeof(err)),
                         OSTEL_ERR);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
        assert_null(t.rows);
        assert_int_equal(t.n, 0);
    }
}

/* The pull scanner hands rows one at a time, then 0; after an error it has handed the rows before
 * the bad one. */
static void test_scanner(void **state)
{
    (void)state;
    const char *csv = "ts,gpu\n1,0\n2,1\nx,0\n";
    struct ostel_gpu_metrics_scan sc;
    struct ostel_gpu_row r;
    char err[128];
    assert_int_equal(ostel_gpu_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_true(r.ts == 1);
    assert_int_equal(ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_int_equal(r.gpu, 1);
    assert_int_equal(ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err)), OSTEL_ERR);
    assert_string_equal(err, "line 4: column ts is not a number");
    ostel_gpu_metrics_scan_free(&sc);
    csv = "ts,gpu\n1,0\n";
    assert_int_equal(ostel_gpu_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_int_equal(ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err)), 0);
    assert_int_equal(ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err)), 0);
    ostel_gpu_metrics_scan_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_in_order),    cmocka_unit_test(test_docs_are_the_table),
        cmocka_unit_test(test_fixtures_roundtrip),  cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_reordered_and_extra), cmocka_unit_test(test_quoted_and_blanks),
        cmocka_unit_test(test_bad_input),           cmocka_unit_test(test_scanner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
