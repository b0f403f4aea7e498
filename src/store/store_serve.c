/*
 * store_serve: what `ostel serve` adds to a run directory, into the store — requests.csv row by row
 * into `requests`, and summary.json's serve.levels into `serve_levels` (schema: docs/serve.md).
 *
 * requests.csv is untrusted input, read by its one reader (rundir/rundir_requests.h: cells by
 * header name, unknown columns ignored, missing ones NULL, quoted cells, a cell that is not a
 * number where one is expected fails the import with its line); its columns are that table's.
 * Statements are prepared per import (a serve run has one table of rows; the cost is nothing beside
 * the rows).
 */
#include "store/store_internal.h"
#include "store/store_rundir.h"
#include "store/store_serve.h"
#include "rundir/rundir_requests.h"
#include "util/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQUESTS_BYTES ((size_t)1 << 30)

#define NREQ ((size_t)OSTEL_REQ_COL_COUNT)

struct insert_ctx {
    struct ostel_store *s;
    sqlite3_stmt *st;
    int64_t run_id, seq;
};

/* One row into `requests`, each cell bound by its column's kind (rundir_requests.h's table). */
static int insert_one(struct insert_ctx *c, const struct ostel_requests_row *r)
{
    const struct ostel_rundir_csv_col *cols = ostel_requests_cols();
    sqlite3_reset(c->st);
    sqlite3_clear_bindings(c->st);
    sqlite3_bind_int64(c->st, 1, c->run_id);
    sqlite3_bind_int64(c->st, 2, c->seq++);
    for (size_t k = 0; k < NREQ; k++) {
        int i = (int)k + 3;
        switch (cols[k].kind) {
        case OSTEL_RUNDIR_CSV_TEXT:
        case OSTEL_RUNDIR_CSV_QUOTED:
            if (r->text[k])
                sqlite3_bind_text(c->st, i, r->text[k], -1, SQLITE_TRANSIENT);
            break;
        case OSTEL_RUNDIR_CSV_INTEGER:
            if (!isnan(r->v[k]))
                sqlite3_bind_int64(c->st, i, (int64_t)r->v[k]);
            break;
        case OSTEL_RUNDIR_CSV_REAL:
            if (!isnan(r->v[k]))
                sqlite3_bind_double(c->st, i, r->v[k]);
            break;
        }
    }
    return sqlite3_step(c->st) == SQLITE_DONE ? 0 : -1;
}

/* requests.csv through its one reader (rundir_requests.h), row by row into `requests`: 0, or
 * OSTEL_ERR with "line N: ..." in err. */
static int insert_requests(struct insert_ctx *c, const char *data, size_t len, char *err,
                           size_t err_size)
{
    struct ostel_requests_scan sc;
    struct ostel_requests_row row;
    int rc = ostel_requests_scan_init(&sc, data, len, err, err_size);
    while (rc == 0) {
        int got = ostel_requests_scan_next(&sc, &row, err, err_size);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (insert_one(c, &row) != 0) {
            snprintf(err, err_size, "line %zu: could not be stored", sc.csv.lineno);
            rc = OSTEL_ERR;
        }
    }
    ostel_requests_scan_free(&sc);
    return rc;
}

static int insert_levels(struct ostel_store *s, const cJSON *doc, int64_t run_id)
{
    const cJSON *serve = cJSON_GetObjectItem(doc, "serve");
    const cJSON *levels = cJSON_IsObject(serve) ? cJSON_GetObjectItem(serve, "levels") : NULL;
    if (!cJSON_IsArray(levels))
        return OSTEL_OK;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO serve_levels(run_id, seq, name, kind, value, requests, "
                           "completed, failed, stopped_early, duration_s, request_throughput, "
                           "output_tokens_per_s, goodput, ttft_p50_ms, ttft_p99_ms, itl_p50_ms, "
                           "itl_p99_ms, tpot_p50_ms, e2e_p50_ms, e2e_p99_ms, level_json) "
                           "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "preparing the serve levels");
    static const char *const nums[] = {
        "value",      "requests",    "completed",          "failed",
        NULL,         "duration_s",  "request_throughput", "output_tokens_per_s",
        "goodput",    "ttft_ms.p50", "ttft_ms.p99",        "itl_ms.p50",
        "itl_ms.p99", "tpot_ms.p50", "e2e_ms.p50",         "e2e_ms.p99"};
    int64_t seq = 0;
    const cJSON *l;
    int rc = OSTEL_OK;
    cJSON_ArrayForEach(l, levels)
    {
        if (!cJSON_IsObject(l))
            continue;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, seq++);
        const char *t;
        if (ostel_store_json_string(l, "name", &t) == 1)
            sqlite3_bind_text(st, 3, t, -1, SQLITE_TRANSIENT);
        if (ostel_store_json_string(l, "kind", &t) == 1)
            sqlite3_bind_text(st, 4, t, -1, SQLITE_TRANSIENT);
        for (int k = 0; k < (int)OSTEL_ARRAY_LEN(nums); k++) {
            double v;
            if (!nums[k]) {
                if (ostel_store_json_string(l, "stopped_early", &t) == 1)
                    sqlite3_bind_text(st, 5 + k, t, -1, SQLITE_TRANSIENT);
                continue;
            }
            if (ostel_store_json_number(l, nums[k], &v) == 1)
                sqlite3_bind_double(st, 5 + k, v);
        }
        char *txt = cJSON_PrintUnformatted(l);
        OSTEL_ASSERT(txt);
        sqlite3_bind_text(st, 21, txt, -1, SQLITE_TRANSIENT);
        free(txt);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = ostel_store_sql_error(s, "inserting a serve level");
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int ostel_store_insert_serve(struct ostel_store *s, const char *dir, const cJSON *summary,
                             int64_t run_id)
{
    char *path = ostel_xasprintf("%s/requests.csv", dir);
    if (!ostel_is_file(path)) {
        free(path);
        return OSTEL_OK; /* not a serve run */
    }
    struct ostel_buf b;
    ostel_buf_init(&b, MAX_REQUESTS_BYTES);
    if (ostel_file_read_all(path, MAX_REQUESTS_BYTES, &b) != 0) {
        ostel_buf_free(&b);
        int rc = ostel_error("'%s' could not be read", path);
        free(path);
        return rc;
    }
    struct ostel_buf q;
    ostel_buf_init(&q, 0);
    ostel_buf_puts(&q, "INSERT INTO requests(run_id, seq");
    for (size_t k = 0; k < NREQ; k++)
        ostel_buf_printf(&q, ", %s", ostel_requests_cols()[k].name);
    ostel_buf_puts(&q, ") VALUES(?, ?");
    for (size_t k = 0; k < NREQ; k++)
        ostel_buf_puts(&q, ", ?");
    ostel_buf_puts(&q, ")");
    struct insert_ctx c = {s, NULL, run_id, 0};
    int rc = OSTEL_OK;
    if (sqlite3_prepare_v2(s->db, q.data, -1, &c.st, NULL) != SQLITE_OK) {
        rc = ostel_store_sql_error(s, "preparing the requests");
    } else {
        char err[200];
        if (insert_requests(&c, b.data ? b.data : "", b.len, err, sizeof(err)) != 0)
            rc = ostel_error("'%s': %s", path, err);
        sqlite3_finalize(c.st);
    }
    ostel_buf_free(&q);
    ostel_buf_free(&b);
    free(path);
    if (rc == OSTEL_OK)
        rc = insert_levels(s, summary, run_id);
    return rc;
}
