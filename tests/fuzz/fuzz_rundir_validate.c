/*
 * fuzz_rundir_validate: feeds arbitrary bytes to the run-directory validator (src/rundir) as
 * summary.json, metrics.csv and config.txt, and checks what makes it the one gate before every
 * reader: a refusal always says why, and whatever it accepts the readers behind it accept too — the
 * store's summary envelope and metrics.csv row reader (db import), and the report's
 * summary and metrics loaders (report, report --db; the report needs an rss_mb column besides).
 * The report's fast JSON parser builds cJSON's own tree wherever it does not give up.
 * Under OSTEL_FUZZ this is a libFuzzer target; otherwise replay_main.c replays the corpus in
 * tests/fuzz/corpus/rundir_validate/ in every test run.
 */
#include "report/report.h"
#include "rundir/rundir_validate.h"
#include "store/store_rundir.h"
#include "util/arena.h"

#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy, as the validator wants (it strips a BOM in place). */
static char *copy(const uint8_t *data, size_t size)
{
    char *c = malloc(size + 1);
    if (!c)
        abort();
    if (size)
        memcpy(c, data, size);
    c[size] = '\0';
    return c;
}

/* As readers see them: types, keys, strings, numbers bit for bit, children and their links. */
static bool same_tree(const cJSON *a, const cJSON *b)
{
    bool num = (isnan(a->valuedouble) && isnan(b->valuedouble)) ||
               memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) == 0;
    if (a->type != b->type || a->valueint != b->valueint || !num ||
        (a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string)) ||
        (a->valuestring == NULL) != (b->valuestring == NULL) ||
        (a->valuestring && strcmp(a->valuestring, b->valuestring)))
        return false;
    const cJSON *x = a->child, *y = b->child, *px = NULL, *py = NULL;
    for (; x && y; px = x, py = y, x = x->next, y = y->next)
        if ((px && x->prev != px) || (py && y->prev != py) || !same_tree(x, y))
            return false;
    return !x && !y && (!a->child || (a->child->prev == px && b->child->prev == py));
}

static void check_json_fast(const uint8_t *data, size_t size)
{
    char *t = copy(data, size);
    struct ostel_arena arena;
    ostel_arena_init(&arena, 0);
    cJSON *fast = ostel_rundir_json_parse_fast(t, size, &arena);
    cJSON *plain = cJSON_ParseWithLengthOpts(t, size, NULL, false);
    if (fast && (!plain || !same_tree(fast, plain)))
        abort(); /* a tree where cJSON refuses, or another tree than cJSON's */
    cJSON_Delete(plain);
    ostel_arena_free(&arena);
    free(t);
}

static void check_summary(const uint8_t *data, size_t size, struct ostel_rundir_facts *facts)
{
    char *t = copy(data, size), err[256] = "";
    size_t len = size;
    if (ostel_rundir_validate_summary(t, &len, facts, err, sizeof(err)) != 0) {
        if (!err[0])
            abort(); /* a refusal always says why */
        free(t);
        return;
    }
    cJSON *doc = ostel_store_summary_parse(t, len, err, sizeof(err));
    if (!doc)
        abort(); /* accepted here, refused by db import */
    cJSON_Delete(doc);
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    if (ostel_report_load_summary(ostel_report_set_add(&set), t, len, err, sizeof(err)) != 0)
        abort(); /* accepted here, refused by the report */
    ostel_report_set_free(&set);
    free(t);
}

static void check_metrics(const uint8_t *data, size_t size, const struct ostel_rundir_facts *facts)
{
    char *t = copy(data, size), err[256] = "";
    size_t len = size;
    if (ostel_rundir_validate_metrics(t, &len, facts, err, sizeof(err)) != 0) {
        if (!err[0])
            abort();
        free(t);
        return;
    }
    struct ostel_store_metrics_reader r;
    if (ostel_store_metrics_reader_init(&r, t, len, err, sizeof(err)) != 0)
        abort();
    struct ostel_store_sample row;
    int rc;
    while ((rc = ostel_store_metrics_reader_next(&r, &row, err, sizeof(err))) == 1)
        ;
    ostel_store_metrics_reader_free(&r);
    if (rc != 0)
        abort();
    /* the report reads the two columns it charts: with rss_mb in the header it must accept */
    struct ostel_str rest = ostel_str_make(t, len), head;
    bool has_rss = false;
    if (ostel_str_next_line(&rest, &head)) {
        char *h = malloc(head.n + 3);
        if (!h)
            abort();
        h[0] = ',';
        memcpy(h + 1, head.p, head.n);
        h[head.n + 1] = ',';
        h[head.n + 2] = '\0';
        has_rss = strstr(h, ",rss_mb,") != NULL;
        free(h);
    }
    if (has_rss) {
        struct ostel_report_set set;
        ostel_report_set_init(&set);
        if (ostel_report_load_metrics(ostel_report_set_add(&set), t, len, err, sizeof(err)) != 0)
            abort();
        ostel_report_set_free(&set);
    }
    free(t);
}

static void check_config(const uint8_t *data, size_t size)
{
    char *t = copy(data, size), err[256] = "";
    size_t len = size;
    if (ostel_rundir_validate_config(t, &len, err, sizeof(err)) != 0 && !err[0])
        abort();
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ostel_rundir_facts facts;
    ostel_rundir_facts_init(&facts);
    check_json_fast(data, size);
    check_summary(data, size, &facts);
    check_metrics(data, size, &facts);
    check_metrics(data, size, NULL);
    check_config(data, size);
    return 0;
}
