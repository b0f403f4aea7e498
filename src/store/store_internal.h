/*
 * store_internal: the store handle's layout and the helpers the store's own files share (store.c,
 * its export, query, quality, serve, shard and URI parts, and the PostgreSQL backend); nothing
 * outside store/ but test_store includes it.
 */
#ifndef OSTEL_STORE_INTERNAL_H
#define OSTEL_STORE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>

/* Statements prepared once per handle and reused (reset + rebind) for every run. */
enum store_stmt {
    STMT_FIND_RUN,
    STMT_INSERT_RUN,
    STMT_INSERT_SAMPLE,
    STMT_INSERT_SAMPLES, /* SAMPLE_BATCH rows in one INSERT */
    STMT_INSERT_PHASE,
    STMT_INSERT_MEMORY,
    STMT_INSERT_SCENARIO,
    STMT_INSERT_MACHINE,
    STMT_FIND_MACHINE,
    STMT_TOUCH_MACHINE,
    STMT_MACHINE_EXTRA,
    STMT_INSERT_SAMPLES_RUN, /* a run's gathered rows in one INSERT … SELECT (store.c) */
    STMT_SAVEPOINT,          /* a batch's per-run savepoint (ostel_store_import_run_dir) */
    STMT_RELEASE,
    STMT_COUNT
};

struct ostel_store {
    sqlite3 *db;
    char *path;
    bool readonly;
    bool in_tx;
    bool in_batch;     /* in_tx belongs to ostel_store_batch_begin: each import is a savepoint */
    bool bulk_tried;   /* the first batch asked for the rollback journal (store.c bulk_journal) */
    bool bulk_journal; /* ... and got it: close switches the file back to WAL */
    sqlite3_stmt *stmt[STMT_COUNT];        /* lazily prepared; finalized by close */
    struct ostel_store_pg *pg;             /* set: a PostgreSQL database (store_pg.c), db is NULL */
    struct ostel_store_prefetch *prefetch; /* db import's read-ahead threads, or NULL */
    struct samples_src *samples_src;       /* the rows ostel_import_samples reads (store.c) */
};

#include "store/store_pg.h"

/* Inserts summary.json's "quality" section with the log parser's llama.perplexity figures into
 * the quality table (store_quality.c); nothing for a run without one. doc is borrowed. */
struct cJSON;
int ostel_store_insert_quality(struct ostel_store *s, const struct cJSON *doc, int64_t run_id);

/* Prints "<what>: <sqlite message>" as an error; returns OSTEL_ERR. */
int ostel_store_sql_error(struct ostel_store *s, const char *what);
/* The file: URI that opens path for reading without creating -wal/-shm beside it (store_uri.c);
 * the caller frees it. */
char *ostel_store_readonly_uri(const char *path);
/* True when the database file's header marks it WAL mode (bytes 18 and 19 are 2). */
bool ostel_store_file_is_wal(const char *path);
/* Writes n bytes of text as `db export` writes a text cell (store_export.c; both backends): CSV
 * quoted when it holds a comma, quote or line end; a JSON string. */
void ostel_store_put_text(FILE *f, const char *t, size_t n, enum ostel_store_format fmt);
/* A stored JSON text (summary, telemetry, extra) written as JSON, re-printed by cJSON so that the
 * output stays valid even if the database was edited by hand; a string when it is not JSON. */
void ostel_store_put_embedded_json(FILE *f, const char *t, size_t n);
/* A column's key in `db export`'s JSON ("summary_json" is "summary", "telemetry_json"
 * "telemetry"); *embed is set for those two and "extra", whose text is JSON. Static or col. */
const char *ostel_store_export_json_key(const char *col, bool *embed);

#endif
