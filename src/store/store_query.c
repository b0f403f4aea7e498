/*
 * store_query: read-only lookups that select runs for other commands (see store_query.h).
 */
#include "store/store_query.h"
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/* Appends "name (id N), …" of up to ten studies to b; false on a database error. */
static bool list_studies(struct ostel_store *s, const char *where, const char *key,
                         struct ostel_buf *b, int *n)
{
    sqlite3_stmt *st;
    char *sql = ostel_xasprintf("SELECT id, name FROM studies %s ORDER BY id LIMIT 11", where);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return false;
    if (key)
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (++*n > 10) {
            ostel_buf_puts(b, ", …");
            continue;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        ostel_buf_printf(b, "%s%s (id %lld)", *n > 1 ? ", " : "", name && *name ? name : "unnamed",
                         (long long)sqlite3_column_int64(st, 0));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

/* 1 when a study with this id exists, 0 when not, OSTEL_ERR on a database error. */
static int study_exists(struct ostel_store *s, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM studies WHERE id=?", -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "looking up a study");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : ostel_store_sql_error(s, "looking up a study");
}

int ostel_store_find_study(struct ostel_store *s, const char *key, int64_t *study_id)
{
    if (s->pg)
        return ostel_store_pg_find_study(s, key, study_id);
    *study_id = 0;
    size_t n = strlen(key);
    bool digits = n > 0 && n <= 18 && strspn(key, "0123456789") == n;
    if (digits) {
        int64_t id = (int64_t)strtoll(key, NULL, 10);
        int rc = study_exists(s, id);
        if (rc < 0)
            return OSTEL_ERR;
        if (rc == 1) {
            *study_id = id;
            return OSTEL_OK;
        }
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM studies WHERE name=? ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "looking up a study");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc, found = 0;
    int64_t id = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        found++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ostel_store_sql_error(s, "looking up a study");
    if (found == 1) {
        *study_id = id;
        return OSTEL_OK;
    }
    struct ostel_buf b;
    ostel_buf_init(&b, 4096);
    int listed = 0;
    if (found > 1) {
        if (!list_studies(s, "WHERE name=?", key, &b, &listed)) {
            ostel_buf_free(&b);
            return ostel_store_sql_error(s, "listing studies");
        }
        rc = ostel_error("%s: %d studies are named '%s': %s; give its id", s->path, found, key,
                         b.data);
    } else {
        if (!list_studies(s, "", NULL, &b, &listed)) {
            ostel_buf_free(&b);
            return ostel_store_sql_error(s, "listing studies");
        }
        rc = listed ? ostel_error("%s: no study '%s' (it holds %s)", s->path, key, b.data)
                    : ostel_error("%s: no study '%s' (it holds no study)", s->path, key);
    }
    ostel_buf_free(&b);
    return rc;
}
