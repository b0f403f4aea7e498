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

static const enum ostel_metric_col report_cols[] = {OSTEL_COL_TS,
                                                    OSTEL_COL_RSS_MB,
                                                    OSTEL_COL_CPU_PCT,
                                                    OSTEL_COL_VM_PRESSURE_FLAG,
                                                    OSTEL_COL_AVAIL_MEM_LEVEL,
                                                    OSTEL_COL_PAGEINS_DELTA,
                                                    OSTEL_COL_PAGEOUTS_DELTA,
                                                    OSTEL_COL_PHASE,
                                                    OSTEL_COL_RSS_ANON_MB,
                                                    OSTEL_COL_RSS_FILE_MB};

size_t ostel_store_report_cols(const enum ostel_metric_col **cols)
{
    *cols = report_cols;
    return OSTEL_ARRAY_LEN(report_cols);
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
    struct ostel_buf head;
    ostel_buf_init(&head, 0);
    if (samples) {
        ostel_buf_puts(&head, "SELECT x.run_id");
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(report_cols); i++)
            ostel_buf_printf(&head, ", x.%s", ostel_metrics_col_name(report_cols[i]));
        /* every run: the samples alone, in their primary key's order (joined to runs, SQLite
         * scans samples and looks each one's run up: 4 % of an html report's instructions) */
        ostel_buf_puts(&head, *study || *by_tag ? " FROM runs r JOIN samples x ON x.run_id = r.id"
                                                : " FROM samples x");
    } else {
        const char *avail = ostel_metrics_col_name(OSTEL_COL_SYS_AVAIL_MB);
        ostel_buf_printf(&head,
                         "SELECT r.id, r.run_dir, r.summary_json, r.config_text,"
                         " (SELECT x.%s FROM samples x WHERE x.run_id = r.id AND"
                         "  x.%s >= 0 AND x.%s < 1e12 ORDER BY x.seq LIMIT 1)"
                         " FROM runs r",
                         avail, avail, avail);
    }
    char *sql = ostel_xasprintf("%s%s%s%s%s%s", head.data, *study || *by_tag ? " WHERE " : "",
                                study, *study && *by_tag ? " AND " : "", by_tag,
                                samples ? " ORDER BY x.run_id, x.seq" : " ORDER BY r.id");
    ostel_buf_free(&head);
    return sql;
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
    /* Two million rows at 10,000 runs: each cell is read through one sqlite3_column_value (its
     * type and value from that; the connection is NOMUTEX and this thread's alone), the row is not
     * cleared beyond its valid bits (only valid cells are read), and a phase's name is compared
     * with the previous row's before the table's (it changes a few times a run). */
    char last_ph[16] = "";
    int last_len = -1;
    enum ostel_phase last_phase = OSTEL_PHASE_NONE;
    int rc, stop = 0;
    struct ostel_store_report_sample row;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row.run_id = sqlite3_column_int64(st, 0);
        row.row.valid = 0;
        row.row.phase = OSTEL_PHASE_NONE;
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(report_cols); i++) {
            sqlite3_value *v = sqlite3_column_value(st, 1 + (int)i);
            int type = sqlite3_value_type(v);
            if (report_cols[i] != OSTEL_COL_PHASE) {
                if (type != SQLITE_NULL)
                    ostel_metrics_set(&row.row, report_cols[i], sqlite3_value_double(v));
                continue;
            }
            if (type == SQLITE_NULL)
                continue;
            const char *ph = (const char *)sqlite3_value_text(v);
            int len = sqlite3_value_bytes(v);
            if (!ph)
                continue;
            if (len != last_len || memcmp(ph, last_ph, (size_t)len) != 0) {
                last_phase = ostel_metrics_phase_from_name(ostel_str_from_cstr(ph));
                last_len = len < (int)sizeof(last_ph) ? len : -1;
                if (last_len >= 0)
                    memcpy(last_ph, ph, (size_t)len);
            }
            row.row.phase = last_phase;
        }
        if ((stop = fn(ctx, &row)) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (stop)
        return stop;
    return rc == SQLITE_DONE ? OSTEL_OK : ostel_store_sql_error(s, "reading samples");
}
