/*
 * store_serve: what `ostel serve` adds to a run directory, into the store — requests.csv row by row
 * into `requests`, and summary.json's serve.levels into `serve_levels` (schema: docs/serve.md).
 *
 * requests.csv is untrusted input: its cells are read by header name (unknown columns ignored,
 * missing ones NULL), a quoted cell may hold commas, quotes ("" inside) and newlines, and a cell
 * that is not a number where one is expected fails the import with its line. Statements are
 * prepared per import (a serve run has one table of rows; the cost is nothing beside the rows).
 */
#include "store/store_internal.h"
#include "store/store_rundir.h"
#include "store/store_serve.h"
#include "util/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQUESTS_BYTES ((size_t)1 << 30)

/* requests.csv's columns as the table has them: 'i' integer, 'r' real, 't' text. */
static const struct {
    const char *name;
    char type;
} req_cols[] = {
    {"level", 't'},
    {"warmup", 'i'},
    {"req_id", 'i'},
    {"sched_ts", 'r'},
    {"send_ts", 'r'},
    {"first_ts", 'r'},
    {"end_ts", 'r'},
    {"queue_ms", 'r'},
    {"ttft_ms", 'r'},
    {"ttft_send_ms", 'r'},
    {"e2e_ms", 'r'},
    {"e2e_send_ms", 'r'},
    {"itl_mean_ms", 'r'},
    {"itl_max_ms", 'r'},
    {"tpot_ms", 'r'},
    {"prompt_tokens_asked", 'i'},
    {"output_tokens_asked", 'i'},
    {"prompt_tokens", 'i'},
    {"completion_tokens", 'i'},
    {"chunks", 'i'},
    {"cache_n", 'r'},
    {"prompt_n", 'r'},
    {"prompt_ms", 'r'},
    {"predicted_n", 'r'},
    {"predicted_ms", 'r'},
    {"http_status", 'i'},
    {"ok", 'i'},
    {"error", 't'},
};
#define NREQ (sizeof(req_cols) / sizeof(req_cols[0]))

/* One CSV cell from *p (RFC 4180 quoting); the unquoted value goes to cell. Returns false at the
 * end of the record (after its last cell was taken, *p past the line end). */
static bool next_cell(const char **p, const char *end, struct ostel_buf *cell, bool *last)
{
    ostel_buf_reset(cell);
    const char *s = *p;
    if (s < end && *s == '"') {
        s++;
        for (;;) {
            if (s >= end)
                return false; /* unterminated quote */
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    ostel_buf_putc(cell, '"');
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            ostel_buf_putc(cell, *s++);
        }
        if (s < end && *s != ',' && *s != '\n' && *s != '\r')
            return false; /* junk after a closing quote */
    } else {
        const char *c = s;
        while (c < end && *c != ',' && *c != '\n')
            c++;
        size_t n = (size_t)(c - s);
        if (n && s[n - 1] == '\r')
            n--;
        ostel_buf_append(cell, s, n);
        s = c;
    }
    if (s < end && *s == '\r')
        s++;
    *last = s >= end || *s == '\n';
    if (s < end)
        s++;
    *p = s;
    return true;
}

int ostel_store_requests_parse(const char *text, size_t len, ostel_store_request_fn fn, void *ctx,
                               char *err, size_t err_size)
{
    const char *p = text, *end = text + len;
    struct ostel_buf cell;
    ostel_buf_init(&cell, 1 << 16);
    int map[64]; /* file column -> req_cols index, -1 unknown */
    size_t ncols = 0;
    bool last = false;
    int rc = OSTEL_OK;
    while (!last) {
        if (ncols == 64 || !next_cell(&p, end, &cell, &last)) {
            snprintf(err, err_size, "line 1: a malformed or too long header");
            ostel_buf_free(&cell);
            return OSTEL_ERR;
        }
        map[ncols] = -1;
        for (size_t k = 0; k < NREQ; k++)
            if (cell.data && strcmp(cell.data, req_cols[k].name) == 0)
                map[ncols] = (int)k;
        ncols++;
    }
    size_t line = 1;
    struct ostel_store_request row;
    while (p < end && rc == OSTEL_OK) {
        line++;
        memset(&row, 0, sizeof(row));
        size_t col = 0;
        last = false;
        char *texts[NREQ] = {0};
        while (!last) {
            if (!next_cell(&p, end, &cell, &last)) {
                snprintf(err, err_size, "line %zu: a malformed cell", line);
                rc = OSTEL_ERR;
                break;
            }
            int k = col < ncols ? map[col] : -1;
            col++;
            if (k < 0 || cell.len == 0)
                continue;
            if (req_cols[k].type == 't') {
                free(texts[k]);
                texts[k] = ostel_xstrndup(cell.data, cell.len);
                continue;
            }
            char *e;
            double v = strtod(cell.data, &e);
            if (*e != '\0' || !isfinite(v) || (req_cols[k].type == 'i' && v != floor(v))) {
                snprintf(err, err_size, "line %zu: cell '%s' is not a number", line,
                         req_cols[k].name);
                rc = OSTEL_ERR;
                break;
            }
            row.v[k] = v;
            row.valid |= (uint64_t)1 << k;
        }
        if (rc == OSTEL_OK && col != ncols) {
            snprintf(err, err_size, "line %zu: %zu cells, the header has %zu", line, col, ncols);
            rc = OSTEL_ERR;
        }
        for (size_t k = 0; k < NREQ; k++)
            row.text[k] = texts[k];
        if (rc == OSTEL_OK && fn(ctx, &row) != 0) {
            snprintf(err, err_size, "line %zu: could not be stored", line);
            rc = OSTEL_ERR;
        }
        for (size_t k = 0; k < NREQ; k++)
            free(texts[k]);
    }
    ostel_buf_free(&cell);
    return rc;
}

size_t ostel_store_request_ncols(void)
{
    return NREQ;
}

struct insert_ctx {
    struct ostel_store *s;
    sqlite3_stmt *st;
    int64_t run_id, seq;
};

static int insert_one(void *arg, const struct ostel_store_request *r)
{
    struct insert_ctx *c = arg;
    sqlite3_reset(c->st);
    sqlite3_clear_bindings(c->st);
    sqlite3_bind_int64(c->st, 1, c->run_id);
    sqlite3_bind_int64(c->st, 2, c->seq++);
    for (size_t k = 0; k < NREQ; k++) {
        int i = (int)k + 3;
        if (req_cols[k].type == 't') {
            if (r->text[k])
                sqlite3_bind_text(c->st, i, r->text[k], -1, SQLITE_TRANSIENT);
        } else if ((r->valid >> k) & 1u) {
            if (req_cols[k].type == 'i')
                sqlite3_bind_int64(c->st, i, (int64_t)r->v[k]);
            else
                sqlite3_bind_double(c->st, i, r->v[k]);
        }
    }
    return sqlite3_step(c->st) == SQLITE_DONE ? 0 : -1;
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
        ostel_buf_printf(&q, ", %s", req_cols[k].name);
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
        if (ostel_store_requests_parse(b.data ? b.data : "", b.len, insert_one, &c, err,
                                       sizeof(err)) != 0)
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
