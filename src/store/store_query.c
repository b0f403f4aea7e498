/*
 * store_query: read-only lookups that select runs for other commands (see store_query.h).
 */
#include "store/store_query.h"
#include "store/store_internal.h"

#include <math.h>
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

/* ---- the report's rows ---- */

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

char *ostel_store_report_sql(bool samples, int64_t study_id, const char *tag, char mark)
{
    /* One statement per filter case rather than "(?1 <= 0 OR r.study_id = ?1) AND ...", which
     * SQLite can only answer by scanning every run: with a plain equality it searches runs_study
     * or runs_tag, and samples through their primary key. */
    int k = 1;
    char study[32] = "", by_tag[32] = "";
    if (study_id > 0)
        snprintf(study, sizeof(study), "r.study_id = %c%d", mark, k++);
    if (tag)
        snprintf(by_tag, sizeof(by_tag), "r.tag = %c%d", mark, k++);
    /* The first usable MemAvailable: a lookup of a few rows on samples' primary key, so no run's
     * samples are read when the report draws none. */
    const char *head =
        samples ? "SELECT x.run_id, x.ts, x.rss_mb, x.cpu_pct, x.vm_pressure_flag,"
                  " x.avail_mem_level, x.pageins_delta, x.pageouts_delta, x.phase,"
                  " x.rss_anon_mb, x.rss_file_mb"
                  " FROM runs r JOIN samples x ON x.run_id = r.id"
                : "SELECT r.id, r.run_dir, r.summary_json, r.config_text,"
                  " (SELECT x.sys_avail_mb FROM samples x WHERE x.run_id = r.id AND"
                  "  x.sys_avail_mb >= 0 AND x.sys_avail_mb < 1e12 ORDER BY x.seq LIMIT 1)"
                  " FROM runs r";
    return ostel_xasprintf("%s%s%s%s%s%s", head, *study || *by_tag ? " WHERE " : "", study,
                           *study && *by_tag ? " AND " : "", by_tag,
                           samples ? " ORDER BY x.run_id, x.seq" : " ORDER BY r.id");
}

/* Prepares the report's statement for this filter and binds its values in order. */
static int report_prepare(struct ostel_store *s, bool samples, int64_t study_id, const char *tag,
                          sqlite3_stmt **st)
{
    char *sql = ostel_store_report_sql(samples, study_id, tag, '?');
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return ostel_store_sql_error(s, samples ? "reading samples" : "reading runs");
    int k = 1;
    if (study_id > 0)
        sqlite3_bind_int64(*st, k++, study_id);
    if (tag)
        sqlite3_bind_text(*st, k++, tag, -1, SQLITE_TRANSIENT);
    return OSTEL_OK;
}

int ostel_store_each_report_run(struct ostel_store *s, int64_t study_id, const char *tag,
                                int (*fn)(void *ctx, const struct ostel_store_report_run *row),
                                void *ctx)
{
    if (s->pg)
        return ostel_store_pg_each_report_run(s, study_id, tag, fn, ctx);
    sqlite3_stmt *st;
    if (report_prepare(s, false, study_id, tag, &st) != OSTEL_OK)
        return OSTEL_ERR;
    int rc, stop = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ostel_store_report_run row = {sqlite3_column_int64(st, 0), col_text(st, 1),
                                             col_text(st, 2), col_text(st, 3), col_num(st, 4)};
        if ((stop = fn(ctx, &row)) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (stop)
        return stop;
    return rc == SQLITE_DONE ? OSTEL_OK : ostel_store_sql_error(s, "reading runs");
}

int ostel_store_each_report_sample(struct ostel_store *s, int64_t study_id, const char *tag,
                                   int (*fn)(void *ctx,
                                             const struct ostel_store_report_sample *row),
                                   void *ctx)
{
    if (s->pg)
        return ostel_store_pg_each_report_sample(s, study_id, tag, fn, ctx);
    sqlite3_stmt *st;
    if (report_prepare(s, true, study_id, tag, &st) != OSTEL_OK)
        return OSTEL_ERR;
    int rc, stop = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ostel_store_report_sample row = {sqlite3_column_int64(st, 0),
                                                col_num(st, 1),
                                                col_num(st, 2),
                                                col_num(st, 3),
                                                col_num(st, 4),
                                                col_num(st, 5),
                                                col_num(st, 6),
                                                col_num(st, 7),
                                                0,
                                                col_num(st, 9),
                                                col_num(st, 10)};
        const char *ph = col_text(st, 8);
        for (int p = 1; ph && p <= 4; p++)
            if (strcmp(ph, ostel_store_phase_name(p)) == 0)
                row.phase = p;
        if ((stop = fn(ctx, &row)) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (stop)
        return stop;
    return rc == SQLITE_DONE ? OSTEL_OK : ostel_store_sql_error(s, "reading samples");
}
