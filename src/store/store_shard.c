/*
 * store_shard: studies by name and the shards of a study spread over machines (SQLite backend;
 * store_pg.c answers the same calls for PostgreSQL). See store.h.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? ostel_xstrdup((const char *)t) : NULL;
}

const char *ostel_store_name(const struct ostel_store *s)
{
    return s->path;
}

int ostel_store_study_by_name(struct ostel_store *s, const char *name, int64_t *study_id,
                              char **definition)
{
    if (s->pg)
        return ostel_store_pg_study_by_name(s, name, study_id, definition);
    *study_id = 0;
    *definition = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT id, definition FROM studies WHERE name=? ORDER BY id", -1,
                           &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "looking up a study");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *study_id = sqlite3_column_int64(st, 0);
        *definition = col_dup(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ostel_store_sql_error(s, "looking up a study");
    return rc == SQLITE_ROW;
}

int ostel_store_shard_begin(struct ostel_store *s, int64_t study_id, int shard, int shards,
                            const char *hostname, int planned, const char *plan_hash)
{
    if (s->pg)
        return ostel_store_pg_shard_begin(s, study_id, shard, shards, hostname, planned, plan_hash);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT shards FROM study_shards WHERE study_id=? AND shards<>?",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "recording the shard");
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_int(st, 2, shards);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int other = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return ostel_error("%s: this study was started as %d shards, not %d: run every shard "
                           "with the same N",
                           s->path, other, shards);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ostel_store_sql_error(s, "recording the shard");
    if (sqlite3_prepare_v2(
            s->db, "SELECT shard FROM study_shards WHERE study_id=? AND plan_hash<>? LIMIT 1", -1,
            &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "recording the shard");
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_text(st, 2, plan_hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    int other = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (other >= 0)
        return ostel_error("%s: shard %d of this study split the runs differently (the model "
                           "files differ between machines?): every shard must see the same files",
                           s->path, other);
    char now[32];
    now_iso(now);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO study_shards(study_id, shard, shards, hostname, planned, "
                           "done, started_at, plan_hash) VALUES(?,?,?,?,?,0,?,?) "
                           "ON CONFLICT(study_id, shard) "
                           "DO UPDATE SET hostname=excluded.hostname, planned=excluded.planned, "
                           "started_at=excluded.started_at, finished_at=NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "recording the shard");
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_int(st, 2, shard);
    sqlite3_bind_int(st, 3, shards);
    if (hostname)
        sqlite3_bind_text(st, 4, hostname, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, planned);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, plan_hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OSTEL_OK : ostel_store_sql_error(s, "recording the shard");
}

int ostel_store_shard_finish(struct ostel_store *s, int64_t study_id, int shard, int done)
{
    if (s->pg)
        return ostel_store_pg_shard_finish(s, study_id, shard, done);
    char now[32];
    now_iso(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE study_shards SET done=?, finished_at=? WHERE study_id=? AND "
                           "shard=?",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "recording the shard");
    sqlite3_bind_int(st, 1, done);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, study_id);
    sqlite3_bind_int(st, 4, shard);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OSTEL_OK : ostel_store_sql_error(s, "recording the shard");
}

int ostel_store_list_shards(struct ostel_store *s, int64_t study_id,
                            struct ostel_store_shard **rows, size_t *n)
{
    if (s->pg)
        return ostel_store_pg_list_shards(s, study_id, rows, n);
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT shard, shards, hostname, planned, done, started_at, finished_at "
                           "FROM study_shards WHERE study_id=? ORDER BY shard",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "listing shards");
    sqlite3_bind_int64(st, 1, study_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *rows = ostel_xrealloc(*rows, cap * sizeof(**rows));
        }
        struct ostel_store_shard *x = &(*rows)[(*n)++];
        x->shard = sqlite3_column_int(st, 0);
        x->shards = sqlite3_column_int(st, 1);
        x->hostname = col_dup(st, 2);
        x->planned = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
        x->done = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
        x->started_at = col_dup(st, 5);
        x->finished_at = col_dup(st, 6);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ostel_store_shards_free(*rows, *n);
        *rows = NULL;
        *n = 0;
        return ostel_store_sql_error(s, "listing shards");
    }
    return OSTEL_OK;
}

void ostel_store_shards_free(struct ostel_store_shard *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].hostname);
        free(rows[i].started_at);
        free(rows[i].finished_at);
    }
    free(rows);
}
