/*
 * Unit tests for `ostel report --db`: a database filled by importing the report's fixture run
 * directories (tests/data/runs) gives the same report as the directories — Markdown, JSON with the
 * time series, CSV; selection by study (id or name) and tag; a failed run's log tail only while its
 * directory still holds the imported summary; bad databases refused with one error naming the file
 * (through the real binary); the real scenario run of tests/data/store-runs.
 */
#include "testlib.h"
#include "report/report.h"
#include "report/report_db.h"
#include "store/store.h"
#include "util/fileio.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const metal_runs[] = {"q4km-1", "q4km-2", "q4km-3", "q4km-4",
                                         "q80-1",  "q80-2",  "q80-3",  "q80-4"};

/* Imports the fixtures in the order `ostel report DIR` reads them (study-metal by name first). */
static void import_fixtures(const char *db, int64_t study_id_a, int64_t study_id_b)
{
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(metal_runs); i++) {
        char *rel = ostel_xasprintf("tests/data/runs/study-metal/%s", metal_runs[i]);
        char *p = test_src_path(rel);
        struct ostel_store_import_opts o = {i < 4 ? study_id_a : study_id_b, NULL};
        assert_int_equal(ostel_store_import_run_dir(s, p, &o, NULL), OSTEL_STORE_ADDED);
        free(p);
        free(rel);
    }
    char *p = test_src_path("tests/data/runs/cpu-paging");
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, NULL), OSTEL_STORE_ADDED);
    free(p);
    ostel_store_close(s);
}

/* The report of set in one format; the caller frees it. */
static char *render(const struct ostel_report_set *set, const char *format)
{
    struct ostel_report r;
    struct ostel_report_options opt = {0, NULL};
    char err[256];
    assert_int_equal(ostel_report_build(&r, set, &opt, err, sizeof(err)), 0);
    struct ostel_buf out;
    ostel_buf_init(&out, 0);
    ostel_report_find_format(format)->write(&r, &out);
    assert_false(out.overflow);
    ostel_report_free(&r);
    return ostel_buf_detach(&out);
}

/* Fails when two reports differ, naming the format and the first difference (an HTML page is too
 * long to print whole). */
static void assert_same_report(const char *x, const char *y, const char *format)
{
    size_t i = 0;
    while (x[i] && x[i] == y[i])
        i++;
    if (x[i] || y[i]) {
        size_t from = i > 40 ? i - 40 : 0;
        print_error("%s reports differ at byte %zu: \"%.80s\" vs \"%.80s\"\n", format, i, x + from,
                    y + from);
        fail();
    }
}

static void load_dirs(struct ostel_report_set *set)
{
    char *study = test_src_path("tests/data/runs/study-metal");
    char *cpu = test_src_path("tests/data/runs/cpu-paging");
    assert_int_equal(ostel_report_load_path(set, study), OSTEL_OK);
    assert_int_equal(ostel_report_load_path(set, cpu), OSTEL_OK);
    free(study);
    free(cpu);
}

/* The html format's load (a few points a run, chosen by LTTB while the samples are gathered) keeps
 * the same samples as a directory's load reduced afterwards; and the points a run keeps shrink only
 * past the runs a page lists. */
static void test_db_series_reduced(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    import_fixtures(db, 0, 0);
    for (size_t k = 2; k <= 6; k++) {
        struct ostel_report_set from_db, from_dirs;
        ostel_report_set_init(&from_db);
        ostel_report_set_init(&from_dirs);
        assert_int_equal(ostel_report_load_db_series(&from_db, db, NULL, k), OSTEL_OK);
        char *study = test_src_path("tests/data/runs/study-metal");
        char *cpu = test_src_path("tests/data/runs/cpu-paging");
        assert_int_equal(ostel_report_load_path_series(&from_dirs, study, k), OSTEL_OK);
        assert_int_equal(ostel_report_load_path_series(&from_dirs, cpu, k), OSTEL_OK);
        free(study);
        free(cpu);
        assert_int_equal(from_db.n, from_dirs.n);
        size_t reduced = 0;
        struct ostel_report_series_buf vb = {0}, vb2 = {0};
        for (size_t i = 0; i < from_db.n; i++) {
            /* the database's series are packed (ostel_report_series_pack): viewed as arrays */
            struct ostel_report_series av =
                *ostel_report_series_view(&from_db.runs[i].series, OSTEL_REPORT_SERIES_ALL, &vb);
            struct ostel_report_series bv =
                *ostel_report_series_view(&from_dirs.runs[i].series, OSTEL_REPORT_SERIES_ALL, &vb2);
            struct ostel_report_series *a = &av, *b = &bv;
            assert_true(from_db.runs[i].series.n < 2 || from_db.runs[i].series.packed);
            assert_int_equal(a->n, b->n);
            assert_true(a->n <= k);
            reduced += a->n == k;
            for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
                const double *x = *ostel_report_series_array(a, c);
                const double *y = *ostel_report_series_array(b, c);
                for (size_t j = 0; j < a->n; j++)
                    assert_true(x[j] == y[j] || (isnan(x[j]) && isnan(y[j])));
            }
            assert_memory_equal(a->phase, b->phase, a->n);
        }
        assert_true(reduced > 0);
        ostel_report_series_buf_free(&vb);
        ostel_report_series_buf_free(&vb2);
        ostel_report_set_free(&from_db);
        ostel_report_set_free(&from_dirs);
    }
    assert_int_equal(ostel_report_db_series_points(240, 10000), 240);
    assert_int_equal(ostel_report_db_series_points(240, 20000), 120);
    assert_int_equal(ostel_report_db_series_points(240, 100000), 24);
    assert_int_equal(ostel_report_db_series_points(240, 1000000), OSTEL_REPORT_DB_POINTS_MIN);
    assert_int_equal(ostel_report_db_series_points(SIZE_MAX, 1000000), SIZE_MAX);
    test_rmtree(dir);
    free(dir);
    free(db);
}

static void test_db_equals_dirs(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    import_fixtures(db, 0, 0);

    struct ostel_report_set from_db, from_dirs;
    ostel_report_set_init(&from_db);
    ostel_report_set_init(&from_dirs);
    assert_int_equal(ostel_report_load_db(&from_db, db, NULL), OSTEL_OK);
    load_dirs(&from_dirs);
    assert_int_equal(from_db.n, 9);
    assert_int_equal(from_db.n, from_dirs.n);
    struct ostel_report_series_buf vb = {0}, vb2 = {0};
    for (size_t i = 0; i < from_db.n; i++) {
        const struct ostel_report_run *a = &from_db.runs[i], *b = &from_dirs.runs[i];
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->tag, b->tag);
        assert_int_equal(a->series.n, b->series.n);
        assert_true(a->series.n > 0);
        const struct ostel_report_series *as =
            ostel_report_series_view(&a->series, OSTEL_REPORT_SERIES_ALL, &vb);
        const struct ostel_report_series *bs =
            ostel_report_series_view(&b->series, OSTEL_REPORT_SERIES_ALL, &vb2);
        for (size_t k = 0; k < a->series.n; k++) {
            assert_true(as->t_s[k] == bs->t_s[k]);
            assert_int_equal(as->phase[k], bs->phase[k]);
            /* every column the report draws (the RSS split included) travels as typed rows */
            const double *ca[] = {as->rss_mib,  as->cpu_pct,   as->pageins,      as->pageouts,
                                  as->pressure, as->avail_pct, as->rss_anon_mib, as->rss_file_mib};
            const double *cb[] = {bs->rss_mib,  bs->cpu_pct,   bs->pageins,      bs->pageouts,
                                  bs->pressure, bs->avail_pct, bs->rss_anon_mib, bs->rss_file_mib};
            for (size_t c = 0; c < OSTEL_ARRAY_LEN(ca); c++)
                assert_true(ca[c][k] == cb[c][k] || (isnan(ca[c][k]) && isnan(cb[c][k])));
        }
        /* the failed run's log tail comes from its directory, which is intact */
        if (!b->ok) {
            assert_non_null(a->log_tail);
            assert_string_equal(a->log_tail, b->log_tail);
        }
    }
    ostel_report_series_buf_free(&vb);
    ostel_report_series_buf_free(&vb2);
    const char *formats[] = {"md", "csv", "json", "html"};
    for (size_t f = 0; f < OSTEL_ARRAY_LEN(formats); f++) {
        char *x = render(&from_db, formats[f]), *y = render(&from_dirs, formats[f]);
        assert_true(strlen(x) > 1000);
        assert_same_report(x, y, formats[f]);
        free(x);
        free(y);
    }
    /* a run set can hold both: the database's runs and directories */
    assert_int_equal(ostel_report_load_db(&from_dirs, db, NULL), OSTEL_OK);
    assert_int_equal(from_dirs.n, 18);

    ostel_report_set_free(&from_db);
    ostel_report_set_free(&from_dirs);
    test_rmtree(dir);
    free(dir);
    free(db);
}

/* Imports tests/data/runs/FIXTURE/NAME for each of names into a fresh database and checks that its
 * report equals the directories' in md, csv and json, each holding want_md or want_csv. */
static void check_db_fixture(const char *fixture, const char *const *names, size_t n,
                             const char *want_md, const char *want_csv, bool gpu)
{
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/g.db", dir);
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    for (size_t i = 0; i < n; i++) {
        char *rel = ostel_xasprintf("tests/data/runs/%s/%s", fixture, names[i]);
        char *p = test_src_path(rel);
        assert_int_equal(ostel_store_import_run_dir(s, p, NULL, NULL), OSTEL_STORE_ADDED);
        free(p);
        free(rel);
    }
    ostel_store_close(s);
    struct ostel_report_set from_db, from_dirs;
    ostel_report_set_init(&from_db);
    ostel_report_set_init(&from_dirs);
    assert_int_equal(ostel_report_load_db(&from_db, db, NULL), OSTEL_OK);
    char *rel = ostel_xasprintf("tests/data/runs/%s", fixture);
    char *src = test_src_path(rel);
    assert_int_equal(ostel_report_load_path(&from_dirs, src), OSTEL_OK);
    free(src);
    free(rel);
    assert_int_equal(from_db.n, n);
    for (size_t i = 0; gpu && i < from_db.n; i++) {
        assert_true(from_db.runs[i].has_gpu);
        assert_true(from_db.runs[i].metric[OSTEL_REPORT_M_GPU_J_PER_TOKEN] ==
                    from_dirs.runs[i].metric[OSTEL_REPORT_M_GPU_J_PER_TOKEN]);
    }
    const char *formats[] = {"md", "csv", "json"};
    for (size_t f = 0; f < OSTEL_ARRAY_LEN(formats); f++) {
        char *x = render(&from_db, formats[f]), *y = render(&from_dirs, formats[f]);
        assert_true(strstr(x, want_csv) || strstr(x, want_md));
        assert_same_report(x, y, formats[f]);
        free(x);
        free(y);
    }
    ostel_report_set_free(&from_db);
    ostel_report_set_free(&from_dirs);
    test_rmtree(dir);
    free(dir);
    free(db);
}

/* A GPU run set (tests/data/runs/gpu-fake): from the database its GPU section is the same as from
 * the directories (the stored summary carries the gpu object); only the per-run GPU samples, which
 * the store does not hold, are absent. */
static void test_db_gpu(void **state)
{
    (void)state;
    static const char *const runs[] = {"q4-1", "q4-2", "q4-3", "q8-1", "q8-2", "q8-3"};
    check_db_fixture("gpu-fake", runs, OSTEL_ARRAY_LEN(runs), "Energy per token (J)",
                     "gpu_j_per_token", true);
}

/* Serve runs (tests/data/runs/serve-tiny): the serving section from the database (the stored
 * summary carries serve.levels) is the directories' in every format. */
static void test_db_serve(void **state)
{
    (void)state;
    static const char *const runs[] = {"q4-1", "q4-2", "q8-1", "q8-2"};
    check_db_fixture("serve-tiny", runs, OSTEL_ARRAY_LEN(runs), "Serving by group: the knee",
                     "knee", false);
}

static size_t count_loaded(const char *db, const char *study, const char *tag, int *rc)
{
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_db_select sel = {study, tag};
    *rc = ostel_report_load_db(&set, db, &sel);
    size_t n = set.n;
    ostel_report_set_free(&set);
    return n;
}

static void test_select(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    struct ostel_store *s;
    int64_t a = 0, b = 0, c = 0;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, "q4", "[study]\nx=1\n", 12, &a), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, "q8", "[study]\nx=2\n", 12, &b), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, "twice", "[study]\nx=3\n", 12, &c), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, "twice", "[study]\nx=4\n", 12, &c), OSTEL_OK);
    /* a study named like another's id: the id wins, the name is reached through its own id */
    int64_t d = 0;
    assert_int_equal(ostel_store_insert_study(s, "1", "[study]\nx=5\n", 12, &d), OSTEL_OK);
    ostel_store_close(s);
    import_fixtures(db, a, b);

    int rc;
    assert_int_equal(count_loaded(db, NULL, NULL, &rc), 9);
    assert_int_equal(rc, OSTEL_OK);
    assert_int_equal(count_loaded(db, "q4", NULL, &rc), 4);
    assert_int_equal(count_loaded(db, "q8", NULL, &rc), 4);
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)b);
    assert_int_equal(count_loaded(db, id, NULL, &rc), 4);
    assert_int_equal(rc, OSTEL_OK);
    assert_int_equal(count_loaded(db, "1", NULL, &rc), 4); /* id 1 = "q4" */
    assert_int_equal(count_loaded(db, NULL, "q8_0", &rc), 4);
    assert_int_equal(count_loaded(db, NULL, "cpu-32k", &rc), 1);
    assert_int_equal(count_loaded(db, "q4", "q8_0", &rc), 0);
    assert_int_equal(rc, OSTEL_ERR); /* nothing matched */
    assert_int_equal(count_loaded(db, NULL, "nope", &rc), 0);
    assert_int_equal(rc, OSTEL_ERR);
    assert_int_equal(count_loaded(db, "nope", NULL, &rc), 0);
    assert_int_equal(rc, OSTEL_ERR);
    assert_int_equal(count_loaded(db, "twice", NULL, &rc), 0);
    assert_int_equal(rc, OSTEL_ERR); /* ambiguous */
    snprintf(id, sizeof(id), "%lld", (long long)d);
    assert_int_equal(count_loaded(db, id, NULL, &rc), 0);
    assert_int_equal(rc, OSTEL_ERR); /* a study without runs */

    /* the messages, through the binary */
    struct {
        const char *study, *want;
    } cases[] = {
        {"nope", "no study 'nope' (it holds q4 (id 1), q8 (id 2), twice (id 3), twice (id 4), 1 "
                 "(id 5))"},
        {"twice", "2 studies are named 'twice': twice (id 3), twice (id 4); give its id"},
        {"5", "no stored run of study '5'"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        const char *argv[] = {"report", "--db", db, "--study", cases[i].study, NULL};
        char *out, *err;
        assert_int_equal(test_run_ostel(argv, &out, &err), 1);
        if (!strstr(err, cases[i].want))
            fprintf(stderr, "stderr: %s\n", err);
        assert_non_null(strstr(err, cases[i].want));
        assert_string_equal(out, "");
        free(out);
        free(err);
    }
    test_rmtree(dir);
    free(dir);
    free(db);
}

/* Copies src/<file> to dst/<file>. */
static void test_log_tail(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *run = ostel_xasprintf("%s/q80-4", dir);
    char *src = test_src_path("tests/data/runs/study-metal/q80-4");
    assert_int_equal(ostel_mkdir_p(run), OSTEL_OK);
    const char *files[] = {"summary.json", "config.txt", "metrics.csv", "llama_output.log"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(files); i++)
        test_copy_file(src, run, files[i]);
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, NULL), OSTEL_STORE_ADDED);
    ostel_store_close(s);

    struct ostel_report_set set;
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_db(&set, db, NULL), OSTEL_OK);
    assert_int_equal(set.n, 1);
    assert_false(set.runs[0].ok);
    assert_non_null(set.runs[0].log_tail);
    assert_non_null(strstr(set.runs[0].log_tail, "<script>alert(1)</script>"));
    ostel_report_set_free(&set);

    /* the directory now holds another run: its log is not this run's */
    char *sum = ostel_xasprintf("%s/summary.json", run);
    size_t n;
    char *text = test_read_file(sum, &n);
    text[n - 2] = ' '; /* a change that keeps the length */
    test_write_file(sum, text, n);
    free(text);
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_db(&set, db, NULL), OSTEL_OK);
    assert_null(set.runs[0].log_tail);
    assert_true(set.runs[0].series.n > 0); /* the samples come from the database */
    ostel_report_set_free(&set);
    /* the directory is gone */
    test_rmtree(run);
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_db(&set, db, NULL), OSTEL_OK);
    assert_null(set.runs[0].log_tail);
    assert_string_equal(set.runs[0].name, "q80-4");
    char *md = render(&set, "md");
    assert_non_null(strstr(md, "Its log is empty or missing."));
    free(md);
    ostel_report_set_free(&set);

    free(sum);
    free(src);
    free(run);
    test_rmtree(dir);
    free(dir);
    free(db);
}

static void expect_failure(const char *const *argv, int code, const char *want)
{
    char *out, *err;
    int rc = test_run_ostel(argv, &out, &err);
    if (rc != code || !strstr(err, want))
        fprintf(stderr, "rc %d, stderr: %s\n", rc, err);
    assert_int_equal(rc, code);
    assert_non_null(strstr(err, want));
    /* one error line, nothing on stdout */
    assert_non_null(strchr(err, '\n'));
    assert_null(strchr(err, '\n') + 1 < err + strlen(err) ? strchr(err, '\n') + 1 : NULL);
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void test_bad_db(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *missing = ostel_xasprintf("%s/missing.db", dir);
    const char *a1[] = {"report", "--db", missing, NULL};
    char *want = ostel_xasprintf("%s: no such database file", missing);
    expect_failure(a1, 1, want);
    free(want);
    struct stat st;
    assert_int_equal(stat(missing, &st), -1); /* never created */

    char *junk = ostel_xasprintf("%s/junk.db", dir);
    test_write_file(junk, "SQLite format 2\nnot a database at all, only text long enough\n", 61);
    const char *a2[] = {"report", "--db", junk, NULL};
    want = ostel_xasprintf("%s: file is not a database", junk);
    expect_failure(a2, 1, want);
    free(want);

    char *empty = ostel_xasprintf("%s/empty.db", dir);
    test_write_file(empty, "", 0);
    const char *a3[] = {"report", "--db", empty, NULL};
    want = ostel_xasprintf("%s: not an ostel database", empty);
    expect_failure(a3, 1, want);
    free(want);
    assert_int_equal(stat(empty, &st), 0);
    assert_int_equal(st.st_size, 0); /* read-only: not turned into a database */

    /* an ostel database without runs */
    char *fresh = ostel_xasprintf("%s/fresh.db", dir);
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(fresh, 0, &s), OSTEL_OK);
    ostel_store_close(s);
    const char *a4[] = {"report", "--db", fresh, NULL};
    want = ostel_xasprintf("%s: no stored run", fresh);
    expect_failure(a4, 1, want);
    free(want);

    /* usage */
    const char *a5[] = {"report", "--study", "x", NULL};
    expect_failure(a5, 2, "--study and --tag choose among a database's runs");
    const char *a6[] = {"report", "--db", "", NULL};
    expect_failure(a6, 2, "empty file name");

    free(fresh);
    free(empty);
    free(junk);
    free(missing);
    test_rmtree(dir);
    free(dir);
}

/* A real study run under `mem:128M`: its scenario name groups, its samples chart. */
static void test_real_scenario(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *src = test_src_path("tests/data/store-runs/real-scenario");
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_import_run_dir(s, src, NULL, NULL), OSTEL_STORE_ADDED);
    ostel_store_close(s);
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_db(&set, db, NULL), OSTEL_OK);
    assert_int_equal(set.n, 1);
    const struct ostel_report_run *r = &set.runs[0];
    assert_string_equal(r->scenario, "mem:128M");
    assert_string_equal(r->name, "real-scenario");
    assert_true(r->ok);
    assert_int_equal(r->ctx, 512);
    assert_int_equal(r->series.n, 4);
    struct ostel_report_series_buf vb = {0};
    const struct ostel_report_series *sv =
        ostel_report_series_view(&r->series, OSTEL_REPORT_SERIES_ALL, &vb);
    assert_true(sv->rss_mib[1] == 18.23);
    assert_int_equal(sv->phase[3], OSTEL_REPORT_PHASE_TEARDOWN);
    assert_true(fabs(sv->t_s[3] - 0.15) < 1e-6);
    ostel_report_series_buf_free(&vb);
    ostel_report_set_free(&set);
    free(src);
    test_rmtree(dir);
    free(dir);
    free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_equals_dirs), cmocka_unit_test(test_db_series_reduced),
        cmocka_unit_test(test_db_gpu),         cmocka_unit_test(test_db_serve),
        cmocka_unit_test(test_select),         cmocka_unit_test(test_log_tail),
        cmocka_unit_test(test_bad_db),         cmocka_unit_test(test_real_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
