/*
 * rundir_requests: `ostel serve`'s CSV files as code (docs/serve.md, docs/run-directory.md), each
 * one column table from which its writer (serve/serve.c), its one reader, the store's columns
 * (store/store_serve.c: table requests) and the docs' column lists (checked by
 * test_rundir_requests) come.
 *   requests.csv        one row per finished request (OSTEL_REQUESTS_COLUMNS)
 *   server_metrics.csv  one row per sample of llama-server's /metrics, long format
 *                       (OSTEL_SERVER_METRICS_COLUMNS); read back by serve/serve_level_tel.c
 *   tokens.csv          one row per token chunk, with --save-tokens (OSTEL_TOKENS_COLUMNS); read by
 *                       nothing in ostel (rundir_csv.h's reader takes it with the table)
 * A reader maps the header by name: columns in any order, an unknown one skipped, a missing one
 * empty in every row (a required one missing is an error); a quoted cell may hold commas, quotes
 * ("" inside) and line ends; an empty cell is empty (NAN, NULL), never 0. Pure: nothing here prints
 * or reads a file.
 */
#ifndef OSTEL_RUNDIR_REQUESTS_H
#define OSTEL_RUNDIR_REQUESTS_H

#include "rundir/rundir_csv.h"
#include "util/util.h"

#include <math.h>

/*
 * X(ID, name, unit, decimals, kind, required), in the file's column order; new columns are
 * appended.
 *   ID        the column is OSTEL_REQ_COL_<ID>
 *   unit      as docs/serve.md's table means it ("s" since the epoch, "ms", "tokens", ...)
 *   decimals  digits the writer puts after the point (REAL)
 *   kind      REAL, INTEGER (a whole number), TEXT (ostel's own names, as they are), QUOTED (any
 *             text, quoted): rundir_csv.h; the store's SQL type follows (REAL, INTEGER, TEXT)
 *   required  1: a header without it is not a requests.csv
 */
#define OSTEL_REQUESTS_COLUMNS(X)                                                                  \
    X(LEVEL, "level", "text", 0, TEXT, 0)                                                          \
    X(WARMUP, "warmup", "0/1", 0, INTEGER, 0)                                                      \
    X(REQ_ID, "req_id", "id", 0, INTEGER, 1)                                                       \
    X(SCHED_TS, "sched_ts", "s", 6, REAL, 0)                                                       \
    X(SEND_TS, "send_ts", "s", 6, REAL, 0)                                                         \
    X(FIRST_TS, "first_ts", "s", 6, REAL, 0)                                                       \
    X(END_TS, "end_ts", "s", 6, REAL, 0)                                                           \
    X(QUEUE_MS, "queue_ms", "ms", 3, REAL, 0)                                                      \
    X(TTFT_MS, "ttft_ms", "ms", 3, REAL, 0)                                                        \
    X(TTFT_SEND_MS, "ttft_send_ms", "ms", 3, REAL, 0)                                              \
    X(E2E_MS, "e2e_ms", "ms", 3, REAL, 0)                                                          \
    X(E2E_SEND_MS, "e2e_send_ms", "ms", 3, REAL, 0)                                                \
    X(ITL_MEAN_MS, "itl_mean_ms", "ms", 3, REAL, 0)                                                \
    X(ITL_MAX_MS, "itl_max_ms", "ms", 3, REAL, 0)                                                  \
    X(TPOT_MS, "tpot_ms", "ms", 3, REAL, 0)                                                        \
    X(PROMPT_TOKENS_ASKED, "prompt_tokens_asked", "tokens", 0, INTEGER, 0)                         \
    X(OUTPUT_TOKENS_ASKED, "output_tokens_asked", "tokens", 0, INTEGER, 0)                         \
    X(PROMPT_TOKENS, "prompt_tokens", "tokens", 0, INTEGER, 0)                                     \
    X(COMPLETION_TOKENS, "completion_tokens", "tokens", 0, INTEGER, 0)                             \
    X(CHUNKS, "chunks", "count", 0, INTEGER, 0)                                                    \
    X(CACHE_N, "cache_n", "tokens", 0, REAL, 0)                                                    \
    X(PROMPT_N, "prompt_n", "tokens", 0, REAL, 0)                                                  \
    X(PROMPT_MS, "prompt_ms", "ms", 3, REAL, 0)                                                    \
    X(PREDICTED_N, "predicted_n", "tokens", 0, REAL, 0)                                            \
    X(PREDICTED_MS, "predicted_ms", "ms", 3, REAL, 0)                                              \
    X(HTTP_STATUS, "http_status", "code", 0, INTEGER, 0)                                           \
    X(OK, "ok", "0/1", 0, INTEGER, 0)                                                              \
    X(ERROR, "error", "text", 0, QUOTED, 0)

enum ostel_requests_col {
#define OSTEL_REQUESTS_ENUM_(id, name, unit, dec, kind, req) OSTEL_REQ_COL_##id,
    OSTEL_REQUESTS_COLUMNS(OSTEL_REQUESTS_ENUM_)
#undef OSTEL_REQUESTS_ENUM_
        OSTEL_REQ_COL_COUNT
};

/* The table's rows (name, unit, decimals, kind, required), in the file's order. Static. */
const struct ostel_rundir_csv_col *ostel_requests_cols(void);

/* One request's row: a number column's value in v[] (NAN: an empty cell), a text column's in
 * text[] (NULL or "": empty). The writer borrows the texts; the reader's are the scan's. */
struct ostel_requests_row {
    double v[OSTEL_REQ_COL_COUNT];
    const char *text[OSTEL_REQ_COL_COUNT];
};
/* A row with every cell empty. */
void ostel_requests_row_init(struct ostel_requests_row *r);

/* The header line with '\n': its length, 0 when out is too small (512 bytes suffice). */
size_t ostel_requests_format_header(char *out, size_t out_size);
/* One row with '\n': its length, 0 when out is too small. OSTEL_REQUESTS_ROW_MAX bytes suffice
 * for any numbers and texts of up to 512 bytes. */
size_t ostel_requests_format_row(const struct ostel_requests_row *r, char *out, size_t out_size);
#define OSTEL_REQUESTS_ROW_MAX 12288

/* The pull reader (rundir_csv.h's, with this table): _init, then _next until it returns 0 (1: a
 * row in *row, its texts valid until the next call; OSTEL_ERR with "line N: ..." in err); free
 * with ostel_requests_scan_free() always. */
struct ostel_requests_scan {
    struct ostel_rundir_csv_scan csv;
};
int ostel_requests_scan_init(struct ostel_requests_scan *sc, const char *data, size_t len,
                             char *err, size_t err_size);
int ostel_requests_scan_next(struct ostel_requests_scan *sc, struct ostel_requests_row *row,
                             char *err, size_t err_size);
void ostel_requests_scan_free(struct ostel_requests_scan *sc);

/* ---- server_metrics.csv: ts,level,metric,value ---- */

#define OSTEL_SERVER_METRICS_COLUMNS(X)                                                            \
    X(TS, "ts", "s", 3, REAL, 1)                                                                   \
    X(LEVEL, "level", "text", 0, TEXT, 0)                                                          \
    X(METRIC, "metric", "text", 0, QUOTED, 1)                                                      \
    X(VALUE, "value", "", 6, REAL, 1)

enum ostel_server_metrics_col {
#define OSTEL_SERVER_METRICS_ENUM_(id, name, unit, dec, kind, req) OSTEL_SRVM_COL_##id,
    OSTEL_SERVER_METRICS_COLUMNS(OSTEL_SERVER_METRICS_ENUM_)
#undef OSTEL_SERVER_METRICS_ENUM_
        OSTEL_SRVM_COL_COUNT
};
const struct ostel_rundir_csv_col *ostel_server_metrics_cols(void);

/* One sample: ts (seconds since the epoch), the level it fell in ("" outside the levels), the
 * metric's name with its labels as the server gave it, its value (NAN: not a finite number). */
struct ostel_server_metrics_row {
    double ts;
    const char *level;
    struct ostel_str metric;
    double value;
};
size_t ostel_server_metrics_format_header(char *out, size_t out_size);
/* One row with '\n': its length, 0 when out is too small; 2 × the metric's length + the level's +
 * 400 bytes suffice. */
size_t ostel_server_metrics_format_row(const struct ostel_server_metrics_row *r, char *out,
                                       size_t out_size);
#define OSTEL_SERVER_METRICS_ROW_MAX(metric_len, level_len) (2 * (metric_len) + (level_len) + 400)

/* The pull reader: as requests.csv's; the row's level and metric are the scan's (the metric's
 * quotes undone; level "" when empty) until the next call. */
struct ostel_server_metrics_scan {
    struct ostel_rundir_csv_scan csv;
};
int ostel_server_metrics_scan_init(struct ostel_server_metrics_scan *sc, const char *data,
                                   size_t len, char *err, size_t err_size);
int ostel_server_metrics_scan_next(struct ostel_server_metrics_scan *sc,
                                   struct ostel_server_metrics_row *row, char *err,
                                   size_t err_size);
void ostel_server_metrics_scan_free(struct ostel_server_metrics_scan *sc);

/* ---- tokens.csv (--save-tokens): req_id,index,arrival_mono_ns,text ---- */

#define OSTEL_TOKENS_COLUMNS(X)                                                                    \
    X(REQ_ID, "req_id", "id", 0, INTEGER, 1)                                                       \
    X(INDEX, "index", "count", 0, INTEGER, 1)                                                      \
    X(ARRIVAL_MONO_NS, "arrival_mono_ns", "ns", 0, INTEGER, 1)                                     \
    X(TEXT, "text", "text", 0, QUOTED, 1)

enum ostel_tokens_col {
#define OSTEL_TOKENS_ENUM_(id, name, unit, dec, kind, req) OSTEL_TOK_COL_##id,
    OSTEL_TOKENS_COLUMNS(OSTEL_TOKENS_ENUM_)
#undef OSTEL_TOKENS_ENUM_
        OSTEL_TOK_COL_COUNT
};
const struct ostel_rundir_csv_col *ostel_tokens_cols(void);
size_t ostel_tokens_format_header(char *out, size_t out_size);
/* Appends one token chunk's row with '\n' to b: the request's id, the chunk's index in it, its
 * arrival (monotonic ns) and its text (NUL-terminated, borrowed) always quoted, quotes doubled and
 * control bytes made spaces. Returns strlen(text) (a caller walking texts stored one after the
 * other goes on past its NUL). Without an allocation of its own: many rows go to one buffer, one
 * write per request. */
size_t ostel_tokens_append_row(struct ostel_buf *b, uint64_t req_id, uint64_t index,
                               uint64_t arrival_mono_ns, const char *text);

#endif
