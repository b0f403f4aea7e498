/*
 * store_export: tables out as CSV or JSON (streamed row by row, so a table of millions of samples
 * needs no more memory than one row), and the summary `ostel db info` prints.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct export_table {
    const char *name;
    const char *csv_cols;  /* column list for CSV */
    const char *json_cols; /* column list for JSON */
    const char *run_col;   /* column matched by --run, or NULL */
    const char *order;
};

static const char *const runs_csv_cols =
    "id, run_key, study_id, machine_id, spec_hash, run_dir, imported_at, kernel, llama_version, "
    "tag, status, exit_code, signal, oom_killed, start_ts, end_ts, wall_s, tool, model, ctx, gen, "
    "scenario, repetition, ostel_version, samples, interval_ms, interval_ms_mean, "
    "interval_ms_p99, load_ms, prompt_tokens, prompt_ms, prompt_tok_s, gen_tokens, gen_ms, "
    "gen_tok_s, rss_peak_mib, rss_anon_peak_mib, rss_file_peak_mib, swap_peak_mib, cpu_mean_pct, "
    "majflt, pageouts, swapouts, pressure_worst, avail_min_pct";

static const struct export_table tables[] = {
    {"machines", "*", "*", NULL, "id"},
    {"memory_breakdown", "*", "*", "run_id", "run_id, seq"},
    {"phase_summaries", "*", "*", "run_id", "run_id, phase"},
    {"quality", "*", "*", "run_id", "run_id"},
    {"runs", NULL, NULL, "id", "id"},
    {"samples", "*", "*", "run_id", "run_id, seq"},
    {"scenarios", "*", "*", "run_id", "run_id"},
    {"studies", "*", "*", NULL, "id"},
};

static const struct export_table *find_table(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(tables); i++)
        if (strcmp(tables[i].name, name) == 0)
            return &tables[i];
    return NULL;
}

bool ostel_store_export_table_ok(const char *table)
{
    return find_table(table) != NULL;
}

/* Shortest text that reads back as the same double. */
static void put_double(FILE *f, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    fputs(tmp, f);
}

void ostel_store_put_text(FILE *f, const char *t, size_t n, enum ostel_store_format fmt)
{
    if (fmt == OSTEL_STORE_FORMAT_CSV) {
        bool quote = false;
        for (size_t i = 0; i < n && !quote; i++)
            quote = t[i] == ',' || t[i] == '"' || t[i] == '\n' || t[i] == '\r';
        if (!quote) {
            fwrite(t, 1, n, f);
            return;
        }
        fputc('"', f);
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '"')
                fputc('"', f);
            fputc(t[i], f);
        }
        fputc('"', f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_value(FILE *f, sqlite3_stmt *st, int i, enum ostel_store_format fmt)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        if (fmt == OSTEL_STORE_FORMAT_JSON)
            fputs("null", f);
        break;
    case SQLITE_INTEGER:
        fprintf(f, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        put_double(f, sqlite3_column_double(st, i));
        break;
    default: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        ostel_store_put_text(f, t ? t : "", t ? (size_t)n : 0, fmt);
    }
    }
}

void ostel_store_put_embedded_json(FILE *f, const char *t, size_t n)
{
    cJSON *doc = cJSON_ParseWithLength(t, n);
    char *out = doc ? cJSON_PrintUnformatted(doc) : NULL;
    if (out)
        fputs(out, f);
    else
        ostel_store_put_text(f, t, n, OSTEL_STORE_FORMAT_JSON);
    free(out);
    cJSON_Delete(doc);
}

const char *ostel_store_export_json_key(const char *col, bool *embed)
{
    *embed = true;
    if (strcmp(col, "summary_json") == 0)
        return "summary";
    if (strcmp(col, "telemetry_json") == 0)
        return "telemetry";
    *embed = strcmp(col, "extra") == 0;
    return col;
}

int ostel_store_export(struct ostel_store *s, const char *table, enum ostel_store_format fmt,
                       int64_t run_id, FILE *f)
{
    if (s->pg)
        return ostel_store_pg_export(s, table, fmt, run_id, f);
    const struct export_table *t = find_table(table);
    if (!t)
        return ostel_error("unknown table '%s'", table);
    const char *cols = fmt == OSTEL_STORE_FORMAT_CSV ? t->csv_cols : t->json_cols;
    if (!cols)
        cols = fmt == OSTEL_STORE_FORMAT_CSV ? runs_csv_cols : "*";
    if (run_id > 0 && !t->run_col)
        return ostel_error("table '%s' has no runs to select", table);
    /* Table and column names come from the constant table above, never from the user. */
    char *sql = ostel_xasprintf("SELECT %s FROM %s%s%s%s ORDER BY %s", cols, t->name,
                                run_id > 0 ? " WHERE " : "", run_id > 0 ? t->run_col : "",
                                run_id > 0 ? "=?" : "", t->order);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return ostel_store_sql_error(s, "exporting");
    if (run_id > 0)
        sqlite3_bind_int64(st, 1, run_id);
    int ncol = sqlite3_column_count(st);
    if (fmt == OSTEL_STORE_FORMAT_CSV) {
        for (int i = 0; i < ncol; i++)
            fprintf(f, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
        fputc('\n', f);
    } else {
        fputc('[', f);
    }
    long rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == OSTEL_STORE_FORMAT_CSV) {
            for (int i = 0; i < ncol; i++) {
                if (i)
                    fputc(',', f);
                put_value(f, st, i, fmt);
            }
            fputc('\n', f);
        } else {
            fputs(rows ? ",\n{" : "\n{", f);
            for (int i = 0; i < ncol; i++) {
                bool embed;
                const char *key = ostel_store_export_json_key(sqlite3_column_name(st, i), &embed);
                /* the text asked for only where it is JSON: a number's type must stay its own */
                const char *json = embed ? (const char *)sqlite3_column_text(st, i) : NULL;
                fprintf(f, "%s\"%s\":", i ? "," : "", key);
                if (json)
                    ostel_store_put_embedded_json(f, json, (size_t)sqlite3_column_bytes(st, i));
                else if (embed)
                    fputs("null", f);
                else
                    put_value(f, st, i, fmt);
            }
            fputc('}', f);
        }
        rows++;
    }
    sqlite3_finalize(st);
    if (fmt == OSTEL_STORE_FORMAT_JSON)
        fputs(rows ? "\n]\n" : "]\n", f);
    if (rc != SQLITE_DONE)
        return ostel_store_sql_error(s, "exporting");
    if (fflush(f) != 0 || ferror(f))
        return ostel_error("cannot write the export: %s", strerror(errno ? errno : EIO));
    return OSTEL_OK;
}

static int64_t count_rows(struct ostel_store *s, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

int ostel_store_count_rows(struct ostel_store *s, const char *table, int64_t *n)
{
    if (s->pg)
        return ostel_store_pg_count_rows(s, table, n);
    const struct export_table *t = find_table(table);
    if (!t)
        return ostel_error("unknown table '%s'", table);
    char *sql = ostel_xasprintf("SELECT count(*) FROM %s", t->name);
    *n = count_rows(s, sql);
    free(sql);
    return *n < 0 ? ostel_store_sql_error(s, "counting rows") : OSTEL_OK;
}

int ostel_store_check_integrity(struct ostel_store *s)
{
    if (s->pg)
        return ostel_store_pg_check_integrity(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "checking integrity");
    int rc = sqlite3_step(st);
    const char *msg = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int ret = OSTEL_OK;
    if (!msg)
        ret = ostel_store_sql_error(s, "checking integrity");
    else if (strcmp(msg, "ok") != 0)
        ret = ostel_error("%s: integrity check: %s", s->path, msg);
    sqlite3_finalize(st);
    return ret;
}

int ostel_store_print_info(struct ostel_store *s, FILE *f)
{
    if (s->pg)
        return ostel_store_pg_print_info(s, f);
    int v = ostel_store_schema_version(s);
    if (v < 0)
        return OSTEL_ERR;
    sqlite3_stmt *st;
    const char *mode = "?";
    char modebuf[32] = "?";
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(modebuf, sizeof(modebuf), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        mode = modebuf;
    }
    /* an immutable read-only open (store_uri.c) sees no WAL: the file header says what it is */
    if (s->readonly && ostel_store_file_is_wal(s->path))
        mode = "wal";
    fprintf(f,
            "database        %s\nschema_version  %d (this ostel: %d)\nsqlite          %s\n"
            "journal_mode    %s\n",
            s->path, v, OSTEL_STORE_SCHEMA_VERSION, sqlite3_libversion(), mode);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(tables); i++) {
        char *sql = ostel_xasprintf("SELECT count(*) FROM %s", tables[i].name);
        int64_t n = count_rows(s, sql);
        free(sql);
        if (n < 0)
            return ostel_store_sql_error(s, "counting rows");
        fprintf(f, "%-17s %lld\n", tables[i].name, (long long)n);
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status", -1,
                           &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "counting runs");
    while (sqlite3_step(st) == SQLITE_ROW)
        fprintf(f, "  runs %-10s%lld\n", (const char *)sqlite3_column_text(st, 0),
                (long long)sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return OSTEL_OK;
}
