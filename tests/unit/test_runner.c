/*
 * Unit tests for what the runner's producers hand over instead of files read back: the sampler's
 * rows (each value as metrics.csv holds it) and, through a real run of /bin/sh, the summary and
 * the log parser's result in the runner's result, built without reading metrics.csv back, and the
 * model's header facts a caller hands to the runner.
 */
#include "testlib.h"
#include "llama/gguf_facts.h"
#include "llama/logparse.h"
#include "run/aggregate.h"
#include "run/runner.h"
#include "run/sampler.h"
#include "rundir/rundir_config.h"
#include "rundir/rundir_metrics.h"
#include "rundir/rundir_summary.h"

#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The rows as written and read back through the one reader: the values the sampler hands over. */
static void test_rows_as_written(void **state)
{
    (void)state;
    /* exact ties of binary fractions (0.125 MiB: printf rounds the exact value, to even), values
     * a naive round(v * 100) / 100 gets wrong, negatives, -0, a non-finite value (empty cell) */
    const double mem[] = {0.125, 0.375, 1.005, 2.675, 1024.0 / 3.0, 1e-7, 123456.785, -0.001, 0.0};
    const double cpu[] = {12.25, 12.35, 0.05, 99.95, 100.0, 7.0 / 3.0, 0.25, 1e9 + 0.05, INFINITY};
    enum { N = sizeof(mem) / sizeof(mem[0]) };
    struct ostel_metrics_row rows[N];
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    char line[512];
    size_t n = ostel_metrics_format_header(line, sizeof(line));
    ostel_buf_append(&csv, line, n);
    for (size_t i = 0; i < N; i++) {
        memset(&rows[i], 0, sizeof(rows[i]));
        ostel_metrics_set(&rows[i], OSTEL_COL_TS, 1765000000.0 + (double)i * 0.0105 + 0.0005);
        ostel_metrics_set(&rows[i], OSTEL_COL_AVAIL_MEM_LEVEL, mem[i]);
        if (mem[i] >= 0)
            ostel_metrics_set(&rows[i], OSTEL_COL_RSS_MB, mem[i]);
        ostel_metrics_set(&rows[i], OSTEL_COL_CPU_PCT, cpu[i]);
        ostel_metrics_set(&rows[i], OSTEL_COL_THREADS, 2.5 + (double)i);
        n = ostel_metrics_format_row(&rows[i], line, sizeof(line));
        assert_true(n > 0);
        ostel_buf_append(&csv, line, n);
    }
    struct ostel_metrics_table t;
    char err[256];
    assert_int_equal(ostel_metrics_parse(csv.data, csv.len, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, N);
    ostel_sampler_rows_as_written(rows, N);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(rows[i].valid, t.rows[i].valid);
        for (int c = 0; c < OSTEL_COL_COUNT; c++) {
            if (!ostel_metrics_has(&rows[i], (enum ostel_metric_col)c))
                continue;
            /* bit for bit, the sign of zero included */
            assert_memory_equal(&rows[i].v[c], &t.rows[i].v[c], sizeof(double));
        }
    }
    assert_false(ostel_metrics_has(&rows[N - 1], OSTEL_COL_CPU_PCT)); /* inf: an empty cell */
    ostel_metrics_table_free(&t);
    ostel_buf_free(&csv);
}

/* Many values, of the kinds the sampler sees (binary fractions, ties, epoch seconds, small, huge,
 * negative), against what strtod makes of the writer's cell, bit for bit. */
static void test_rows_as_written_many(void **state)
{
    (void)state;
    const enum ostel_metric_col cols[] = {OSTEL_COL_THREADS, OSTEL_COL_CPU_PCT, OSTEL_COL_RSS_MB,
                                          OSTEL_COL_TS};
    uint64_t x = 88172645463325252ull;
    enum { N = 50000 };
    struct ostel_metrics_row *rows = ostel_xcalloc(N, sizeof(*rows));
    double *orig = ostel_xcalloc((size_t)N * 4, sizeof(double));
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            double u = (double)(x >> 11) / 9007199254740992.0, v;
            switch (i % 6) {
            case 0:
                v = (double)(x % 1000000) / 256.0;
                break; /* pages in MiB: ties */
            case 1:
                v = (double)(x % 100000) / 8.0 - 5000.0;
                break; /* negative ties */
            case 2:
                v = 1765000000.0 + u * 1e5;
                break; /* epoch seconds */
            case 3:
                v = u * pow(10.0, (double)(x % 30) - 10.0);
                break; /* 1e-10 to 1e19 */
            case 4:
                v = (double)(x % 100000) / 1000.0 + 0.0005;
                break; /* near ties */
            default:
                v = -u * 1e-3;
                break; /* rounds to -0 */
            }
            orig[i * 4 + k] = v;
            ostel_metrics_set(&rows[i], cols[k], v);
        }
    }
    ostel_sampler_rows_as_written(rows, N);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < 4; k++) {
            char cell[400];
            snprintf(cell, sizeof(cell), "%.*f", ostel_metrics_col(cols[k])->decimals,
                     orig[i * 4 + k]);
            double want = strtod(cell, NULL);
            if (memcmp(&want, &rows[i].v[cols[k]], sizeof(double)) != 0)
                fail_msg("%.17g with %d decimals: '%s' is %.17g, not %.17g", orig[i * 4 + k],
                         ostel_metrics_col(cols[k])->decimals, cell, want, rows[i].v[cols[k]]);
        }
    free(orig);
    free(rows);
}

struct swap_arg {
    const char *dir;
    bool swapped;
};

/* The run's `during`: puts something unreadable as a metrics.csv where the runner writes it (the
 * sampler keeps appending to the file it opened), then waits for the child to end. A runner that
 * read metrics.csv back would find no rows. */
static int swap_metrics(void *arg, pid_t child, const _Atomic int *stop)
{
    (void)child;
    struct swap_arg *a = arg;
    char *tmp = ostel_xasprintf("%s/garbage.tmp", a->dir);
    char *csv = ostel_xasprintf("%s/metrics.csv", a->dir);
    test_write_file(tmp, "not,a\nmetrics file\x01\n", 20);
    a->swapped = rename(tmp, csv) == 0;
    free(tmp);
    free(csv);
    while (atomic_load(stop) == 0)
        usleep(10000);
    return 0;
}

/* The summary's telemetry is what the aggregator makes of metrics.csv's rows as the file holds
 * them (phases included): every key the aggregator gives, equal. */
static void assert_telemetry_is_file(const char *dir, const cJSON *tel, uint64_t samples,
                                     uint64_t interval_ns)
{
    char *csv_path = ostel_xasprintf("%s/metrics.csv", dir);
    size_t len;
    char *csv = test_read_file(csv_path, &len);
    struct ostel_metrics_table t;
    char err[256];
    assert_int_equal(ostel_metrics_parse(csv, len, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, samples);
    cJSON *agg = ostel_aggregate_telemetry_json(t.rows, t.n, (double)interval_ns / 1e6);
    assert_non_null(agg);
    assert_non_null(agg->child);
    for (const cJSON *k = agg->child; k; k = k->next)
        if (!cJSON_Compare(k, cJSON_GetObjectItem(tel, k->string), true))
            fail_msg("telemetry.%s differs from metrics.csv's", k->string);
    cJSON_Delete(agg);
    ostel_metrics_table_free(&t);
    free(csv);
    free(csv_path);
}

/* rows formatted as metrics.csv's writer does, header first: the bytes of csv (len). */
static void assert_rows_are_file(const struct ostel_metrics_table *rows, const char *csv,
                                 size_t len)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char line[512];
    ostel_buf_append(&b, line, ostel_metrics_format_header(line, sizeof(line)));
    for (size_t i = 0; i < rows->n; i++)
        ostel_buf_append(&b, line, ostel_metrics_format_row(&rows->rows[i], line, sizeof(line)));
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, csv, len);
    ostel_buf_free(&b);
}

/* A plain command's run spec: dir and argv as given, sampled every 20 ms, no GPU, quiet. */
static void test_spec(struct ostel_run_spec *s, const char *dir, char *const *argv)
{
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    s->argv = argv;
    s->tag = "t";
    s->tool = "command";
    s->ctx = s->gen = -1;
    s->scenario = "none";
    s->ostel_cmdline = "test_runner";
    s->interval_ns = 20000000ull;
    s->gpu_interval_ns = UINT64_MAX;
    s->quiet = true;
}

static void test_run_hands_over(void **state)
{
    (void)state;
    char *tmp = test_tmpdir();
    char *dir = ostel_xasprintf("%s/run", tmp);
    char *const argv[] = {
        "/bin/sh", "-c",
        "sleep 0.4; echo 'llama_perf_context_print:        eval time =    1000.00 ms /    99 runs "
        "  (   10.10 ms per token,    99.00 tokens per second)'",
        NULL};
    struct swap_arg sa = {dir, false};
    struct ostel_run_spec s;
    test_spec(&s, dir, argv);
    s.during = swap_metrics;
    s.during_arg = &sa;
    s.keep_rows = true;
    struct ostel_run_result res;
    assert_int_equal(ostel_runner_run(&s, &res), 0);
    assert_true(sa.swapped);
    assert_int_equal(res.status, OSTEL_RUN_OK);
    assert_true(res.samples >= 2);

    /* the summary in the result, its telemetry from the sampler's rows, not the file's */
    assert_non_null(res.summary);
    const cJSON *tel = res.summary->telemetry;
    const cJSON *samples = cJSON_GetObjectItem(tel, "samples");
    assert_true(cJSON_IsNumber(samples));
    assert_int_equal((uint64_t)samples->valuedouble, res.samples);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(tel, "overall")));

    /* metrics.csv rewritten from those rows: every one of them, the garbage gone */
    char *csv_path = ostel_xasprintf("%s/metrics.csv", dir);
    size_t len;
    char *csv = test_read_file(csv_path, &len);
    struct ostel_metrics_table t;
    char err[256];
    assert_int_equal(ostel_metrics_parse(csv, len, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, res.samples);
    ostel_metrics_table_free(&t);
    /* with keep_rows, the rows handed over are the file's, byte for byte */
    assert_non_null(res.rows);
    assert_rows_are_file(res.rows, csv, len);
    free(csv);
    free(csv_path);
    assert_telemetry_is_file(dir, tel, res.samples, s.interval_ns);

    /* the log parser's result, handed over */
    assert_non_null(res.log);
    assert_true(res.log->timings.gen_tps.valid);
    assert_true(fabs(res.log->timings.gen_tps.value - 99.0) < 1e-9);

    /* summary.json on disk is the result's summary */
    struct ostel_summary disk;
    assert_int_equal(ostel_summary_read(dir, &disk, err, sizeof(err)), 0);
    const cJSON *ds = cJSON_GetObjectItem(disk.telemetry, "samples");
    assert_true(cJSON_IsNumber(ds) && ds->valuedouble == samples->valuedouble);
    assert_string_equal(disk.run.run_id, res.summary->run.run_id);
    ostel_summary_free(&disk);

    /* config.txt: the runner's keys of the table, in the table's order, the final status last */
    struct ostel_buf cfg;
    ostel_buf_init(&cfg, 0);
    assert_int_equal(ostel_config_read(dir, 1 << 20, &cfg), 0);
    struct ostel_str rest = ostel_str_make(cfg.data, cfg.len), key, val;
    int prev = -1, nkeys = 0;
    enum ostel_config_key k = OSTEL_CFG_COUNT;
    while (ostel_config_next(&rest, &key, &val)) {
        if (!ostel_config_key_lookup(key, &k))
            fail_msg("config.txt: '%.*s' is not in the table", (int)key.n, key.p);
        assert_true((int)k > prev);
        assert_true(ostel_config_key(k)->by & OSTEL_CONFIG_RUNNER);
        prev = (int)k;
        nkeys++;
    }
    assert_int_equal(k, OSTEL_CFG_STATUS);
    assert_true(ostel_str_eq(val, "ok"));
    assert_true(nkeys > 20);
    ostel_buf_free(&cfg);

    ostel_run_result_free(&res);
    assert_null(res.summary);
    assert_null(res.log);
    assert_null(res.rows);
    test_rmtree(tmp);
    free(dir);
    free(tmp);
}

/* The model's header facts a caller hands over are the ones recorded: the runner reads no header
 * (here there is none to read). */
static void test_run_takes_model_facts(void **state)
{
    (void)state;
    char *tmp = test_tmpdir();
    char *dir = ostel_xasprintf("%s/run", tmp);
    char *const argv[] = {"/bin/sh", "-c", "exit 0", NULL};
    struct ostel_gguf_run_facts facts;
    memset(&facts, 0, sizeof(facts));
    facts.model_file = cJSON_CreateObject();
    cJSON_AddStringToObject(facts.model_file, "path", "handed-over");
    struct ostel_run_spec s;
    test_spec(&s, dir, argv);
    s.model = "/nonexistent/ostel-test-model.gguf";
    s.model_facts = &facts;
    struct ostel_run_result res;
    assert_int_equal(ostel_runner_run(&s, &res), 0);
    assert_non_null(res.summary);
    const cJSON *path = cJSON_GetObjectItem(res.summary->model_file, "path");
    assert_true(cJSON_IsString(path));
    assert_string_equal(path->valuestring, "handed-over");
    ostel_run_result_free(&res);
    test_rmtree(dir);

    /* without them the runner reads the header itself: none here, so no model_file */
    s.model_facts = NULL;
    assert_int_equal(ostel_runner_run(&s, &res), 0);
    assert_non_null(res.summary);
    assert_null(res.summary->model_file);
    ostel_run_result_free(&res);

    ostel_gguf_run_facts_free(&facts);
    test_rmtree(tmp);
    free(dir);
    free(tmp);
}

/* A sampler whose kept rows cannot grow (ENOMEM, here the test hook's limit of 3 rows) keeps
 * sampling and writing metrics.csv; the runner reads the file back, so the run still gets the
 * telemetry of all its rows, the same the rows would have given. */
static void test_run_rows_fallback(void **state)
{
    (void)state;
    char *tmp = test_tmpdir();
    char *dir = ostel_xasprintf("%s/run", tmp);
    char *const argv[] = {"/bin/sh", "-c", "sleep 0.4", NULL};
    struct ostel_run_spec s;
    test_spec(&s, dir, argv);
    struct ostel_run_result res;
    s.keep_rows = true;
    assert_int_equal(setenv("OSTEL_TEST_SAMPLER_KEEP_MAX", "3", 1), 0);
    int rc = ostel_runner_run(&s, &res);
    unsetenv("OSTEL_TEST_SAMPLER_KEEP_MAX");
    assert_int_equal(rc, 0);
    assert_int_equal(res.status, OSTEL_RUN_OK);
    assert_true(res.samples > 3); /* the limit was passed */
    assert_non_null(res.summary);
    const cJSON *tel = res.summary->telemetry;
    const cJSON *samples = cJSON_GetObjectItem(tel, "samples");
    assert_true(cJSON_IsNumber(samples));
    assert_int_equal((uint64_t)samples->valuedouble, res.samples);
    assert_telemetry_is_file(dir, tel, res.samples, s.interval_ns);
    /* the rows handed over are the ones read back, every one of them */
    char *csv_path = ostel_xasprintf("%s/metrics.csv", dir);
    size_t len;
    char *csv = test_read_file(csv_path, &len);
    assert_non_null(res.rows);
    assert_int_equal(res.rows->n, res.samples);
    assert_rows_are_file(res.rows, csv, len);
    free(csv);
    free(csv_path);
    ostel_run_result_free(&res);

    /* without keep_rows, none are handed over */
    char *dir2 = ostel_xasprintf("%s/run2", tmp);
    s.dir = dir2;
    s.keep_rows = false;
    assert_int_equal(ostel_runner_run(&s, &res), 0);
    assert_null(res.rows);
    ostel_run_result_free(&res);
    free(dir2);
    test_rmtree(tmp);
    free(dir);
    free(tmp);
}

/* A sampler started without keep_rows hands over none and says so; with it, every row written. */
static void test_sampler_keep_rows(void **state)
{
    (void)state;
    char *tmp = test_tmpdir();
    char *path = ostel_xasprintf("%s/m.csv", tmp);
    for (int keep = 0; keep < 2; keep++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        struct ostel_sampler *sp =
            ostel_sampler_start_keep(getpid(), fd, 10000000ull, NULL, NULL, keep != 0);
        assert_non_null(sp);
        usleep(50000);
        int64_t kills;
        struct ostel_metrics_table rows = {0};
        bool complete = keep == 0;
        uint64_t n = ostel_sampler_finish_rows(sp, &kills, NULL, NULL, &rows, &complete);
        close(fd);
        assert_true(n >= 1);
        assert_int_equal(complete, keep != 0);
        assert_int_equal(rows.n, keep ? n : 0);
        assert_true(keep ? rows.rows != NULL : rows.rows == NULL);
        if (keep) { /* the rows kept format to the very bytes written (serve's --url level
                     * column rewrites metrics.csv from them) */
            struct ostel_buf b;
            ostel_buf_init(&b, 0);
            char line[512];
            for (size_t i = 0; i < rows.n; i++)
                ostel_buf_append(&b, line,
                                 ostel_metrics_format_row(&rows.rows[i], line, sizeof(line)));
            size_t len;
            char *csv = test_read_file(path, &len);
            assert_int_equal(b.len, len);
            assert_memory_equal(b.data, csv, len);
            free(csv);
            ostel_buf_free(&b);
        }
        ostel_metrics_table_free(&rows);
    }
    test_rmtree(tmp);
    free(path);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_as_written),   cmocka_unit_test(test_rows_as_written_many),
        cmocka_unit_test(test_run_hands_over),    cmocka_unit_test(test_run_takes_model_facts),
        cmocka_unit_test(test_run_rows_fallback), cmocka_unit_test(test_sampler_keep_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
