/*
 * store_pg: the PostgreSQL backend of the store (libpq), for many machines writing one database
 * (docs/fleet.md). Same logical schema and migrations as the SQLite backend; store.c's public
 * functions hand a handle whose `pg` is set to the functions here, so nothing outside src/store/
 * knows which backend it talks to.
 *
 * A run enters in one transaction: its rows are parsed by the SQLite backend into an in-memory
 * database (so both backends store exactly the same values), then sent with COPY into temporary
 * staging tables and moved with INSERT … SELECT … ON CONFLICT DO NOTHING keyed on the run's
 * identity. Importing twice, from two machines at once, or again after a crash is safe.
 *
 * A database URL's password never leaves this module: the handle's path is the redacted URL and
 * every libpq message is scrubbed of the password before it is printed.
 */
#ifndef OSTEL_STORE_PG_H
#define OSTEL_STORE_PG_H

#include "store/store.h"

struct ostel_store_pg; /* per-handle state of a PostgreSQL connection */

int ostel_store_pg_open(const char *url, int flags, struct ostel_store **out);
void ostel_store_pg_close(struct ostel_store *s);
int ostel_store_pg_schema_version(struct ostel_store *s);
int ostel_store_pg_insert_study(struct ostel_store *s, const char *name, const char *definition,
                                size_t len, int64_t *study_id);
int ostel_store_pg_run_begin(struct ostel_store *s);
int ostel_store_pg_run_add_dir(struct ostel_store *s, const char *dir,
                               const struct ostel_store_import_opts *opts, int64_t *run_id);
int ostel_store_pg_run_commit(struct ostel_store *s);
void ostel_store_pg_run_rollback(struct ostel_store *s);
int ostel_store_pg_run_is_complete(struct ostel_store *s, int64_t study_id, const char *spec_hash);
int ostel_store_pg_list_runs(struct ostel_store *s, int64_t study_id, const char *tag,
                             int64_t **ids, size_t *n);
int ostel_store_pg_load_run(struct ostel_store *s, int64_t id, struct ostel_store_run_record *out);
struct ostel_store_report_run;
struct ostel_store_report_sample;
int ostel_store_pg_each_report_run(struct ostel_store *s, int64_t study_id, const char *tag,
                                   int (*fn)(void *, const struct ostel_store_report_run *),
                                   void *ctx);
int ostel_store_pg_each_report_sample(struct ostel_store *s, int64_t study_id, const char *tag,
                                      int (*fn)(void *, const struct ostel_store_report_sample *),
                                      void *ctx);
int ostel_store_pg_export(struct ostel_store *s, const char *table, enum ostel_store_format fmt,
                          int64_t run_id, FILE *f);
int ostel_store_pg_count_rows(struct ostel_store *s, const char *table, int64_t *n);
int ostel_store_pg_check_integrity(struct ostel_store *s);
int ostel_store_pg_print_info(struct ostel_store *s, FILE *f);
int ostel_store_pg_find_study(struct ostel_store *s, const char *key, int64_t *study_id);
int ostel_store_pg_study_lock(struct ostel_store *s, const char *name);
int ostel_store_pg_study_unlock(struct ostel_store *s, bool commit);
int ostel_store_pg_study_by_name(struct ostel_store *s, const char *name, int64_t *study_id,
                                 char **definition);
int ostel_store_pg_shard_begin(struct ostel_store *s, int64_t study_id, int shard, int shards,
                               const char *hostname, int planned, const char *plan_hash);
int ostel_store_pg_shard_finish(struct ostel_store *s, int64_t study_id, int shard, int done);
int ostel_store_pg_list_shards(struct ostel_store *s, int64_t study_id,
                               struct ostel_store_shard **rows, size_t *n);

#endif
