/*
 * test_report_load: what `ostel report` reads of metrics.csv per format (docs/report.md). md, csv
 * and json read its head up to the first row that gives MemAvailable (sys_avail_mb), checked as
 * the full scan checks it; html reads and checks every row, since it draws them. A value beyond
 * the first 4 KiB is still found (the whole file is read then), and a file without the column, or
 * a header the report cannot use, is checked whole with the full scan's messages. The per-phase
 * values the loader reads are the PHASE STATS table's (rundir_phase_stats.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testlib.h"
#include "report/report.h"
#include "rundir/rundir_phase_stats.h"

#define ROWS 400 /* about 12 KiB of rows: three times the head that md, csv and json read first */

/* A run directory (the study-metal fixture's summary and config) whose metrics.csv has ROWS rows:
 * header hdr; sys_avail_mb (when in the header, the last column) empty before row avail_row (a
 * 1-based line number) and 1000 + its line from there; line bad_line's rss_mb is "oops" (0: none).
 */
static char *make_run(const char *dir, const char *hdr, int avail_line, int bad_line)
{
    char *run = ostel_xasprintf("%s/r%d-%d-%zu", dir, avail_line, bad_line, strlen(hdr));
    mkdir(run, 0755);
    char *src = test_src_path("tests/data/runs/study-metal/q4km-2");
    test_copy_file(src, run, "summary.json");
    test_copy_file(src, run, "config.txt");
    free(src);
    bool with_avail = strstr(hdr, "sys_avail_mb") != NULL;
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    ostel_buf_printf(&csv, "%s\n", hdr);
    for (int line = 2; line < ROWS + 2; line++) {
        ostel_buf_printf(&csv, "%d.250,", 1790000000 + line);
        if (line == bad_line)
            ostel_buf_puts(&csv, "oops");
        else
            ostel_buf_printf(&csv, "%d.5", 200 + line % 7);
        ostel_buf_puts(&csv, ",generate");
        if (with_avail && line >= avail_line)
            ostel_buf_printf(&csv, ",%d", 1000 + line);
        else if (with_avail)
            ostel_buf_puts(&csv, ",");
        ostel_buf_puts(&csv, "\n");
    }
    char *path = ostel_xasprintf("%s/metrics.csv", run);
    test_write_file(path, csv.data, csv.len);
    free(path);
    ostel_buf_free(&csv);
    return run;
}

/* `ostel report RUN --format FMT`: its exit status; *out and *err as test_run_ostel gives them. */
static int report(const char *run, const char *fmt, char **out, char **err)
{
    const char *argv[] = {"report", run, "--format", fmt, NULL};
    return test_run_ostel(argv, out, err);
}

/* The format fails naming metrics.csv's line. */
static void expect_refused(const char *run, const char *fmt, int line)
{
    char *out, *err;
    char *want =
        ostel_xasprintf("%s/metrics.csv: line %d: column rss_mb is not a number", run, line);
    int rc = report(run, fmt, &out, &err);
    if (rc == 0 || !strstr(err, want))
        fprintf(stderr, "%s: rc %d, stderr: %s\n", fmt, rc, err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, want));
    free(want);
    free(out);
    free(err);
}

/* json's mem_available_start_mib of the one run. */
static void expect_avail(const char *run, const char *want)
{
    char *out, *err;
    int rc = report(run, "json", &out, &err);
    if (rc != 0)
        fprintf(stderr, "stderr: %s\n", err);
    assert_int_equal(rc, 0);
    char *needle = ostel_xasprintf("\"mem_available_start_mib\":\t%s,", want);
    if (!strstr(out, needle))
        fprintf(stderr, "no %s in the JSON report\n", needle);
    assert_non_null(strstr(out, needle));
    free(needle);
    free(out);
    free(err);
}

static void expect_ok(const char *run, const char *fmt)
{
    char *out, *err;
    int rc = report(run, fmt, &out, &err);
    if (rc != 0)
        fprintf(stderr, "%s: stderr: %s\n", fmt, err);
    assert_int_equal(rc, 0);
    free(out);
    free(err);
}

static void test_metrics_read_per_format(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    const char *full = "ts,rss_mb,phase,sys_avail_mb";

    /* MemAvailable on the first row, a bad row far beyond it: md, csv and json stop at the first
     * row; html draws every row and refuses the file. */
    char *run = make_run(dir, full, 2, 300);
    expect_avail(run, "1002");
    expect_ok(run, "md");
    expect_ok(run, "csv");
    expect_refused(run, "html", 300);
    free(run);

    /* A bad row before the first MemAvailable is read, and refused by every format. */
    run = make_run(dir, full, 5, 3);
    static const char *const fmts[] = {"md", "csv", "json", "html"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(fmts); i++)
        expect_refused(run, fmts[i], 3);
    free(run);

    /* The first MemAvailable beyond the head's 4 KiB: found in the whole file. */
    run = make_run(dir, full, 350, 0);
    expect_avail(run, "1350");
    free(run);
    run = make_run(dir, full, 350, 380); /* ...where a bad row after it is not read */
    expect_avail(run, "1350");
    free(run);
    run = make_run(dir, full, 350, 200); /* ...and one before it is */
    expect_refused(run, "md", 200);
    free(run);

    /* No sys_avail_mb column: every row is read, and checked, by every format. */
    run = make_run(dir, "ts,rss_mb,phase", 0, 390);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(fmts); i++)
        expect_refused(run, fmts[i], 390);
    free(run);
    run = make_run(dir, "ts,rss_mb,phase", 0, 0);
    expect_avail(run, "null");
    free(run);

    /* No rss_mb: a row's error first, as before, then the header's. */
    run = make_run(dir, "ts,rss_mb_x,phase,sys_avail_mb", 2, 0);
    char *out, *err;
    assert_int_equal(report(run, "md", &out, &err), 1);
    assert_non_null(strstr(err, "not a metrics header (needs the columns ts and rss_mb)"));
    free(out);
    free(err);
    free(run);

    test_rmtree(dir);
    free(dir);
}

/* The report's per-phase values are the PHASE STATS the table gives a report index (rundir/): each
 * of enum ostel_report_tel is the statistic of its name, read under the table's key. */
static void test_tel_is_the_table(void **state)
{
    (void)state;
    static const struct {
        int tel;
        enum ostel_phase_stat stat;
    } pairs[] = {
        {OSTEL_REPORT_TEL_DURATION_S, OSTEL_PHASE_STAT_DURATION_S},
        {OSTEL_REPORT_TEL_RSS_PEAK_MIB, OSTEL_PHASE_STAT_RSS_PEAK_MIB},
        {OSTEL_REPORT_TEL_RSS_MEAN_MIB, OSTEL_PHASE_STAT_RSS_MEAN_MIB},
        {OSTEL_REPORT_TEL_CPU_MEAN_PCT, OSTEL_PHASE_STAT_CPU_MEAN_PCT},
        {OSTEL_REPORT_TEL_PAGEINS, OSTEL_PHASE_STAT_PAGEINS},
        {OSTEL_REPORT_TEL_PAGEOUTS, OSTEL_PHASE_STAT_PAGEOUTS},
        {OSTEL_REPORT_TEL_MAJFLT, OSTEL_PHASE_STAT_MAJFLT},
        {OSTEL_REPORT_TEL_SWAPOUTS, OSTEL_PHASE_STAT_SWAPOUTS},
        {OSTEL_REPORT_TEL_PRESSURE_WORST, OSTEL_PHASE_STAT_PRESSURE_WORST},
        {OSTEL_REPORT_TEL_AVAIL_MIN_PCT, OSTEL_PHASE_STAT_AVAIL_MIN_PCT},
        {OSTEL_REPORT_TEL_SWAP_PEAK_MIB, OSTEL_PHASE_STAT_SWAP_PEAK_MIB},
        {OSTEL_REPORT_TEL_RSS_ANON_PEAK_MIB, OSTEL_PHASE_STAT_RSS_ANON_PEAK_MIB},
        {OSTEL_REPORT_TEL_RSS_FILE_PEAK_MIB, OSTEL_PHASE_STAT_RSS_FILE_PEAK_MIB},
    };
    assert_int_equal(OSTEL_ARRAY_LEN(pairs), OSTEL_REPORT_NTEL);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(pairs); i++) {
        const struct ostel_phase_stat_info *info = ostel_phase_stat(pairs[i].stat);
        assert_int_equal(info->report, pairs[i].tel);
        assert_string_equal(ostel_report_tel_key(pairs[i].tel), info->key);
    }
    assert_string_equal(ostel_report_tel_key(-1), "?");
    assert_string_equal(ostel_report_tel_key(OSTEL_REPORT_NTEL), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_read_per_format),
        cmocka_unit_test(test_tel_is_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
