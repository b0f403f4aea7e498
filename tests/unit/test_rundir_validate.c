/*
 * test_rundir_validate: the run-directory validator (src/rundir) on the fuzz corpus' named files —
 * each good file accepted (a BOM stripped), each broken one refused with its line and reason — and
 * the store's one-row-per-run constraint: the 2 -> 3 migration removing duplicates a database
 * already holds, and a second run of the same study, spec hash and repetition not stored twice.
 */
#include "testlib.h"
#include "rundir/rundir_validate.h"
#include "store/store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CORPUS "tests/fuzz/corpus/rundir_validate/"

enum kind { SUMMARY, METRICS, CONFIG };

/* Validates a corpus file as `kind`; returns the message ("" when accepted), owned by the caller.
 */
static char *validate(const char *name, enum kind kind, size_t *len_after)
{
    char *path = test_src_path(CORPUS "x");
    path[strlen(path) - 1] = '\0';
    char *full = malloc(strlen(path) + strlen(name) + 1);
    strcpy(full, path);
    strcat(full, name);
    size_t len;
    char *t = test_read_file(full, &len);
    char err[256] = "";
    struct ostel_rundir_facts f;
    ostel_rundir_facts_init(&f);
    int rc = kind == SUMMARY   ? ostel_rundir_validate_summary(t, &len, &f, err, sizeof(err))
             : kind == METRICS ? ostel_rundir_validate_metrics(t, &len, NULL, err, sizeof(err))
                               : ostel_rundir_validate_config(t, &len, err, sizeof(err));
    assert_true(rc == 0 ? err[0] == '\0' : err[0] != '\0');
    if (len_after)
        *len_after = len;
    free(t);
    free(full);
    free(path);
    return strdup(err);
}

static void expect_ok(const char *name, enum kind kind)
{
    char *e = validate(name, kind, NULL);
    if (*e)
        fprintf(stderr, "%s: %s\n", name, e);
    assert_string_equal(e, "");
    free(e);
}

static void expect_refused(const char *name, enum kind kind, const char *needle)
{
    char *e = validate(name, kind, NULL);
    if (!strstr(e, needle))
        fprintf(stderr, "%s: got '%s', want '%s'\n", name, e, needle);
    assert_non_null(strstr(e, needle));
    free(e);
}

static void test_good_files(void **state)
{
    (void)state;
    expect_ok("summary-real-tiny-q8.json", SUMMARY);
    expect_ok("summary-real-scenario.json", SUMMARY);
    expect_ok("metrics-real-tiny-q8.csv", METRICS);
    expect_ok("metrics-cpu-paging.csv", METRICS);
    expect_ok("metrics-extra-columns.csv", METRICS);
    expect_ok("config-real-tiny-q8.txt", CONFIG);
    /* a BOM is stripped: three bytes fewer, and the file is then the one without it */
    size_t with, without;
    free(validate("metrics-bom.csv", METRICS, &with));
    free(validate("metrics-real-tiny-q8.csv", METRICS, &without));
    assert_int_equal(with, without);
    expect_ok("summary-bom.json", SUMMARY);
}

static void test_broken_files(void **state)
{
    (void)state;
    expect_refused("broken-metrics-nul.csv", METRICS, "line 4: a NUL byte");
    expect_refused("broken-metrics-1e308.csv", METRICS, "line 3: column rss_mb is out of range");
    expect_refused("broken-metrics-neg-rss.csv", METRICS, "line 3: column rss_mb is negative");
    expect_refused("broken-metrics-huge-rss.csv", METRICS,
                   "line 3: column rss_mb is beyond any machine's memory");
    expect_refused("broken-metrics-inf.csv", METRICS, "line 3: column cpu_pct is not a number");
    expect_refused("broken-metrics-phase.csv", METRICS, "line 3: unknown phase 'warmup'");
    expect_refused("broken-metrics-ragged.csv", METRICS, "cells");
    expect_refused("broken-summary-neg-wall.json", SUMMARY, "run.wall_s: a negative duration");
    expect_refused("broken-summary-neg-ms.json", SUMMARY, "prompt_ms: a negative duration");
    expect_refused("broken-summary-1e308.json", SUMMARY, "rss_peak_mib: an absurd number");
    expect_refused("broken-summary-1e999.json", SUMMARY, "gen_ms: an absurd number");
    expect_refused("metrics-real-tiny-q8.csv", SUMMARY, "not valid JSON (line 1)");
    expect_refused("broken-metrics-nul.csv", CONFIG, "line 4: a NUL byte");
    expect_refused("metrics-real-tiny-q8.csv", CONFIG, "line 1: not a key=value line");
}

/* The RAM bound follows the run's own host.ram_mib, three orders of magnitude above it. */
static void test_ram_bound(void **state)
{
    (void)state;
    struct ostel_rundir_facts f;
    ostel_rundir_facts_init(&f);
    assert_true(isnan(f.ram_mib));
    assert_true(ostel_rundir_ram_bound_mib(&f) == 1024.0 * 1024.0 * 1000.0);
    f.ram_mib = 8192;
    assert_true(ostel_rundir_ram_bound_mib(&f) == 8192.0 * 1000.0);
    char csv[] = "ts,rss_mb\n1.0,9000000\n";
    size_t len = strlen(csv);
    char err[256];
    assert_int_equal(ostel_rundir_validate_metrics(csv, &len, &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 2: column rss_mb is beyond"));
    assert_int_equal(ostel_rundir_validate_metrics(csv, &len, NULL, err, sizeof(err)), 0);
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    return rc;
}

static long long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* A database at schema 7 (the step before the unique run per spec, the last one) holding the same
 * run of a study twice (two studies wrote one directory), plus an interrupted attempt, is migrated
 * to one row per run; a third store of it is refused. */
static void test_one_row_per_run(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = malloc(strlen(dir) + 16);
    sprintf(db, "%s/a.db", dir);
    char *run = test_src_path("tests/data/store-runs/real-scenario");
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    int64_t study = 0, id = 0;
    assert_int_equal(ostel_store_insert_study(s, "x", "[study]\n", 8, &study), OSTEL_OK);
    struct ostel_store_import_opts io = {study, "e28774d46e1c81c0"};
    assert_int_equal(ostel_store_import_run_dir(s, run, &io, &id), OSTEL_STORE_ADDED);
    ostel_store_close(s);

    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(exec_sql(raw,
                              "PRAGMA foreign_keys=ON;"
                              "DROP INDEX runs_one_per_spec; PRAGMA user_version = 7;"
                              "CREATE TEMP TABLE t AS SELECT * FROM runs;"
                              "UPDATE t SET id = id + 10, run_key = run_key || '-b';"
                              "INSERT INTO runs SELECT * FROM t;"
                              "UPDATE t SET id = id + 10, run_key = run_key || '-c',"
                              " status = 'interrupted';"
                              "INSERT INTO runs SELECT * FROM t;"
                              "INSERT INTO samples SELECT run_id + 10, seq, ts, rss_mb, cpu_pct,"
                              " vm_pressure_flag, avail_mem_level, pageins_delta, pageouts_delta,"
                              " phase, rss_anon_mb, rss_file_mb, swap_mb, minflt_delta,"
                              " majflt_delta, threads, sys_avail_mb, swapin_delta, swapout_delta,"
                              " psi_some_pct, psi_full_pct, extra FROM samples;"),
                     SQLITE_OK);
    assert_int_equal(count(raw, "SELECT count(*) FROM runs"), 3);
    sqlite3_close(raw);

    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_schema_version(s), OSTEL_STORE_SCHEMA_VERSION);
    assert_int_equal(ostel_store_check_integrity(s), OSTEL_OK);
    /* the same run again under another run_id: stored already, not twice */
    char *copy = malloc(strlen(dir) + 16);
    sprintf(copy, "%s/copy", dir);
    assert_int_equal(mkdir(copy, 0755), 0);
    test_copy_file(run, copy, "summary.json");
    test_copy_file(run, copy, "metrics.csv");
    size_t len;
    char *cfg_path = malloc(strlen(run) + 16);
    sprintf(cfg_path, "%s/config.txt", run);
    char *cfg = test_read_file(cfg_path, &len);
    char *at = strstr(cfg, "run_id=");
    assert_non_null(at);
    at[7] = at[7] == '0' ? '1' : '0';
    char *cfg_to = malloc(strlen(copy) + 16);
    sprintf(cfg_to, "%s/config.txt", copy);
    test_write_file(cfg_to, cfg, len);
    int64_t again = 0;
    assert_int_equal(ostel_store_import_run_dir(s, copy, &io, &again), OSTEL_STORE_ALREADY);
    assert_int_equal(again, id);
    ostel_store_close(s);

    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    /* the first stored is kept with its samples; the interrupted attempt stays (it is done again)
     */
    assert_int_equal(count(raw, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(count(raw, "SELECT min(id) FROM runs WHERE status != 'interrupted'"), id);
    assert_int_equal(count(raw, "SELECT count(*) FROM samples WHERE run_id = (SELECT max(id) FROM "
                                "runs WHERE status = 'interrupted')"),
                     0);
    assert_true(count(raw, "SELECT count(*) FROM samples") > 0);
    assert_int_equal(count(raw, "SELECT count(*) FROM samples WHERE run_id NOT IN "
                                "(SELECT id FROM runs)"),
                     0);
    sqlite3_close(raw);
    free(cfg);
    free(cfg_path);
    free(cfg_to);
    free(copy);
    free(run);
    test_rmtree(dir);
    free(db);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_ram_bound),
        cmocka_unit_test(test_one_row_per_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
