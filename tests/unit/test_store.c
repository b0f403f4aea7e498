/*
 * Unit tests for the store: migrations, importing the fixture run directories
 * (tests/data/store-runs), idempotence, rollback of corrupt runs, bound parameters, two processes
 * importing at once, reading runs back, and the speed of a 100k-sample import.
 */
#include "testlib.h"
#include "rundir/rundir_requests.h"
#include "rundir/rundir_phase_stats.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_query.h"
#include "rundir/rundir_summary.h"
#include "util/fileio.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const fixtures[] = {"q4-ok", "q4-failed", "q8-hog"};

static char *fixture(const char *name)
{
    char *rel = ostel_xasprintf("tests/data/store-runs/%s", name);
    char *p = test_src_path(rel);
    free(rel);
    return p;
}

static int64_t count(struct ostel_store *s, const char *table)
{
    int64_t n = -1;
    assert_int_equal(ostel_store_count_rows(s, table, &n), OSTEL_OK);
    return n;
}

/* Copies a fixture run directory to dst (created). */
static void copy_run(const char *name, const char *dst)
{
    char *src = fixture(name);
    assert_int_equal(ostel_mkdir_p(dst), OSTEL_OK);
    const char *files[] = {"metrics.csv", "config.txt", "summary.json"};
    for (size_t i = 0; i < 3; i++)
        test_copy_file(src, dst, files[i]);
    free(src);
}

/* Replaces the first occurrence of `from` by `to` in dir/file. */
static void patch(const char *dir, const char *file, const char *from, const char *to)
{
    char *p = ostel_xasprintf("%s/%s", dir, file);
    size_t n;
    char *d = test_read_file(p, &n);
    char *at = strstr(d, from);
    assert_non_null(at);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_append(&b, d, (size_t)(at - d));
    ostel_buf_puts(&b, to);
    ostel_buf_puts(&b, at + strlen(from));
    test_write_file(p, b.data, b.len);
    ostel_buf_free(&b);
    free(d);
    free(p);
}

static char *export_string(struct ostel_store *s, const char *table, enum ostel_store_format fmt,
                           int64_t run)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ostel_store_export(s, table, fmt, run, f), OSTEL_OK);
    fclose(f);
    return buf;
}

/*
 * The set-up most tests share (cmocka's setup and teardown, so a failed assertion leaves no
 * directory behind): a temporary directory, a database in it open for writing, and the path of a
 * run directory there that a test fills when it needs one.
 */
struct db_fixture {
    char *dir;             /* owned; removed with everything in it */
    char *path;            /* dir/a.db */
    char *run;             /* dir/run, not created */
    struct ostel_store *s; /* open; a test that closes it sets it NULL */
};

static int db_teardown(void **state)
{
    struct db_fixture *f = *state;
    if (f->s)
        ostel_store_close(f->s);
    test_rmtree(f->dir);
    free(f->run);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

static int db_setup(void **state)
{
    struct db_fixture *f = ostel_xcalloc(1, sizeof(*f));
    f->dir = test_tmpdir();
    f->path = ostel_xasprintf("%s/a.db", f->dir);
    f->run = ostel_xasprintf("%s/run", f->dir);
    *state = f;
    if (ostel_store_open(f->path, 0, &f->s) != OSTEL_OK) {
        f->s = NULL;
        db_teardown(state);
        return -1;
    }
    return 0;
}

static void test_migrations(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, OSTEL_STORE_OPEN_READONLY, &s), OSTEL_ERR);
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_schema_version(s), OSTEL_STORE_SCHEMA_VERSION);
    assert_int_equal(count(s, "runs"), 0);
    assert_int_equal(count(s, "samples"), 0);
    assert_int_equal(ostel_store_check_integrity(s), OSTEL_OK);
    ostel_store_close(s);
    /* reopening is a no-op; read-only works now that the file exists */
    assert_int_equal(ostel_store_open(db, OSTEL_STORE_OPEN_READONLY, &s), OSTEL_OK);
    assert_int_equal(ostel_store_schema_version(s), OSTEL_STORE_SCHEMA_VERSION);
    ostel_store_close(s);

    /* a file that is not a database is refused cleanly */
    char *junk = ostel_xasprintf("%s/junk.db", dir);
    test_write_file(junk, "this is not sqlite, just text padded to be long enough.......", 62);
    assert_int_equal(ostel_store_open(junk, 0, &s), OSTEL_ERR);
    free(junk);
    test_rmtree(dir);
    free(dir);
    free(db);
}

static void test_import_fixtures(void **state)
{
    struct db_fixture *f = *state;
    struct ostel_store *s = f->s;
    int64_t ids[3];
    for (size_t i = 0; i < 3; i++) {
        char *p = fixture(fixtures[i]);
        assert_int_equal(ostel_store_import_run_dir(s, p, NULL, &ids[i]), OSTEL_STORE_ADDED);
        free(p);
    }
    assert_int_equal(count(s, "runs"), 3);
    assert_int_equal(count(s, "samples"), 8 + 2 + 3);
    assert_int_equal(count(s, "phase_summaries"), 5 + 1 + 1);
    assert_int_equal(count(s, "memory_breakdown"), 1 + 0 + 2);
    assert_int_equal(count(s, "scenarios"), 1);
    assert_int_equal(count(s, "machines"), 2);

    /* idempotent: the same runs again add nothing */
    for (size_t i = 0; i < 3; i++) {
        char *p = fixture(fixtures[i]);
        int64_t id = 0;
        assert_int_equal(ostel_store_import_run_dir(s, p, NULL, &id), OSTEL_STORE_ALREADY);
        assert_int_equal(id, ids[i]);
        free(p);
    }
    assert_int_equal(count(s, "runs"), 3);
    assert_int_equal(count(s, "samples"), 13);

    /* key numbers as columns; nulls stay NULL (empty in CSV) */
    char *csv = export_string(s, "runs", OSTEL_STORE_FORMAT_CSV, ids[0]);
    assert_non_null(strstr(csv, ",q4,ok,0,,0,1764136800.05,"));
    assert_non_null(strstr(csv, ",180.5,18,95.2,189.08,64,310,206.45,404,"));
    free(csv);
    csv = export_string(s, "runs", OSTEL_STORE_FORMAT_CSV, ids[1]);
    assert_non_null(strstr(csv, ",q4,failed,1,,0,"));
    assert_non_null(strstr(csv, ",0.1.0,2,100,100,100,,,,,,,,3.2,")); /* llama null: 7 NULLs */
    free(csv);
    char *json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, ids[2]);
    assert_non_null(strstr(json, "\"tag\":\"q8 \\\"fast\\\"\""));
    assert_non_null(strstr(json, "\"run_key\":\"id:6f1c2a8e-0b4e-4d57-9a51-3c2f7b0d9e11\""));
    assert_non_null(strstr(json, "\"spec_hash\":\"3b1f0c9d2e7a4410\""));
    assert_non_null(strstr(json, "\"summary\":{\"schema\":\"ostel.summary\""));
    free(json);
    json = export_string(s, "memory_breakdown", OSTEL_STORE_FORMAT_JSON, ids[2]);
    assert_non_null(strstr(json, "\"device\":\"CUDA0\",\"description\":\"H100 80GB HBM3\","
                                 "\"total_mib\":81090"));
    assert_non_null(strstr(json, "\"unaccounted_mib\":-1560"));
    free(json);
    json = export_string(s, "scenarios", OSTEL_STORE_FORMAT_JSON, 0);
    assert_non_null(strstr(json, "\"name\":\"mem70\",\"definition\":\"mem:70%avail,cpu:1\""));
    assert_non_null(strstr(json, "\"rss_peak_mib\":71680"));
    free(json);
    csv = export_string(s, "phase_summaries", OSTEL_STORE_FORMAT_CSV, ids[0]);
    assert_non_null(strstr(csv, ",generate,1764136800.5,1764136800.7,0.2,3,404,403.97,"));
    free(csv);

    /* samples: typed, NULL for empty cells, unknown columns kept in extra */
    struct ostel_store_run_record r;
    assert_int_equal(ostel_store_load_run(s, ids[0], &r), OSTEL_OK);
    assert_int_equal(r.nsamples, 8);
    assert_true(r.samples[3].row.valid & (1u << OSTEL_COL_RSS_MB));
    assert_false(r.samples[3].row.valid & (1u << OSTEL_COL_PSI_SOME_PCT));
    assert_true(fabs(r.samples[3].row.v[OSTEL_COL_RSS_MB] - 403.1) < 1e-9);
    assert_int_equal(r.samples[4].row.phase, 3);
    assert_string_equal(ostel_metrics_phase_name(r.samples[4].row.phase), "generate");
    ostel_store_run_record_free(&r);
    assert_int_equal(ostel_store_load_run(s, ids[2], &r), OSTEL_OK);
    assert_int_equal(r.nsamples, 3);
    assert_string_equal(r.samples[0].extra, "{\"gpu0_mem_mb\":\"600\"}");
    size_t len;
    char *rebuilt = ostel_store_run_record_metrics_csv(&r, &len);
    assert_non_null(rebuilt);
    assert_non_null(strstr(rebuilt, "\n1764140400.250,500,100,2,25,9000,120,load,50,450,0,20000,"
                                    "900,4,31000,0,0,4.5,1.2,600,\n"));
    free(rebuilt);
    ostel_store_run_record_free(&r);

    /* resume looks at one study's runs only: these were imported without a study */
    assert_int_equal(ostel_store_run_is_complete(s, 1, "3b1f0c9d2e7a4410"), 0);

    /* listing by tag */
    int64_t *list;
    size_t n;
    assert_int_equal(ostel_store_list_runs(s, 0, "q4", &list, &n), OSTEL_OK);
    assert_int_equal(n, 2);
    free(list);

    /* checkout writes a directory that imports as the same run */
    char *co = ostel_xasprintf("%s/co", f->dir);
    assert_int_equal(ostel_store_write_run_dir(s, ids[0], co), OSTEL_OK);
    int64_t again = 0;
    assert_int_equal(ostel_store_import_run_dir(s, co, NULL, &again), OSTEL_STORE_ALREADY);
    assert_int_equal(again, ids[0]);
    free(co);

    assert_int_equal(ostel_store_check_integrity(s), OSTEL_OK);
}

/* A run directory written by the real `ostel run` (see tests/data/store-runs/README.md). */
static void test_import_real_run(void **state)
{
    struct db_fixture *f = *state;
    struct ostel_store *s = f->s;
    char *p = fixture("real-tiny-f16");
    int64_t id = 0;
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, &id), OSTEL_STORE_ADDED);
    free(p);
    assert_int_equal(count(s, "samples"), 6);
    assert_int_equal(count(s, "phase_summaries"), 4);
    assert_int_equal(count(s, "memory_breakdown"), 1);
    char *csv = export_string(s, "runs", OSTEL_STORE_FORMAT_CSV, id);
    /* load_ms, prompt_tokens, prompt_ms, prompt_tok_s, gen_tokens, gen_ms, gen_tok_s */
    assert_non_null(strstr(csv, ",99.23,102,27.65,3688.57,15,52,288.48,"));
    assert_non_null(strstr(csv, ",tiny f16,ok,0,"));
    free(csv);
}

/*
 * A run of a real `ostel study --scenario mem:128M` (tests/data/store-runs/README.md): the
 * summary's "scenario" object lands in the scenarios table, and the run is known by config.txt's
 * run_id wherever its directory lies and whatever else changed in it.
 */
static void test_import_real_scenario(void **state)
{
    struct db_fixture *f = *state;
    struct ostel_store *s = f->s;
    char *p = fixture("real-scenario");
    int64_t id = 0;
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, &id), OSTEL_STORE_ADDED);
    free(p);
    assert_int_equal(count(s, "samples"), 4);
    assert_int_equal(count(s, "scenarios"), 1);
    char *json = export_string(s, "scenarios", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"name\":\"mem:128M\",\"definition\":\"mem:128M\""));
    assert_non_null(strstr(json, "\"rss_peak_mib\":138.85,\"cpu_mean_pct\":0,"));
    /* what it asked for and held (columns since schema 2) */
    assert_non_null(strstr(json, "\"kind\":\"hog\",\"asked_mib\":128,\"held_mib_at_start\":138.85,"
                                 "\"ready_s\":0.108}"));
    /* the load's own telemetry is kept whole */
    assert_non_null(strstr(json, "\"rss_anon_peak_mib\":132.82"));
    assert_non_null(strstr(json, "\"avail_min_pct\":85.05"));
    free(json);
    json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"run_key\":\"id:7147d7bf4da059310e7cc0d37bb1df71\""));
    assert_non_null(strstr(json, "\"spec_hash\":\"e28774d46e1c81c0\""));
    assert_non_null(strstr(json, "\"scenario\":\"mem:128M\""));
    /* what the scenario asked and held stays in the stored summary */
    assert_non_null(strstr(json, "\"asked_mib\":128"));
    assert_non_null(strstr(json, "\"held_mib_at_start\":138.85"));
    free(json);

    /* identity is run_id: a copy elsewhere with another start time is the same run... */
    char *copy = ostel_xasprintf("%s/copy", f->dir);
    copy_run("real-scenario", copy);
    patch(copy, "summary.json", "\"start_ts\":\t1795675463.366", "\"start_ts\":\t1795675400.5");
    int64_t again = 0;
    assert_int_equal(ostel_store_import_run_dir(s, copy, NULL, &again), OSTEL_STORE_ALREADY);
    assert_int_equal(again, id);
    /* ...and another run_id is another run, whatever else it shares */
    patch(copy, "config.txt", "run_id=7147d7bf", "run_id=0047d7bf");
    assert_int_equal(ostel_store_import_run_dir(s, copy, NULL, &again), OSTEL_STORE_ADDED);
    assert_true(again != id);
    assert_int_equal(count(s, "runs"), 2);
    assert_int_equal(count(s, "scenarios"), 2);
    free(copy);

    assert_int_equal(ostel_store_check_integrity(s), OSTEL_OK);
}

/* The columns schema 2 added, as a stored run's export shows them. */
static void expect_schema2_values(struct ostel_store *s, int64_t id)
{
    char *json = export_string(s, "scenarios", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"kind\":\"hog\",\"asked_mib\":128,\"held_mib_at_start\":138.85,"
                                 "\"ready_s\":0.108}"));
    free(json);
    json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"ostel_cpu_ms\":12.5,\"ostel_cpu_us_per_sample\":131.2"));
    free(json);
}

/*
 * Resume is per study: the spec hash leaves out the study's name, so a second study with the same
 * matrix (another name, another machine) must not take the first one's runs for its own.
 */
static void test_resume_per_study(void **state)
{
    struct db_fixture *f = *state;
    struct ostel_store *s = f->s;
    const char *a = "[study]\nname = a\n", *b = "[study]\nname = b\n";
    int64_t sa = 0, sb = 0;
    assert_int_equal(ostel_store_insert_study(s, "a", a, strlen(a), &sa), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, "b", b, strlen(b), &sb), OSTEL_OK);
    assert_true(sa > 0 && sb > 0 && sa != sb);
    char *p = fixture("real-scenario");
    struct ostel_store_import_opts io = {sa, NULL}; /* spec_hash from config.txt */
    int64_t id = 0;
    assert_int_equal(ostel_store_import_run_dir(s, p, &io, &id), OSTEL_STORE_ADDED);
    free(p);
    assert_int_equal(ostel_store_run_is_complete(s, sa, "e28774d46e1c81c0"), 1);
    assert_int_equal(ostel_store_run_is_complete(s, sb, "e28774d46e1c81c0"), 0);
    assert_int_equal(ostel_store_run_is_complete(s, sa, "0000000000000000"), 0);
}

/*
 * Schema 1 -> 2: a scenario's kind, asked_mib, held_mib_at_start and ready_s, and what watching
 * cost (ostel_cpu), become columns. A database made by schema 1 (here: a schema-2 one with the new
 * columns dropped again) gets them from the stored summary.json when it is opened.
 */
static void test_migrate_to_2(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *run = ostel_xasprintf("%s/run", dir);
    copy_run("real-scenario", run);
    patch(run, "summary.json", "\"interval_ms_p99\":\t50,",
          "\"interval_ms_p99\":\t50, \"ostel_cpu\": {\"ms\": 12.5, \"pct_of_core\": 1.1, "
          "\"us_per_sample\": 131.2},");
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    int64_t id = 0;
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, &id), OSTEL_STORE_ADDED);
    expect_schema2_values(s, id);
    ostel_store_close(s);

    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "DROP TABLE requests; DROP TABLE serve_levels;"
                                  "ALTER TABLE scenarios DROP COLUMN kind;"
                                  "ALTER TABLE scenarios DROP COLUMN asked_mib;"
                                  "ALTER TABLE scenarios DROP COLUMN held_mib_at_start;"
                                  "ALTER TABLE scenarios DROP COLUMN ready_s;"
                                  "ALTER TABLE runs DROP COLUMN ostel_cpu_ms;"
                                  "ALTER TABLE runs DROP COLUMN ostel_cpu_us_per_sample;"
                                  /* and what later schemas added */
                                  "ALTER TABLE machines DROP COLUMN kernel;"
                                  "ALTER TABLE machines DROP COLUMN arch;"
                                  "ALTER TABLE machines DROP COLUMN gpu;"
                                  "DROP TABLE study_shards;"
                                  "DROP TABLE quality;" /* schema 3's */
                                  /* schema 3's GPU columns, so that 1 -> 2 -> 3 runs whole */
                                  "ALTER TABLE runs DROP COLUMN gpu_backend;"
                                  "ALTER TABLE runs DROP COLUMN gpu_generate_energy_j;"
                                  "ALTER TABLE runs DROP COLUMN gpu_j_per_token;"
                                  "ALTER TABLE runs DROP COLUMN gpu_tokens_per_j;"
                                  "ALTER TABLE runs DROP COLUMN gpu_prompt_j_per_token;"
                                  "ALTER TABLE runs DROP COLUMN gpu_peak_proc_mem_mib;"
                                  "ALTER TABLE runs DROP COLUMN gpu_vram_beyond_llama_mib;"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    /* read-only opens never migrate: a schema-1 database reads as it is */
    assert_int_equal(ostel_store_open(db, OSTEL_STORE_OPEN_READONLY, &s), OSTEL_OK);
    assert_int_equal(ostel_store_schema_version(s), 1);
    ostel_store_close(s);
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_schema_version(s), OSTEL_STORE_SCHEMA_VERSION);
    expect_schema2_values(s, id);
    assert_int_equal(ostel_store_check_integrity(s), OSTEL_OK);
    ostel_store_close(s);
    test_rmtree(dir);
    free(run);
    free(dir);
    free(db);
}

static void expect_refused(struct ostel_store *s, const char *dir)
{
    int64_t before = count(s, "runs"), samples = count(s, "samples");
    assert_int_equal(ostel_store_import_run_dir(s, dir, NULL, NULL), OSTEL_ERR);
    assert_int_equal(count(s, "runs"), before);
    assert_int_equal(count(s, "samples"), samples);
}

static void test_corrupt_rolls_back(void **state)
{
    struct db_fixture *f = *state;
    struct ostel_store *s = f->s;
    const char *run = f->run;

    /* a corrupt copy of q4-ok: one patch each */
    static const struct {
        const char *file, *from, *to;
    } corrupt[] = {
        /* a bad number in the 6th data row: rows before it were inserted, then rolled back */
        {"metrics.csv", "1764136800.600,404.0", "1764136800.600,40x4.0"},
        /* a truncated row (fewer cells) */
        {"metrics.csv", ",0,0,0.00,0.00\n1764136800.800", "\n1764136800.800"},
        /* an unknown phase */
        {"metrics.csv", "teardown", "tear down"},
        /* summary.json cut short */
        {"summary.json", "\"host\": {", "\"host\": "},
        /* a contract value with the wrong type */
        {"summary.json", "\"ctx\": 4096", "\"ctx\": \"4096\""},
        /* a phase statistic with the wrong type */
        {"summary.json", "\"rss_mean_mib\": 403.97", "\"rss_mean_mib\": [1]"},
        /* a signal that is neither a name nor a signal's number */
        {"summary.json", "\"signal\": null", "\"signal\": 2.5"},
        /* a config line that is not key=value */
        {"config.txt", "ctx=4096", "ctx 4096"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(corrupt); i++) {
        copy_run("q4-ok", run);
        patch(run, corrupt[i].file, corrupt[i].from, corrupt[i].to);
        expect_refused(s, run);
    }
    /* no summary.json at all (a run still going, or killed) */
    copy_run("q4-ok", run);
    char *sj = ostel_xasprintf("%s/summary.json", run);
    unlink(sj);
    free(sj);
    expect_refused(s, run);
    assert_int_equal(count(s, "runs"), 0);
    assert_int_equal(count(s, "machines"), 0);

    /* and the intact copy still goes in */
    copy_run("q4-ok", run);
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, NULL), OSTEL_STORE_ADDED);
    assert_int_equal(count(s, "samples"), 8);

    /* an explicit transaction rolled back leaves nothing either */
    copy_run("q4-failed", run);
    assert_int_equal(ostel_store_run_begin(s), OSTEL_OK);
    assert_int_equal(ostel_store_run_add_dir(s, run, NULL, NULL), OSTEL_STORE_ADDED);
    ostel_store_run_rollback(s);
    assert_int_equal(count(s, "runs"), 1);
    assert_int_equal(count(s, "samples"), 8);
}

static void test_bound_parameters(void **state)
{
    struct db_fixture *f = *state;
    struct ostel_store *s = f->s;
    const char *run = f->run;
    static const char evil[] = "x'); DROP TABLE runs; --";
    copy_run("q4-ok", run);
    patch(run, "summary.json", "\"tag\": \"q4\"", "\"tag\": \"x'); DROP TABLE runs; --\"");
    patch(run, "config.txt", "tag=q4", "tag=x'); DROP TABLE runs; --");
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, NULL), OSTEL_STORE_ADDED);
    copy_run("q4-ok", run);
    patch(run, "summary.json", "\"tag\": \"q4\"", "\"tag\": \"it's \\\"q\\\"\"");
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, NULL), OSTEL_STORE_ADDED);
    assert_int_equal(count(s, "runs"), 2);
    int64_t *ids;
    size_t n;
    assert_int_equal(ostel_store_list_runs(s, 0, evil, &ids, &n), OSTEL_OK);
    assert_int_equal(n, 1);
    free(ids);
    assert_int_equal(ostel_store_list_runs(s, 0, "it's \"q\"", &ids, &n), OSTEL_OK);
    assert_int_equal(n, 1);
    free(ids);
    char *csv = export_string(s, "runs", OSTEL_STORE_FORMAT_CSV, 0);
    assert_non_null(strstr(csv, ",x'); DROP TABLE runs; --,ok,"));
    assert_non_null(strstr(csv, ",\"it's \"\"q\"\"\",ok,"));
    free(csv);

    /* studies: same text, same id; the hash is over the text */
    int64_t a = 0, b = 0, c = 0;
    static const char def[] = "[study]\nname='; DROP TABLE studies; --\nctx=4096,8192\n";
    assert_int_equal(ostel_store_insert_study(s, "s'1", def, strlen(def), &a), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, "s'1", def, strlen(def), &b), OSTEL_OK);
    assert_int_equal(ostel_store_insert_study(s, NULL, def, strlen(def) - 1, &c), OSTEL_OK);
    assert_true(a > 0);
    assert_int_equal(a, b);
    assert_true(c != a);
    assert_int_equal(count(s, "studies"), 2);
}

/* Makes `n` distinct runs from q4-ok under base/r<i> (distinct start times). */
static void make_runs(const char *base, int n)
{
    for (int i = 0; i < n; i++) {
        char *run = ostel_xasprintf("%s/r%02d", base, i);
        copy_run("q4-ok", run);
        char ts[64];
        snprintf(ts, sizeof(ts), "\"start_ts\": %d.05", 1764100000 + i);
        patch(run, "summary.json", "\"start_ts\": 1764136800.05", ts);
        free(run);
    }
}

static void test_two_processes(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    enum { RUNS = 12 };
    make_runs(dir, RUNS);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            /* both processes import every run, one forwards and one backwards */
            struct ostel_store *s;
            if (ostel_store_open(db, 0, &s) != OSTEL_OK)
                _exit(3);
            int bad = 0;
            for (int i = 0; i < RUNS; i++) {
                int j = k == 0 ? i : RUNS - 1 - i;
                char *run = ostel_xasprintf("%s/r%02d", dir, j);
                if (ostel_store_import_run_dir(s, run, NULL, NULL) < 0)
                    bad++;
                free(run);
            }
            ostel_store_close(s);
            _exit(bad ? 4 : 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_check_integrity(s), OSTEL_OK);
    assert_int_equal(count(s, "runs"), RUNS);
    assert_int_equal(count(s, "samples"), RUNS * 8);
    assert_int_equal(count(s, "machines"), 1);
    ostel_store_close(s);
    test_rmtree(dir);
    free(dir);
    free(db);
}

/* A study's write transaction whose COMMIT fails (a file-size limit that the WAL cannot grow past):
 * unlock fails and ends the transaction, so the store takes the next one (in a child: the limit
 * and SIGXFSZ ignored stay there). SQLite rolls back itself after this I/O error; a COMMIT that
 * fails busy leaves the transaction open, which unlock's own rollback ends. */
static void test_study_commit_fails(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *wal = ostel_xasprintf("%s/a.db-wal", dir);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        struct ostel_store *s;
        if (ostel_store_open(db, 0, &s) != OSTEL_OK)
            _exit(2);
        size_t n = 256u << 10; /* more pages than the WAL holds now */
        char *def = ostel_xmalloc(n + 1);
        memset(def, 'x', n);
        def[n] = '\0';
        int64_t id = 0;
        if (ostel_store_study_lock(s, "big") != OSTEL_OK ||
            ostel_store_insert_study(s, "big", def, n, &id) != OSTEL_OK)
            _exit(3);
        struct stat st;
        off_t size = stat(wal, &st) == 0 ? st.st_size : 0;
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)size + 4096, RLIM_INFINITY};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(4);
        if (ostel_store_study_unlock(s, true) == OSTEL_OK)
            _exit(5); /* the COMMIT did not fail: nothing tested */
        rl.rlim_cur = RLIM_INFINITY;
        setrlimit(RLIMIT_FSIZE, &rl);
        /* the transaction is over: the next one starts and commits, without the big study */
        if (ostel_store_study_lock(s, "small") != OSTEL_OK ||
            ostel_store_insert_study(s, "small", "y", 1, &id) != OSTEL_OK ||
            ostel_store_study_unlock(s, true) != OSTEL_OK)
            _exit(6);
        char *d = NULL;
        int found = ostel_store_study_by_name(s, "big", &id, &d);
        free(d);
        free(def);
        ostel_store_close(s);
        _exit(found == 0 ? 0 : 7);
    }
    int st = 0;
    assert_int_equal(waitpid(p, &st, 0), p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    test_rmtree(dir);
    free(wal);
    free(db);
    free(dir);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_bulk_speed(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *run = ostel_xasprintf("%s/run", dir);
    copy_run("q4-ok", run);
    enum { ROWS = 100000 };
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_puts(&b, "ts,rss_mb,cpu_pct,vm_pressure_flag,avail_mem_level,pageins_delta,"
                       "pageouts_delta,phase,rss_anon_mb,rss_file_mb,swap_mb,minflt_delta,"
                       "majflt_delta,threads,sys_avail_mb,swapin_delta,swapout_delta,"
                       "psi_some_pct,psi_full_pct\n");
    for (int i = 0; i < ROWS; i++)
        ostel_buf_printf(&b,
                         "%.3f,%.1f,%.1f,1,%d,%d,0,generate,%.1f,338.3,0,%d,0,3,21500,0,0,"
                         "%s,0.00\n",
                         1764136800.0 + i * 0.1, 400.0 + i % 17, 100.0 + i % 99, 80 + i % 10, i % 7,
                         60.0 + i % 5, i % 31, i % 13 ? "0.10" : "");
    char *p = ostel_xasprintf("%s/metrics.csv", run);
    test_write_file(p, b.data, b.len);
    free(p);
    ostel_buf_free(&b);
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    double t0 = mono_s();
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, NULL), OSTEL_STORE_ADDED);
    double dt = mono_s() - t0;
    print_message("imported %d samples in %.3f s\n", ROWS, dt);
    assert_int_equal(count(s, "samples"), ROWS);
    /* The time is printed, not bounded: it depends on the machine (bench/ measures speed). */
    ostel_store_close(s);
    test_rmtree(dir);
    free(dir);
    free(db);
    free(run);
}

/* The file's journal mode as a raw read-only connection sees it. */
static char *journal_mode_of(const char *db)
{
    sqlite3 *raw;
    assert_int_equal(sqlite3_open_v2(db, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    char *mode = ostel_xstrdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(raw);
    return mode;
}

/* A bulk import (batches, as `db import` makes) into a database with no run yet writes through a
 * rollback journal and switches the file back to WAL when it closes. Killed mid-batch (a child
 * that exits without closing: its journal is left hot), the database is as before that batch: a
 * read-only open (report --db, db info) rolls the journal back first and reads only the runs of
 * the batches committed before; a writer then goes on and the file is in WAL mode again. */
static void test_bulk_journal_killed(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *journal = ostel_xasprintf("%s-journal", db);
    struct ostel_store *s;
    struct stat st;
    /* a whole batch into a new database: committed, and WAL again after close */
    char *scratch = ostel_xasprintf("%s/b.db", dir);
    assert_int_equal(ostel_store_open(scratch, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_batch_begin(s), OSTEL_OK);
    char *p = fixture(fixtures[1]);
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, NULL), OSTEL_STORE_ADDED);
    free(p);
    assert_int_equal(ostel_store_batch_commit(s), OSTEL_OK);
    ostel_store_close(s);
    char *mode = journal_mode_of(scratch);
    assert_string_equal(mode, "wal");
    free(mode);
    free(scratch);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (ostel_store_open(db, 0, &s) != OSTEL_OK || ostel_store_batch_begin(s) != OSTEL_OK)
            _exit(2);
        char *f0 = fixture(fixtures[0]), *f1 = fixture(fixtures[1]), *f2 = fixture(fixtures[2]);
        if (ostel_store_import_run_dir(s, f0, NULL, NULL) != OSTEL_STORE_ADDED ||
            ostel_store_import_run_dir(s, f1, NULL, NULL) != OSTEL_STORE_ADDED ||
            ostel_store_batch_commit(s) != OSTEL_OK)
            _exit(3);
        if (!s->bulk_journal) /* the mode this test is about */
            _exit(5);
        if (ostel_store_batch_begin(s) != OSTEL_OK ||
            ostel_store_import_run_dir(s, f2, NULL, NULL) != OSTEL_STORE_ADDED)
            _exit(6);
        /* spill the batch into the file as a long batch would, so that the journal is hot */
        if (sqlite3_exec(s->db,
                         "PRAGMA cache_spill=1; PRAGMA cache_size=1; CREATE TABLE pad(x);"
                         "INSERT INTO pad SELECT zeroblob(3000) FROM"
                         " (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n"
                         "  WHERE i < 200) SELECT i FROM n)",
                         NULL, NULL, NULL) != SQLITE_OK)
            _exit(4);
        _exit(0); /* as if killed: no commit, no rollback, no close */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stat(journal, &st), 0);
    assert_true(st.st_size > 0);
    /* the reader rolls it back and sees the two runs of the first batch */
    assert_int_equal(ostel_store_open(db, OSTEL_STORE_OPEN_READONLY, &s), OSTEL_OK);
    assert_int_equal(count(s, "runs"), 2);
    assert_int_equal(count(s, "samples"), 8 + 2);
    ostel_store_close(s);
    assert_int_not_equal(stat(journal, &st), 0);
    /* a writer goes on: WAL again, the third run imported whole */
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    p = fixture(fixtures[2]);
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, NULL), OSTEL_STORE_ADDED);
    free(p);
    assert_int_equal(count(s, "samples"), 13);
    ostel_store_close(s);
    assert_true(ostel_store_file_is_wal(db));
    free(journal);
    test_rmtree(dir);
    free(dir);
    free(db);
}

/* A bulk import into a database that already holds runs stays in WAL mode: a reader may have it
 * open immutable, without a lock (store_uri.c), and a rollback journal would rewrite pages under
 * it. */
static void test_bulk_journal_wal_when_runs(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    struct ostel_store *s;
    char *p = fixture(fixtures[0]);
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, NULL), OSTEL_STORE_ADDED);
    ostel_store_close(s);
    free(p);
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    assert_int_equal(ostel_store_batch_begin(s), OSTEL_OK);
    p = fixture(fixtures[1]);
    assert_int_equal(ostel_store_import_run_dir(s, p, NULL, NULL), OSTEL_STORE_ADDED);
    free(p);
    assert_false(s->bulk_journal);
    char *mode = journal_mode_of(db);
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(ostel_store_batch_commit(s), OSTEL_OK);
    assert_int_equal(count(s, "runs"), 2);
    ostel_store_close(s);
    test_rmtree(dir);
    free(dir);
    free(db);
}

static void test_metrics_reader(void **state)
{
    (void)state;
    char err[256];
    struct ostel_store_metrics_reader r;
    struct ostel_store_sample row;
    static const char ok[] = "\xef\xbb\xbfts,rss_mb,phase,gpu\r\n1.5,,prompt,7\r\n\n2,3e2,,\n";
    assert_int_equal(ostel_store_metrics_reader_init(&r, ok, sizeof(ok) - 1, err, sizeof(err)), 0);
    assert_int_equal(ostel_store_metrics_reader_next(&r, &row, err, sizeof(err)), 1);
    assert_true(row.row.v[OSTEL_COL_TS] == 1.5);
    assert_false(row.row.valid & (1u << OSTEL_COL_RSS_MB));
    assert_int_equal(row.row.phase, 2);
    assert_string_equal(row.extra, "{\"gpu\":\"7\"}");
    assert_int_equal(ostel_store_metrics_reader_next(&r, &row, err, sizeof(err)), 1);
    assert_true(row.row.v[OSTEL_COL_RSS_MB] == 300.0);
    assert_null(row.extra);
    assert_int_equal(ostel_store_metrics_reader_next(&r, &row, err, sizeof(err)), 0);
    ostel_store_metrics_reader_free(&r);

    static const char *const bad_headers[] = {"", "rss_mb,cpu_pct\n", "ts,ts\n", "ts,,x\n",
                                              "ts,\"q\"\n"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(bad_headers); i++)
        assert_int_equal(ostel_store_metrics_reader_init(&r, bad_headers[i], strlen(bad_headers[i]),
                                                         err, sizeof(err)),
                         -1);
    static const char *const bad_rows[] = {"ts,rss_mb\n1,2,3\n",   "ts,rss_mb\n1\n",
                                           "ts,rss_mb\n,2\n",      "ts,rss_mb\n1,nan\n",
                                           "ts,rss_mb\n1,1e999\n", "ts,phase\n1,idle\n"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(bad_rows); i++) {
        assert_int_equal(
            ostel_store_metrics_reader_init(&r, bad_rows[i], strlen(bad_rows[i]), err, sizeof(err)),
            0);
        assert_int_equal(ostel_store_metrics_reader_next(&r, &row, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "line 2"));
        ostel_store_metrics_reader_free(&r);
    }
    /* the fast number path gives exactly what strtod gives (in avail_mem_level, a column that may
     * be negative; the validator bounds every cell within ±1e15) */
    static const char *const nums[] = {"0.1",
                                       "-2.675",
                                       "1764136800.123",
                                       "99999999999.9999",
                                       "0.000000000000001",
                                       "123456789012345",
                                       "5.",
                                       ".5",
                                       "1e3",
                                       "1234567890.123456789",
                                       "-0",
                                       "+7.25"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(nums); i++) {
        char *csv = ostel_xasprintf("ts,avail_mem_level\n1,%s\n", nums[i]);
        assert_int_equal(ostel_store_metrics_reader_init(&r, csv, strlen(csv), err, sizeof(err)),
                         0);
        assert_int_equal(ostel_store_metrics_reader_next(&r, &row, err, sizeof(err)), 1);
        assert_true(row.row.v[OSTEL_COL_AVAIL_MEM_LEVEL] == strtod(nums[i], NULL));
        ostel_store_metrics_reader_free(&r);
        free(csv);
    }
    char hex[17];
    ostel_store_hash_hex("", 0, hex);
    assert_string_equal(hex, "cbf29ce484222325"); /* FNV-1a 64 offset basis */
}

/* Table samples' columns are metrics.csv's column table's (rundir_metrics.h): run_id, seq, every
 * column with an SQL type, in the table's order and of that type, then extra. The schema is written
 * out in store.c (and store_pg.c, the same names), so this is what keeps it the table's. */
static void test_samples_schema_is_the_table(void **state)
{
    struct db_fixture *f = *state;
    ostel_store_close(f->s); /* the schema as a fresh database has it, read by SQLite itself */
    f->s = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT name, type FROM pragma_table_info('samples')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    struct ostel_buf got, want;
    ostel_buf_init(&got, 0);
    ostel_buf_init(&want, 0);
    while (sqlite3_step(st) == SQLITE_ROW)
        ostel_buf_printf(&got, "%s %s,", (const char *)sqlite3_column_text(st, 0),
                         (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(raw);
    ostel_buf_puts(&want, "run_id INTEGER,seq INTEGER,");
    for (int c = 0; c < OSTEL_COL_COUNT; c++) {
        const struct ostel_metrics_col_info *info = ostel_metrics_col((enum ostel_metric_col)c);
        if (info->sql)
            ostel_buf_printf(&want, "%s %s,", info->name, info->sql);
    }
    ostel_buf_puts(&want, "extra TEXT,");
    assert_string_equal(got.data, want.data);
    ostel_buf_free(&got);
    ostel_buf_free(&want);
}

/* Table phase_summaries' columns are the PHASE STATS table's (rundir_phase_stats.h): run_id, phase,
 * then every statistic with an SQL type, in the table's order and of that type. The schema is
 * written out in store.c's migration (and store_pg.c's, the same names), so this is what keeps it
 * the table's. */
static void test_phases_schema_is_the_table(void **state)
{
    struct db_fixture *f = *state;
    ostel_store_close(f->s);
    f->s = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(raw, "SELECT name, type FROM pragma_table_info('phase_summaries')", -1,
                           &st, NULL),
        SQLITE_OK);
    struct ostel_buf got, want;
    ostel_buf_init(&got, 0);
    ostel_buf_init(&want, 0);
    while (sqlite3_step(st) == SQLITE_ROW)
        ostel_buf_printf(&got, "%s %s,", (const char *)sqlite3_column_text(st, 0),
                         (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(raw);
    ostel_buf_puts(&want, "run_id INTEGER,phase TEXT,");
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++) {
        const struct ostel_phase_stat_info *info = ostel_phase_stat((enum ostel_phase_stat)k);
        if (info->sql)
            ostel_buf_printf(&want, "%s %s,", info->key, info->sql);
    }
    assert_string_equal(got.data, want.data);
    ostel_buf_free(&got);
    ostel_buf_free(&want);
}

/* Table requests' columns are requests.csv's column table's (rundir_requests.h): run_id, seq, then
 * every column in the table's order, of the SQL type its kind gives. The schema is written out in
 * store.c's migration (and store_pg.c's), so this is what keeps it the table's. */
static void test_requests_schema_is_the_table(void **state)
{
    struct db_fixture *f = *state;
    ostel_store_close(f->s);
    f->s = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT name, type FROM pragma_table_info('requests')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    struct ostel_buf got, want;
    ostel_buf_init(&got, 0);
    ostel_buf_init(&want, 0);
    while (sqlite3_step(st) == SQLITE_ROW)
        ostel_buf_printf(&got, "%s %s,", (const char *)sqlite3_column_text(st, 0),
                         (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(raw);
    ostel_buf_puts(&want, "run_id INTEGER,seq INTEGER,");
    const struct ostel_rundir_csv_col *cols = ostel_requests_cols();
    for (int c = 0; c < OSTEL_REQ_COL_COUNT; c++)
        ostel_buf_printf(&want, "%s %s,", cols[c].name, ostel_rundir_csv_sql(cols[c].kind));
    assert_string_equal(got.data, want.data);
    ostel_buf_free(&got);
    ostel_buf_free(&want);
}

/* The plan's lines (EXPLAIN QUERY PLAN's detail column), one a line; the caller frees it. */
static char *query_plan(sqlite3 *raw, const char *sql)
{
    char *q = ostel_xasprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, q, -1, &st, NULL), SQLITE_OK);
    struct ostel_buf b;
    ostel_buf_init(&b, 256);
    while (sqlite3_step(st) == SQLITE_ROW)
        ostel_buf_printf(&b, "%s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    free(q);
    return ostel_buf_detach(&b);
}

/*
 * The report's statements (ostel_store_report_sql) filter by plain equalities that the indexes
 * answer: a report of one study or one tag of a large database searches runs_study or runs_tag and
 * reads samples through their primary key, never scanning every run or sample.
 */
static void test_report_sql_plan(void **state)
{
    struct db_fixture *f = *state;
    ostel_store_close(f->s); /* the schema as a fresh database has it, read by SQLite itself */
    f->s = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    const struct {
        int64_t study;
        const char *tag, *index, *where;
    } cases[] = {
        {0, NULL, NULL, NULL},
        {3, NULL, "runs_study", " WHERE r.study_id = ?1 ORDER BY"},
        {0, "q8", "runs_tag", " WHERE r.tag = ?1 ORDER BY"},
        {3, "q8", "runs_", " WHERE r.study_id = ?1 AND r.tag = ?2 ORDER BY"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int samples = 0; samples < 2; samples++) {
            char *sql = ostel_store_report_sql(samples, cases[i].study, cases[i].tag, '?');
            char *plan = query_plan(raw, sql);
            if (cases[i].index) {
                assert_non_null(strstr(sql, cases[i].where));
                assert_non_null(strstr(plan, cases[i].index));
                /* "SCAN r" (or "SCAN TABLE runs" before SQLite 3.36): every run read */
                assert_null(strstr(plan, "SCAN"));
            } else {
                assert_null(strstr(sql, " WHERE r."));
                assert_non_null(strstr(plan, "SCAN")); /* all runs: a scan is right */
                /* the samples alone, no look-up of each one's run */
                if (samples)
                    assert_null(strstr(plan, "SEARCH"));
            }
            free(plan);
            free(sql);
        }
    }
    char *pg = ostel_store_report_sql(true, 3, "q8", '$');
    assert_non_null(strstr(pg, " WHERE r.study_id = $1 AND r.tag = $2 ORDER BY x.run_id, x.seq"));
    free(pg);
    sqlite3_close(raw);
}

/* Rewrites dir/summary.json through rundir's struct: edit() changes what was read. */
static void rewrite_summary(const char *dir, void (*edit)(struct ostel_summary *))
{
    struct ostel_summary sum;
    char err[256];
    assert_int_equal(ostel_summary_read(dir, &sum, err, sizeof(err)), OSTEL_OK);
    edit(&sum);
    assert_int_equal(ostel_summary_write(dir, &sum), 0);
    ostel_summary_free(&sum);
}

/* The llama section as the oldest ostel wrote it: flat keys, "breakdown" */
static void flat_llama(struct ostel_summary *sum)
{
    cJSON_Delete(sum->llama);
    sum->llama = cJSON_Parse("{\"gen_tps\": 12.5, \"load_ms\": 40.25, \"prompt_tps\": 300, "
                             "\"breakdown\": [{\"device\": \"CPU\", \"self\": 10}]}");
}

/* A llama-server run whose log printed progress lines but no timings */
static void progress_only(struct ostel_summary *sum)
{
    cJSON_Delete(sum->llama);
    sum->llama = cJSON_Parse("{\"timings\": {\"gen_tps\": null}, "
                             "\"server_progress\": {\"tg_tps\": 80}}");
    sum->run.start_ts_s += 1; /* another run (the fixture has no run_id) */
    sum->run.end_ts_s += 1;
}

/* `ostel serve --url`'s summary: a process ostel did not start (no host, no oom_killed) */
static void external(struct ostel_summary *sum)
{
    sum->external = true;
    sum->run.start_ts_s += 2;
    sum->run.end_ts_s += 2;
    sum->run.samples = 8;
    sum->run.watched_pid = 4242;
}

/*
 * The store reads summary.json through rundir's reader (struct ostel_summary and its llama facts):
 * the older flat llama layout through the legacy keys, the timings column never from the server's
 * progress line (which the report's gen_tps falls back to), and a summary of a process ostel did
 * not start without a machine or an oom_killed it never said.
 */
static void test_summary_through_rundir(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *db = ostel_xasprintf("%s/a.db", dir);
    char *run = ostel_xasprintf("%s/run", dir);
    struct ostel_store *s;
    assert_int_equal(ostel_store_open(db, 0, &s), OSTEL_OK);
    int64_t id = 0;

    copy_run("q4-ok", run);
    rewrite_summary(run, flat_llama);
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, &id), OSTEL_STORE_ADDED);
    char *json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"load_ms\":40.25,"));
    assert_non_null(strstr(json, "\"prompt_tok_s\":300,"));
    assert_non_null(strstr(json, "\"gen_tok_s\":12.5,"));
    assert_non_null(strstr(json, "\"oom_killed\":0,"));
    free(json);
    assert_int_equal(count(s, "memory_breakdown"), 1);
    assert_int_equal(count(s, "machines"), 1);

    test_rmtree(run);
    copy_run("q4-ok", run);
    rewrite_summary(run, progress_only);
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, &id), OSTEL_STORE_ADDED);
    json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"gen_tok_s\":null,"));
    free(json);

    test_rmtree(run);
    copy_run("q4-ok", run);
    rewrite_summary(run, external);
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, &id), OSTEL_STORE_ADDED);
    json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"machine_id\":null,"));
    assert_non_null(strstr(json, "\"oom_killed\":null,"));
    assert_non_null(strstr(json, "\"ctx\":null,"));
    assert_non_null(strstr(json, "\"status\":\"ok\","));
    free(json);
    assert_int_equal(count(s, "machines"), 1);
    assert_int_equal(count(s, "runs"), 3);

    /* a signal the writer has no name for is written as its number (SIGQUIT here): the run goes
     * in, its signal as the report shows it */
    test_rmtree(run);
    copy_run("q4-failed", run);
    patch(run, "summary.json", "\"signal\": null", "\"signal\": 3");
    assert_int_equal(ostel_store_import_run_dir(s, run, NULL, &id), OSTEL_STORE_ADDED);
    json = export_string(s, "runs", OSTEL_STORE_FORMAT_JSON, id);
    assert_non_null(strstr(json, "\"signal\":\"signal 3\","));
    free(json);

    ostel_store_close(s);
    test_rmtree(dir);
    free(run);
    free(dir);
    free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations),
        cmocka_unit_test_setup_teardown(test_import_fixtures, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_rolls_back, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_bound_parameters, db_setup, db_teardown),
        cmocka_unit_test(test_two_processes),
        cmocka_unit_test(test_bulk_speed),
        cmocka_unit_test(test_bulk_journal_killed),
        cmocka_unit_test(test_bulk_journal_wal_when_runs),
        cmocka_unit_test(test_metrics_reader),
        cmocka_unit_test_setup_teardown(test_samples_schema_is_the_table, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_requests_schema_is_the_table, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_phases_schema_is_the_table, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_import_real_run, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_import_real_scenario, db_setup, db_teardown),
        cmocka_unit_test(test_migrate_to_2),
        cmocka_unit_test_setup_teardown(test_report_sql_plan, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_resume_per_study, db_setup, db_teardown),
        cmocka_unit_test(test_study_commit_fails),
        cmocka_unit_test(test_summary_through_rundir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
