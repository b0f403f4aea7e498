/*
 * store: ostel's results database (SQLite), the only module that knows SQL.
 *
 * One database file holds machines, studies, runs, every sample of every run, per-phase summaries,
 * background scenarios and llama.cpp's memory breakdown (schema: docs/store.md). It is opened in
 * WAL mode with a busy timeout, so several processes (a study and an `ostel db import` beside it)
 * can write the same file: writers wait for each other instead of failing. A run enters in one
 * transaction: a crash or Ctrl-C in the middle leaves nothing of it. The schema is versioned
 * (PRAGMA user_version) and upgraded step by step on open.
 *
 * All functions print their own error through ostel_error() and return OSTEL_ERR on failure.
 */
#ifndef OSTEL_STORE_H
#define OSTEL_STORE_H

#include "store/store_rundir.h"
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>

/* The schema version this build writes (PRAGMA user_version). */
#define OSTEL_STORE_SCHEMA_VERSION 8
/* How long a writer waits for another process's transaction before giving up. */
#define OSTEL_STORE_BUSY_TIMEOUT_MS 60000

struct ostel_store; /* opaque handle */

enum {
    OSTEL_STORE_OPEN_READONLY = 1, /* the file must exist; never migrated or written */
};

/*
 * Opens (creating it unless read-only) the database at path and brings its schema up to
 * OSTEL_STORE_SCHEMA_VERSION. *out is owned by the caller: ostel_store_close() it. path is copied.
 */
int ostel_store_open(const char *path, int flags, struct ostel_store **out);
/* Finalizes every statement and closes the database; NULL is fine. */
void ostel_store_close(struct ostel_store *s);
/* The database's PRAGMA user_version, or -1 on error. */
int ostel_store_schema_version(struct ostel_store *s);

/*
 * Records a study definition (the STUDY.ini text or the expanded flags). Studies are unique by the
 * hash of their text: inserting the same text again returns the existing id. name may be NULL.
 */
int ostel_store_insert_study(struct ostel_store *s, const char *name, const char *definition,
                             size_t len, int64_t *study_id);

struct ostel_store_import_opts {
    int64_t study_id;      /* 0 = none */
    const char *spec_hash; /* the study's hash of this run's spec (for resume); NULL = read the
                              run's config.txt key `spec_hash`, if any */
};

/* Return values of ostel_store_run_add_dir / ostel_store_import_run_dir besides OSTEL_ERR. */
#define OSTEL_STORE_ADDED 0
#define OSTEL_STORE_ALREADY 1

/*
 * A run's transaction: begin, add one run directory, commit (or roll back on any error). While it
 * is open this process holds the database's write lock; other writers wait (busy timeout).
 */
int ostel_store_run_begin(struct ostel_store *s);
/*
 * Validates run directory `dir` (metrics.csv, summary.json, config.txt) and inserts it and all its
 * samples inside the open transaction. Returns OSTEL_STORE_ADDED, OSTEL_STORE_ALREADY when a run
 * with the same identity is present (nothing written), or OSTEL_ERR after printing one line naming
 * the bad file. *run_id (may be NULL) receives the run's id. The caller must roll back after an
 * error.
 */
int ostel_store_run_add_dir(struct ostel_store *s, const char *dir,
                            const struct ostel_store_import_opts *opts, int64_t *run_id);
int ostel_store_run_commit(struct ostel_store *s);
/* Rolls back the open transaction, if any. */
void ostel_store_run_rollback(struct ostel_store *s);
/*
 * Many imports in one transaction (ostel db import): between batch_begin and batch_commit each
 * ostel_store_import_run_dir is a savepoint of its own (a failed run is rolled back alone and
 * the batch goes on), and the batch commits, one fsync, at the end. ostel_store_close() without
 * batch_commit rolls the whole batch back.
 */
int ostel_store_batch_begin(struct ostel_store *s);
int ostel_store_batch_commit(struct ostel_store *s);
/*
 * Reads the run directories dirs[0..n) ahead, in that order, on a few threads (files read,
 * validated and parsed: everything of an import but SQL), so that ostel_store_import_run_dir(s,
 * dirs[i], ...) called for each in the same order finds its directory ready. dirs (the array and
 * its strings) is borrowed until ostel_store_close(), which stops the threads. A directory asked
 * for out of that order, or one the read-ahead found a problem in, is read again by the import
 * itself, which reports the problem as it would have. Does nothing on PostgreSQL.
 */
void ostel_store_import_prefetch(struct ostel_store *s, char *const *dirs, size_t n);
/* begin + add_dir + commit, rolling back on error (inside a batch: a savepoint). opts may be
 * NULL. */
int ostel_store_import_run_dir(struct ostel_store *s, const char *dir,
                               const struct ostel_store_import_opts *opts, int64_t *run_id);

/*
 * For resume: 1 when a run of study study_id with this spec hash is stored with a final status (ok,
 * failed, killed, timeout: the experiment happened, whatever its outcome), 0 when none is (never
 * run, or only interrupted / spawn_failed), OSTEL_ERR on a database error. Only the study's own
 * runs count: the spec hash leaves out the study's name, so another study with the same matrix
 * (another name, or another machine's study in a shared database) has runs of the same hash.
 */
int ostel_store_run_is_complete(struct ostel_store *s, int64_t study_id, const char *spec_hash);

/*
 * Ids of the stored runs in import order, optionally only those of a study (study_id > 0) or with a
 * tag (tag != NULL). *ids is owned by the caller (free()).
 */
int ostel_store_list_runs(struct ostel_store *s, int64_t study_id, const char *tag, int64_t **ids,
                          size_t *n);

/* A run read back: the run directory's contents as they were imported (less llama_output.log). */
struct ostel_store_run_record {
    int64_t id;
    char *run_key;
    char *run_dir;                      /* where it was imported from (may no longer exist) */
    char *summary_json;                 /* summary.json as imported */
    char *config_text;                  /* config.txt as imported, or NULL */
    char *metrics_header;               /* metrics.csv's header line */
    struct ostel_store_sample *samples; /* in file order; each extra is owned here */
    size_t nsamples;
};
/* Loads run `id` into *out (all owned by *out: ostel_store_run_record_free()). */
int ostel_store_load_run(struct ostel_store *s, int64_t id, struct ostel_store_run_record *out);
void ostel_store_run_record_free(struct ostel_store_run_record *r);
/*
 * metrics.csv rebuilt from a loaded run (same header and column order; numbers as stored), for a
 * loader that wants the file's text (e.g. the report's metrics reader). The caller frees the
 * result; *len (may be NULL) receives its length. NULL after printing an error.
 */
char *ostel_store_run_record_metrics_csv(const struct ostel_store_run_record *r, size_t *len);
/*
 * Recreates a run directory from the database: dir/summary.json, dir/config.txt, dir/metrics.csv
 * (same columns; numbers as stored), so `ostel report` can read runs that came from elsewhere.
 */
int ostel_store_write_run_dir(struct ostel_store *s, int64_t id, const char *dir);

enum ostel_store_format { OSTEL_STORE_FORMAT_CSV, OSTEL_STORE_FORMAT_JSON };
/*
 * Writes a table (runs, samples, phases, machines, studies, scenarios, memory) to f as CSV (header
 * + rows) or JSON (an array of objects; runs carry their summary as an object). run_id > 0 limits
 * samples/phases/scenarios/memory/runs to one run. Large text columns are left out of CSV runs.
 */
int ostel_store_export(struct ostel_store *s, const char *table, enum ostel_store_format fmt,
                       int64_t run_id, FILE *f);
/* Whether `table` is one ostel_store_export accepts. */
bool ostel_store_export_table_ok(const char *table);

/* Rows in `table` (one of the export tables) into *n. */
int ostel_store_count_rows(struct ostel_store *s, const char *table, int64_t *n);
/* Runs PRAGMA integrity_check: OSTEL_OK when SQLite answers "ok", else prints its first complaint.
 */
int ostel_store_check_integrity(struct ostel_store *s);

/* Prints the database's path, schema version, SQLite version and row counts to f. */
int ostel_store_print_info(struct ostel_store *s, FILE *f);

/*
 * Backends: a path that starts with postgresql:// or postgres:// is a PostgreSQL database
 * (store_pg.c, docs/fleet.md); anything else is a SQLite file. Every function above works on both.
 * The URL's password never appears in what the store prints: the handle keeps the URL redacted.
 */
/* true when `path` names a PostgreSQL database (postgresql:// or postgres://). */
bool ostel_store_is_url(const char *path);
/*
 * The URL with its password (user:PASSWORD@ and any password=… parameter) replaced by "***".
 * Anything else is returned unchanged. The caller frees the result.
 */
char *ostel_store_redact_url(const char *path);
/* The database as it may be printed: a file's path, or the URL with its password hidden. Borrowed.
 */
const char *ostel_store_name(const struct ostel_store *s);
/*
 * A write transaction in which a study's checks and inserts happen together (is the name taken by
 * another matrix, was it started with another N, then insert): SQLite's BEGIN IMMEDIATE takes the
 * database's write lock; PostgreSQL's takes a transaction-scoped advisory lock on a hash of the
 * study's name, so two machines starting the same study queue there. End it with
 * ostel_store_study_unlock(s, commit) on every path (rollback when a check refused or failed).
 */
int ostel_store_study_lock(struct ostel_store *s, const char *name);
int ostel_store_study_unlock(struct ostel_store *s, bool commit);
/* The first study named `name`: 1 with *study_id and *definition (caller frees) set, 0 when there
 * is none, OSTEL_ERR on a database error. */
int ostel_store_study_by_name(struct ostel_store *s, const char *name, int64_t *study_id,
                              char **definition);

/* One shard of a study spread over machines (`ostel study --shard K/N`). */
struct ostel_store_shard {
    int shard, shards; /* K of N, 0-based */
    char *hostname;    /* where it ran last, or NULL */
    int planned, done; /* runs of the shard's slice; done = complete when it finished, -1 unknown */
    char *started_at, *finished_at; /* ISO 8601 UTC; finished_at NULL while running or stopped */
};
/*
 * Records that shard K of N of the study starts on `hostname` with `planned` runs; plan_hash
 * identifies how the matrix was split. Refused (printed) when the study's other shards were started
 * with another N or split it differently.
 */
int ostel_store_shard_begin(struct ostel_store *s, int64_t study_id, int shard, int shards,
                            const char *hostname, int planned, const char *plan_hash);
/* Records that the shard ended with `done` of its runs complete. */
int ostel_store_shard_finish(struct ostel_store *s, int64_t study_id, int shard, int done);
/* The shards recorded for a study, by shard index; *rows is freed with ostel_store_shards_free. */
int ostel_store_list_shards(struct ostel_store *s, int64_t study_id,
                            struct ostel_store_shard **rows, size_t *n);
void ostel_store_shards_free(struct ostel_store_shard *rows, size_t n);

#endif
