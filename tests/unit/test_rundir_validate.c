/*
 * test_rundir_validate: the run-directory validator (src/rundir) on the fuzz corpus' named files —
 * each good file accepted (a BOM stripped), each broken one refused with its line and reason — and
 * the store's one-row-per-run constraint: the 2 -> 3 migration removing duplicates a database
 * already holds, and a second run of the same study, spec hash and repetition not stored twice.
 */
#include "testlib.h"
#include "rundir/rundir_validate.h"
#include "store/store.h"
#include "util/arena.h"

#include <cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
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

/* The scanner's values for a one-column metrics.csv (ts first), taken by a sink. */
struct vals_sink {
    double v[64];
    size_t n;
};

static bool vals_header(void *ctx, const struct ostel_str *cells, size_t ncols)
{
    (void)ctx;
    (void)cells;
    return ncols == 2;
}

static void vals_row(void *ctx, const struct ostel_str *cells, const double *vals, size_t ncols)
{
    (void)cells;
    (void)ncols;
    struct vals_sink *s = ctx;
    if (s->n < OSTEL_ARRAY_LEN(s->v))
        s->v[s->n++] = vals[1];
}

/* Bit for bit: NAN equals NAN, and -0 is not 0. */
static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

/* The scanner's number parsing (a fast path for plain decimals of at most 15 digits, strtod
 * otherwise) gives strtod's value exactly, bit for bit, for every form ostel or a spreadsheet
 * writes; an empty cell is NAN. pageins_delta is a NUMBER column: negatives allowed. */
static void test_scan_numbers_as_strtod(void **state)
{
    (void)state;
    static const char *const cells[] = {"0",
                                        "-0",
                                        "1",
                                        "-1.5",
                                        "+2.25",
                                        "12.345",
                                        "0.1",
                                        "0.3",
                                        "1796629908.870",
                                        "23384.79",
                                        "999999999999999",
                                        "99999999999999.9",
                                        "0.000000000000001",
                                        "999999999999999.9",
                                        "1234567890.1234567",
                                        "0.30000000000000004",
                                        "1e3",
                                        "1.5E-2",
                                        "-7e2",
                                        "2.5e+1",
                                        "00012.5000",
                                        "5.",
                                        "-.5",
                                        ".25",
                                        "123456789012345",
                                        "-98765.4321",
                                        "45035996.273704975",
                                        "0.1000000000000000055511151231257827"};
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    ostel_buf_puts(&csv, "ts,pageins_delta\n");
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cells); i++)
        ostel_buf_printf(&csv, "%zu.5,%s\n", i + 1, cells[i]);
    ostel_buf_puts(&csv, "99,\n"); /* empty: NAN, never 0 */
    struct vals_sink got = {0};
    struct ostel_rundir_metrics_sink sink = {vals_header, vals_row, &got};
    char err[256] = "";
    int rc = ostel_rundir_scan_metrics_text(csv.data, csv.len, NULL, &sink, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(got.n, OSTEL_ARRAY_LEN(cells) + 1);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cells); i++) {
        double want = strtod(cells[i], NULL);
        if (!same_double(got.v[i], want))
            fprintf(stderr, "'%s': %.17g, strtod %.17g\n", cells[i], got.v[i], want);
        assert_true(same_double(got.v[i], want));
    }
    assert_true(isnan(got.v[OSTEL_ARRAY_LEN(cells)]));
    ostel_buf_free(&csv);

    /* Random plain decimals of 1 to 17 digits, the dot anywhere (none: an integer): the same as
     * strtod. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 200; round++) {
        ostel_buf_init(&csv, 0);
        ostel_buf_puts(&csv, "ts,pageins_delta\n");
        char text[64][24];
        for (int k = 0; k < 64; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* at most 15 digits before the dot: a larger number is out of a cell's range */
            int digits = 1 + (int)(x % 17), whole = digits < 15 ? digits : 15;
            int dot = digits > 15 ? 1 + (int)((x >> 8) % (uint64_t)whole)
                                  : (int)((x >> 8) % (uint64_t)(whole + 1));
            size_t n = 0;
            if ((x >> 20) & 1)
                text[k][n++] = '-';
            for (int d = 0; d < digits; d++) {
                if (d == dot && d > 0)
                    text[k][n++] = '.';
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                text[k][n++] = (char)('0' + x % 10);
            }
            text[k][n] = '\0';
            ostel_buf_printf(&csv, "%d,%s\n", k, text[k]);
        }
        memset(&got, 0, sizeof(got));
        assert_int_equal(
            ostel_rundir_scan_metrics_text(csv.data, csv.len, NULL, &sink, err, sizeof(err)), 0);
        assert_int_equal(got.n, 64);
        for (int k = 0; k < 64; k++) {
            double want = strtod(text[k], NULL);
            if (!same_double(got.v[k], want))
                fprintf(stderr, "'%s': %.17g, strtod %.17g\n", text[k], got.v[k], want);
            assert_true(same_double(got.v[k], want));
        }
        ostel_buf_free(&csv);
    }
}

/* The rules on the fast path as on strtod's: "-0" is no negative size, "-0.01" is; a phase seen
 * on the row before is known, a new one checked. */
static void test_scan_rules(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *want; /* want: NULL when accepted */
    } cases[] = {
        {"ts,rss_mb\n1,-0\n2,-0.000\n", NULL},
        {"ts,rss_mb\n1,2\n2,-0.01\n", "line 3: column rss_mb is negative: '-0.01'"},
        {"ts,rss_mb\n1,2\n2,-1e-2\n", "line 3: column rss_mb is negative: '-1e-2'"},
        {"ts,rss_mb\n-1,2\n", "line 2: column ts is negative"},
        {"ts,cpu_pct\n1,-3\n", "line 2: column cpu_pct is negative"},
        {"ts,rss_mb\n1,2000000000000\n", "line 2: column rss_mb is beyond any machine's memory"},
        {"ts,rss_mb\n1,1e16\n", "line 2: column rss_mb is out of range"},
        {"ts,rss_mb\n1,1e-301\n", "line 2: column rss_mb is out of range"},
        {"ts,rss_mb\n1,1.2.3\n", "line 2: column rss_mb is not a number: '1.2.3'"},
        {"ts,rss_mb\n1,12a\n", "line 2: column rss_mb is not a number: '12a'"},
        {"ts,rss_mb\n1, 12\n", "line 2: column rss_mb is not a number: ' 12'"},
        {"ts,rss_mb\n1,-\n", "line 2: column rss_mb is not a number: '-'"},
        {"ts,phase,rss_mb\n1,load,1\n2,load,1\n3,,1\n4,generate,1\n5,generate,1\n", NULL},
        {"ts,phase,rss_mb\n1,load,1\n2,load,1\n3,loads,1\n", "line 4: unknown phase 'loads'"},
        {"ts,phase,rss_mb\n1,,1\n2,x,1\n", "line 3: unknown phase 'x'"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        char *csv = strdup(cases[i].csv);
        size_t len = strlen(csv);
        char err[256] = "";
        int rc = ostel_rundir_validate_metrics(csv, &len, NULL, err, sizeof(err));
        if (cases[i].want ? rc == 0 || !strstr(err, cases[i].want) : rc != 0)
            fprintf(stderr, "case %zu: rc %d '%s'\n", i, rc, err);
        if (cases[i].want) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, cases[i].want));
        } else {
            assert_int_equal(rc, 0);
        }
        free(csv);
    }
}

/* The arena parse validates as the plain one and gives the same tree; a refused file the same
 * message (a half-built tree in the arena is not freed by cJSON, and nothing leaks). */
static void test_parse_summary_arena(void **state)
{
    (void)state;
    static const char *const names[] = {"summary-real-tiny-q8.json", "summary-real-scenario.json",
                                        "summary-bom.json",          "broken-summary-neg-wall.json",
                                        "broken-summary-1e999.json", "metrics-real-tiny-q8.csv"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(names); i++) {
        char *path = test_src_path(CORPUS "x");
        path[strlen(path) - 1] = '\0';
        char *full = ostel_xasprintf("%s%s", path, names[i]);
        size_t len1, len2;
        char *t1 = test_read_file(full, &len1), *t2 = test_read_file(full, &len2);
        char err1[256] = "", err2[256] = "";
        cJSON *plain = NULL, *fast = NULL;
        struct ostel_rundir_facts f1, f2;
        ostel_rundir_facts_init(&f1);
        ostel_rundir_facts_init(&f2);
        struct ostel_arena arena;
        ostel_arena_init(&arena, 0);
        int rc1 = ostel_rundir_parse_summary(t1, &len1, &f1, &plain, err1, sizeof(err1));
        int rc2 =
            ostel_rundir_parse_summary_arena(t2, &len2, &f2, &arena, &fast, err2, sizeof(err2));
        assert_int_equal(rc1, rc2);
        assert_string_equal(err1, err2);
        assert_int_equal(len1, len2);
        assert_true(rc1 == 0 ? plain && fast : !plain && !fast);
        if (rc1 == 0) {
            assert_true(same_double(f1.ram_mib, f2.ram_mib));
            char *p1 = cJSON_PrintUnformatted(plain), *p2 = cJSON_PrintUnformatted(fast);
            assert_string_equal(p1, p2);
            free(p1);
            free(p2);
        }
        cJSON_Delete(plain);
        ostel_arena_free(&arena);
        /* outside the parse cJSON allocates with malloc as ever */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n", 1);
        cJSON_Delete(o);
        free(t1);
        free(t2);
        free(full);
        free(path);
    }
}

/* Two trees alike as readers see them: types, keys, strings, numbers bit for bit and valueint,
 * children in order, each child's prev its predecessor and the first child's the last one. */
static bool same_tree(const cJSON *a, const cJSON *b)
{
    if (a->type != b->type || a->valueint != b->valueint ||
        !same_double(a->valuedouble, b->valuedouble))
        return false;
    if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string)))
        return false;
    if ((a->valuestring == NULL) != (b->valuestring == NULL) ||
        (a->valuestring && strcmp(a->valuestring, b->valuestring)))
        return false;
    const cJSON *x = a->child, *y = b->child, *px = NULL, *py = NULL;
    for (; x && y; px = x, py = y, x = x->next, y = y->next) {
        if ((px && x->prev != px) || (py && y->prev != py) || !same_tree(x, y))
            return false;
    }
    if (x || y)
        return false;
    return !a->child || (a->child->prev == px && b->child->prev == py);
}

/* The fast JSON parser builds cJSON's tree, or gives up (cJSON then decides): never a tree where
 * cJSON refuses, never a different one. */
static void test_json_fast(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        bool fast; /* the fast parser takes it (false: it may give up) */
    } cases[] = {
        {"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\\ny\\\"z\\/\\\\\\b\\f\\r\\t\"}}", true},
        {" \t\r\n\x01{ \"e\" : -0 , \"f\":1.5e3,\"g\":12345678901234567890,\"h\":0.1}\x02 ", true},
        {"{\"i\":-2147483649,\"j\":2147483648,\"k\":2147483647.5,\"l\":-2147483648.5}", true},
        {"{\"k\":\"\",\"l\":[],\"m\":{},\"n\":[[],[{}]],\"a\":1,\"a\":2}", true},
        {"[1E-2,-0.0,123456789012345678,0.30000000000000004,1e308,4.9e-324,-1e-7]", true},
        {"[123456789012345,99999999999999.9,0.000000000000001,1e22,1e23,5e-1]", true},
        {"{\"raw\":\"tab\there\x01\",\"utf8\":\"caf\xc3\xa9\"}", true},
        {"{\"a\":1} trailing", true},
        {"truex", true},
        {"nullx", true},
        {"\"str\" tail", true},
        {"[01]", false},
        {"[1.]", false},
        {"[.5]", false},
        {"[+1]", false},
        {"[1e]", false},
        {"[1e+]", false},
        {"[-]", false},
        {"[1.2.3]", false},
        {"[0x10]", false},
        {"[1-2]", false},
        {"1-", false},
        {"[1.000000000000000000000000000000000000000000000000000000000000000001]", false},
        {"[\"\\u00e9\",\"\\ud83d\\ude00\"]", false},
        {"[\"\\u0000x\"]", false},
        {"[\"\\ud800\"]", false},
        {"[\"\\x\"]", false},
        {"[\"open", false},
        {"[\"ends with a backslash\\", false},
        {"[1,]", false},
        {"{\"a\":1,}", false},
        {"{\"a\" 1}", false},
        {"{1:2}", false},
        {"[1 2]", false},
        {"\xef\xbb\xbf{}", false},
        {"", false},
        {"   ", false},
        {"nul", false},
        {"[tru]", false},
        {"{\"a\":[1,{\"b\":}]}", false},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        const char *doc = cases[i].doc;
        size_t len = strlen(doc);
        struct ostel_arena arena;
        ostel_arena_init(&arena, 0);
        cJSON *fast = ostel_rundir_json_parse_fast(doc, len, &arena);
        cJSON *plain = cJSON_ParseWithLengthOpts(doc, len, NULL, false);
        if (cases[i].fast && !fast)
            fprintf(stderr, "case %zu: the fast parser gave up\n", i);
        if (fast && (!plain || !same_tree(fast, plain)))
            fprintf(stderr, "case %zu: not cJSON's tree\n", i);
        assert_true(!cases[i].fast || fast);
        assert_true(!fast || (plain && same_tree(fast, plain)));
        cJSON_Delete(plain);
        ostel_arena_free(&arena);
    }
    /* nesting: deep is cJSON's call (it refuses past 1000), shallow is the fast parser's */
    for (int depth = 100; depth <= 1100; depth += 500) {
        char *doc = malloc(2 * (size_t)depth + 2);
        memset(doc, '[', (size_t)depth);
        doc[depth] = '1';
        memset(doc + depth + 1, ']', (size_t)depth);
        doc[2 * depth + 1] = '\0';
        struct ostel_arena arena;
        ostel_arena_init(&arena, 0);
        cJSON *fast = ostel_rundir_json_parse_fast(doc, strlen(doc), &arena);
        cJSON *plain = cJSON_ParseWithLengthOpts(doc, strlen(doc), NULL, false);
        assert_true(depth == 100 ? fast != NULL : fast == NULL);
        assert_true(!fast || (plain && same_tree(fast, plain)));
        cJSON_Delete(plain);
        ostel_arena_free(&arena);
        free(doc);
    }
    /* ostel's own summaries: all taken, all alike */
    static const char *const names[] = {"summary-real-tiny-q8.json", "summary-real-scenario.json"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(names); i++) {
        char *path = test_src_path(CORPUS "x");
        path[strlen(path) - 1] = '\0';
        char *full = ostel_xasprintf("%s%s", path, names[i]);
        size_t len;
        char *t = test_read_file(full, &len);
        struct ostel_arena arena;
        ostel_arena_init(&arena, 0);
        cJSON *fast = ostel_rundir_json_parse_fast(t, len, &arena);
        cJSON *plain = cJSON_ParseWithLengthOpts(t, len, NULL, false);
        assert_non_null(fast);
        assert_true(plain && same_tree(fast, plain));
        cJSON_Delete(plain);
        ostel_arena_free(&arena);
        free(t);
        free(full);
        free(path);
    }
}

/* The arena: aligned blocks, large requests on a block of their own, all freed at once (ASan's
 * leak check holds it to that). */
static void test_arena(void **state)
{
    (void)state;
    struct ostel_arena a;
    ostel_arena_init(&a, 1024);
    unsigned char *prev[300];
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(prev); i++) {
        size_t n = i % 7 == 0 ? 2000 : i % 5; /* 2000: more than a block; 0 bytes too */
        prev[i] = ostel_arena_alloc(&a, n);
        assert_non_null(prev[i]);
        assert_int_equal((uintptr_t)prev[i] % _Alignof(max_align_t), 0);
        memset(prev[i], (int)i, n);
    }
    /* nothing overlapped: each block still holds its own byte */
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(prev); i++) {
        size_t n = i % 7 == 0 ? 2000 : i % 5;
        for (size_t k = 0; k < n; k++)
            assert_int_equal(prev[i][k], (unsigned char)i);
    }
    ostel_arena_free(&a);
    assert_null(a.head);
    assert_non_null(ostel_arena_alloc(&a, 8)); /* usable again */
    ostel_arena_free(&a);
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
        cmocka_unit_test(test_good_files),      cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_ram_bound),       cmocka_unit_test(test_scan_numbers_as_strtod),
        cmocka_unit_test(test_scan_rules),      cmocka_unit_test(test_parse_summary_arena),
        cmocka_unit_test(test_json_fast),       cmocka_unit_test(test_arena),
        cmocka_unit_test(test_one_row_per_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
