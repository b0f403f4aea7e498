/*
 * Unit tests for report: the loader's pure parsers, grouping and baselines, the escapers, and
 * golden files of the Markdown, CSV and JSON reports on the fixture run directories
 * (tests/data/runs). Bad input goes through the real binary: one error naming the file, exit
 * status 1.
 *
 * OSTEL_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (then review the diff).
 */
#include "testlib.h"
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Replaces every occurrence of from with to; the caller frees the result. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    size_t n = strlen(from);
    for (const char *p = s; *p;) {
        const char *hit = n ? strstr(p, from) : NULL;
        if (!hit) {
            ostel_buf_puts(&b, p);
            break;
        }
        ostel_buf_append(&b, p, (size_t)(hit - p));
        ostel_buf_puts(&b, to);
        p = hit + n;
    }
    if (!b.data)
        return ostel_xstrdup("");
    return ostel_buf_detach(&b);
}

static void check_golden(const char *format, const char *golden)
{
    char *runs = test_src_path("tests/data/runs");
    char *study = ostel_xasprintf("%s/study-metal", runs);
    char *cpu = ostel_xasprintf("%s/cpu-paging", runs);
    const char *argv[] = {"report", study, cpu, "--format", format, NULL};
    char *out, *err;
    int rc = test_run_ostel(argv, &out, &err);
    if (rc != 0)
        fprintf(stderr, "stderr: %s\n", err);
    assert_int_equal(rc, 0);
    char *got = replace_all(out, runs, "@RUNS@");
    char *path = test_src_path(golden);
    if (getenv("OSTEL_UPDATE_GOLDEN")) {
        test_write_file(path, got, strlen(got));
    } else {
        size_t n;
        char *want = test_read_file(path, &n);
        if (strcmp(got, want) != 0) {
            char *tmp = ostel_xasprintf("%s.got", path);
            test_write_file(tmp, got, strlen(got));
            fprintf(stderr, "golden mismatch: diff %s %s\n", path, tmp);
            free(tmp);
        }
        assert_string_equal(got, want);
        free(want);
    }
    free(path);
    free(got);
    free(out);
    free(err);
    free(study);
    free(cpu);
    free(runs);
}

static void test_golden_md(void **state)
{
    (void)state;
    check_golden("md", "tests/data/golden/report.md");
}

static void test_golden_csv(void **state)
{
    (void)state;
    check_golden("csv", "tests/data/golden/report.csv");
}

static void test_golden_json(void **state)
{
    (void)state;
    check_golden("json", "tests/data/golden/report.json");
}

static void test_load_summary(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    assert_int_equal(ostel_report_load_summary(r, "{", 1, err, sizeof(err)), -1);
    assert_string_equal(err, "not valid JSON");
    const char *other = "{\"schema\":\"x\"}";
    assert_int_equal(ostel_report_load_summary(r, other, strlen(other), err, sizeof(err)), -1);
    const char *v2 = "{\"schema\":\"ostel.summary\",\"schema_version\":2,\"run\":{}}";
    assert_int_equal(ostel_report_load_summary(r, v2, strlen(v2), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "schema_version"));
    /* The parser's nested JSON, "inf" speeds, a CUDA device row and a Host row. */
    const char *ok =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"tag\":\"a\\nb\","
        "\"status\":\"ok\",\"ctx\":4096,\"gen\":null,\"wall_s\":2.5},\"llama\":{\"timings\":"
        "{\"prompt_tps\":\"inf\",\"gen_tps\":12.5},\"model\":{\"arch\":\"llama\",\"type\":\"1B\","
        "\"file_type\":\"Q4_0\",\"size_mib\":600},\"memory_breakdown\":[{\"device\":\"CUDA0 "
        "(H100)\","
        "\"total\":80000,\"free\":1000,\"self\":1700,\"model\":1000,\"context\":500,\"compute\":"
        "200,"
        "\"unaccounted\":17592186030401},{\"device\":\"Host\",\"total\":null,\"self\":55}]},"
        "\"telemetry\":{\"overall\":{\"rss_peak_mib\":700,\"pageins\":null},\"phases\":"
        "{\"load\":null,\"generate\":{\"cpu_mean_pct\":99}}}}";
    assert_int_equal(ostel_report_load_summary(r, ok, strlen(ok), err, sizeof(err)), 0);
    assert_string_equal(r->tag, "a b");
    assert_true(r->ok);
    assert_int_equal(r->ctx, 4096);
    assert_int_equal(r->gen, -1);
    assert_true(isnan(r->metric[OSTEL_REPORT_M_PROMPT_TPS]));
    assert_true(r->metric[OSTEL_REPORT_M_GEN_TPS] == 12.5);
    assert_string_equal(r->device, "CUDA0");
    assert_string_equal(r->device_desc, "CUDA0 (H100)");
    assert_string_equal(r->model_type, "llama 1B Q4_0");
    assert_true(r->metric[OSTEL_REPORT_M_DEV_USED_MIB] == 1700);
    assert_true(r->metric[OSTEL_REPORT_M_HOST_MIB] == 55);
    assert_true(r->metric[OSTEL_REPORT_M_RSS_PEAK_MIB] == 700);
    assert_true(isnan(r->metric[OSTEL_REPORT_M_PAGEINS]));
    assert_false(r->phase_present[OSTEL_REPORT_PHASE_LOAD]);
    assert_true(r->phase_present[OSTEL_REPORT_PHASE_GENERATE]);
    assert_true(r->tel[OSTEL_REPORT_PHASE_GENERATE][OSTEL_REPORT_TEL_CPU_MEAN_PCT] == 99);
    assert_true(r->has_memory);
    ostel_report_set_free(&set);
}

static void test_load_buffers_and_config(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    const char *js =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"status\":\"failed\"},"
        "\"llama\":{\"buffers\":[{\"kind\":\"model\",\"backend\":\"MTL0_Mapped\",\"mib\":400},"
        "{\"kind\":\"model\",\"backend\":\"CPU_Mapped\",\"mib\":90},{\"kind\":\"kv\",\"backend\":"
        "\"MTL0\",\"mib\":6},{\"kind\":\"compute\",\"backend\":\"MTL0\",\"mib\":300},{\"kind\":"
        "\"output\",\"backend\":\"CPU\",\"mib\":0.5}]}}";
    assert_int_equal(ostel_report_load_summary(r, js, strlen(js), err, sizeof(err)), 0);
    assert_false(r->ok);
    assert_string_equal(r->device, "MTL0");
    assert_true(r->metric[OSTEL_REPORT_M_DEV_USED_MIB] == 706);
    assert_true(r->metric[OSTEL_REPORT_M_HOST_MIB] == 90);
    const char *cfg = "tag=from-config\nctx=2048\ngen=x\nstatus=ok\nbogus\n";
    ostel_report_load_config(r, cfg, strlen(cfg));
    assert_string_equal(r->tag, "from-config");
    assert_int_equal(r->ctx, 2048);
    assert_int_equal(r->gen, -1);
    ostel_report_set_free(&set);
}

static void test_load_metrics(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    const char *csv = "ts,rss_mb,cpu_pct,vm_pressure_flag,avail_mem_level,pageins_delta,"
                      "pageouts_delta,phase\n"
                      "100.0,10,,1,50,0,0,load\n100.5,20,150,2,40,5,1,generate\n\n";
    assert_int_equal(ostel_report_load_metrics(r, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(r->series.n, 2);
    assert_true(r->series.t_s[1] == 0.5);
    assert_true(isnan(r->series.cpu_pct[0]));
    assert_int_equal(r->series.phase[1], OSTEL_REPORT_PHASE_GENERATE);
    const char *bad = "ts,rss_mb\n1,2\n3,abc\n";
    assert_int_equal(ostel_report_load_metrics(r, bad, strlen(bad), err, sizeof(err)), -1);
    assert_string_equal(err, "line 3: column rss_mb is not a number");
    const char *short_row = "ts,rss_mb,cpu_pct\n1,2\n";
    assert_int_equal(ostel_report_load_metrics(r, short_row, strlen(short_row), err, sizeof(err)),
                     -1);
    assert_string_equal(err, "line 2: 2 fields where the header has 3");
    const char *nohead = "a,b\n";
    assert_int_equal(ostel_report_load_metrics(r, nohead, strlen(nohead), err, sizeof(err)), -1);
    assert_int_equal(ostel_report_load_metrics(r, "", 0, err, sizeof(err)), -1);
    ostel_report_set_free(&set);
}

static void test_grouping_and_baseline(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    const char *tags[] = {"b", "a", "b", "a"};
    const double tps[] = {10, 20, 12, 22};
    for (int i = 0; i < 4; i++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        free(r->tag);
        r->tag = ostel_xstrdup(tags[i]);
        free(r->status);
        r->status = ostel_xstrdup("ok");
        r->ok = true;
        r->ctx = 4096;
        r->start_ts = 100 - i; /* later runs started earlier: order by time, not by argument */
        r->metric[OSTEL_REPORT_M_GEN_TPS] = tps[i];
    }
    struct ostel_report rep;
    char err[256];
    struct ostel_report_options opt = {0, "a"};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 2);
    assert_string_equal(rep.groups[0].label, "b");
    assert_int_equal(rep.baseline, 1);
    assert_int_equal(rep.groups[0].runs[0], 2);
    assert_true(rep.groups[0].value[OSTEL_REPORT_M_GEN_TPS] == 11);
    assert_true(fabs(rep.groups[0].cmp[OSTEL_REPORT_M_GEN_TPS].ratio.ratio - 11.0 / 21.0) < 1e-12);
    ostel_report_free(&rep);

    unsigned by;
    assert_true(ostel_report_parse_group_by("tag, ctx", &by));
    assert_int_equal(by, OSTEL_REPORT_BY_TAG | OSTEL_REPORT_BY_CTX);
    assert_false(ostel_report_parse_group_by("tag,colour", &by));
    assert_false(ostel_report_parse_group_by("", &by));
    struct ostel_report_options o2 = {OSTEL_REPORT_BY_CTX, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &o2, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 1);
    assert_string_equal(rep.groups[0].label, "ctx 4096");
    ostel_report_free(&rep);
    struct ostel_report_options o3 = {0, "zzz"};
    assert_int_equal(ostel_report_build(&rep, &set, &o3, err, sizeof(err)), -1);
    assert_string_equal(err, "baseline 'zzz' matches no group (the groups are 'b', 'a')");
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
}

static void test_escapes(void **state)
{
    (void)state;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_report_escape_html(&b, "<script>alert(1)</script> & \"x\" 'y'");
    assert_string_equal(b.data,
                        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;");
    ostel_buf_reset(&b);
    ostel_report_escape_script_json(&b,
                                    "{\"a\":\"</script>&\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xa6\"}");
    assert_string_equal(b.data,
                        "{\"a\":\"\\u003c/script\\u003e\\u0026\\u2028\\u2029\xe2\x80\xa6\"}");
    ostel_buf_free(&b);
    char n[64];
    assert_string_equal(ostel_report_fmt_num(1234567.891, 2, n, sizeof(n)), "1,234,567.89");
    assert_string_equal(ostel_report_fmt_num(-1234.4, 0, n, sizeof(n)), "-1,234");
    assert_string_equal(ostel_report_fmt_num(-0.001, 1, n, sizeof(n)), "0.0");
    assert_string_equal(ostel_report_fmt_num(NAN, 1, n, sizeof(n)), "—");
}

/* Runs `ostel report ARGS`, expecting exit status want and stderr containing needle. */
static void expect_failure(const char *const *argv, int want, const char *needle)
{
    char *out, *err;
    int rc = test_run_ostel(argv, &out, &err);
    if (!strstr(err, needle))
        fprintf(stderr, "stderr was: %s\n", err);
    assert_int_equal(rc, want);
    assert_non_null(strstr(err, needle));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *d = test_read_file(from, &n);
    test_write_file(to, d, n);
    free(d);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    /* An empty directory. */
    const char *a1[] = {"report", dir, NULL};
    expect_failure(a1, 1, "no run directories in it");
    /* A run directory without summary.json. */
    char *run = ostel_xasprintf("%s/r1", dir);
    mkdir(run, 0755);
    char *src = test_src_path("tests/data/runs/study-metal/q4km-2");
    char *from = ostel_xasprintf("%s/metrics.csv", src);
    char *to = ostel_xasprintf("%s/metrics.csv", run);
    copy_file(from, to);
    char *want = ostel_xasprintf("%s/summary.json: missing", run);
    const char *a2[] = {"report", run, NULL};
    expect_failure(a2, 1, want);
    free(want);
    /* A corrupt metrics.csv beside a good summary.json. */
    free(from);
    from = ostel_xasprintf("%s/summary.json", src);
    char *sum = ostel_xasprintf("%s/summary.json", run);
    copy_file(from, sum);
    test_write_file(to, "ts,rss_mb\n1.0,2\n1.1,oops\n", 25);
    want = ostel_xasprintf("%s/metrics.csv: line 3: column rss_mb is not a number", run);
    expect_failure(a2, 1, want);
    free(want);
    /* Corrupt JSON. */
    test_write_file(sum, "{\"schema\":", 10);
    want = ostel_xasprintf("%s/summary.json: not valid JSON", run);
    expect_failure(a2, 1, want);
    free(want);
    /* Usage errors. */
    const char *a3[] = {"report", NULL};
    expect_failure(a3, 2, "no run directory given");
    const char *a4[] = {"report", src, "--format", "pdf", NULL};
    expect_failure(a4, 2, "unknown format 'pdf'");
    const char *a5[] = {"report", src, "--baseline", "nope", NULL};
    expect_failure(a5, 1, "baseline 'nope' matches no group");
    free(sum);
    free(from);
    free(to);
    free(src);
    free(run);
    test_rmtree(dir);
    free(dir);
}

static void test_html_escapes_log(void **state)
{
    (void)state;
    char *runs = test_src_path("tests/data/runs/study-metal");
    const char *argv[] = {"report", runs, "--format", "html", NULL};
    char *out, *err;
    assert_int_equal(test_run_ostel(argv, &out, &err), 0);
    assert_null(strstr(out, "<script>alert(1)"));
    assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    if (ostel_report_html_has_charts()) {
        assert_non_null(strstr(out, "\\u003cscript\\u003ealert(1)"));
        assert_non_null(strstr(out, "id=\"ostel-data\""));
    } else {
        assert_non_null(strstr(out, "Charts are not available"));
    }
    free(out);
    free(err);
    free(runs);
}

/* Real run directories from `ostel run` (tests/data/runs/README.md): load, group, failed run kept.
 */
static void test_real_runs(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/runs/real-tiny");
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_path(&set, dir), 0);
    assert_int_equal(set.n, 7);
    struct ostel_report rep;
    char err[256];
    struct ostel_report_options opt = {0, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 2);
    assert_string_equal(rep.groups[0].label, "f16");
    assert_string_equal(rep.groups[1].label, "q8_0");
    assert_int_equal(rep.groups[1].n, 4);
    assert_int_equal(rep.groups[1].n_ok, 3);
    assert_string_equal(rep.groups[0].device, "CPU");
    for (size_t i = 0; i < set.n; i++) {
        const struct ostel_report_run *r = &set.runs[i];
        assert_true(r->series.n >= 2);
        if (strcmp(r->name, "q8-timeout") == 0) {
            assert_string_equal(r->status, "timeout");
            assert_non_null(r->log_tail);
        } else {
            assert_true(r->ok);
            assert_true(r->metric[OSTEL_REPORT_M_GEN_TPS] > 0);
            assert_true(r->has_memory);
            assert_true(r->metric[OSTEL_REPORT_M_RSS_PEAK_MIB] > 10);
        }
    }
    /* The q8_0 model is about half the f16 one: llama.cpp's model buffer says so. */
    double f16 = rep.groups[0].value[OSTEL_REPORT_M_MODEL_MIB];
    double q8 = rep.groups[1].value[OSTEL_REPORT_M_MODEL_MIB];
    assert_true(q8 > 0.4 * f16 && q8 < 0.6 * f16);
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_summary),     cmocka_unit_test(test_load_buffers_and_config),
        cmocka_unit_test(test_load_metrics),     cmocka_unit_test(test_grouping_and_baseline),
        cmocka_unit_test(test_escapes),          cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_html_escapes_log), cmocka_unit_test(test_golden_md),
        cmocka_unit_test(test_golden_csv),       cmocka_unit_test(test_golden_json),
        cmocka_unit_test(test_real_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
