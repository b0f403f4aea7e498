/*
 * store_serve: `ostel serve`'s files in the store — requests.csv into `requests`, summary.json's
 * serve.levels into `serve_levels`. The CSV reader is pure (fuzzed by tests/fuzz/fuzz_requests.c).
 */
#ifndef OSTEL_STORE_SERVE_H
#define OSTEL_STORE_SERVE_H

#include "store/store.h"
#include "util/util.h"

#include <cJSON.h>

/* One requests.csv row: numbers in v[] (bit k of valid set when column k had one), texts owned by
 * the reader and valid for the callback only (NULL when empty). Columns in the table's order. */
struct ostel_store_request {
    double v[32];
    uint64_t valid;
    const char *text[32];
};
typedef int (*ostel_store_request_fn)(void *ctx, const struct ostel_store_request *row);

/* Parses requests.csv held in memory, calling fn per row. Returns 0, or OSTEL_ERR with "line N: …"
 * in err (nothing printed) — also when fn returns non-zero. */
int ostel_store_requests_parse(const char *text, size_t len, ostel_store_request_fn fn, void *ctx,
                               char *err, size_t err_size);
size_t ostel_store_request_ncols(void);

/* Inside an import's transaction: DIR/requests.csv (when present) and summary's serve.levels.
 * Returns 0 or OSTEL_ERR after printing why. */
int ostel_store_insert_serve(struct ostel_store *s, const char *dir, const cJSON *summary,
                             int64_t run_id);

#endif
