/*
 * store_pg: the PostgreSQL backend (see store_pg.h; schema in docs/store.md, fleets in
 * docs/fleet.md).
 *
 * Values reach SQL as parameters of PQexecParams or as COPY data; the only SQL built at run time
 * is made of the constant table and column names of the schema (column names are taken from the
 * in-memory SQLite database this module itself created, and quoted).
 */
#include "store/store_pg.h"
#include "store/store_internal.h"
#include "store/store_query.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- URLs (also built without libpq) ------------------------------------------------------- */

bool ostel_store_is_url(const char *path)
{
    return path &&
           (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0);
}

char *ostel_store_redact_url(const char *path)
{
    if (!ostel_store_is_url(path))
        return ostel_xstrdup(path);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    const char *p = strstr(path, "://") + 3;
    ostel_buf_append(&b, path, (size_t)(p - path));
    size_t auth_len = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (p[i] == '@')
            at = p + i;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            ostel_buf_append(&b, p, (size_t)(colon - p));
            ostel_buf_puts(&b, ":***");
            p = at;
        }
    }
    /* the rest, with every password=… parameter's value hidden */
    const char *q = strchr(p, '?');
    if (!q) {
        ostel_buf_puts(&b, p);
        return ostel_buf_detach(&b);
    }
    ostel_buf_append(&b, p, (size_t)(q - p));
    while (*q) {
        ostel_buf_putc(&b, *q++); /* '?' or '&' */
        size_t n = strcspn(q, "&");
        if (strncmp(q, "password=", 9) == 0)
            ostel_buf_puts(&b, "password=***");
        else
            ostel_buf_append(&b, q, n);
        q += n;
    }
    return ostel_buf_detach(&b);
}

#ifndef OSTEL_HAVE_LIBPQ

int ostel_store_pg_open(const char *url, int flags, struct ostel_store **out)
{
    (void)url;
    (void)flags;
    *out = NULL;
    return ostel_error("this ostel was built without PostgreSQL support (install libpq-dev and "
                       "rebuild)");
}
/* Never reached: no handle has `pg` set in a build without libpq. */
#define UNREACHABLE                                                                                \
    do {                                                                                           \
        OSTEL_ASSERT(!"postgres backend without libpq");                                           \
        return OSTEL_ERR;                                                                          \
    } while (0)
void ostel_store_pg_close(struct ostel_store *s)
{
    (void)s;
}
int ostel_store_pg_schema_version(struct ostel_store *s)
{
    UNREACHABLE;
}
int ostel_store_pg_insert_study(struct ostel_store *s, const char *n, const char *d, size_t l,
                                int64_t *id)
{
    UNREACHABLE;
}
int ostel_store_pg_run_begin(struct ostel_store *s)
{
    UNREACHABLE;
}
int ostel_store_pg_run_add_dir(struct ostel_store *s, const char *d,
                               const struct ostel_store_import_opts *o, int64_t *id)
{
    UNREACHABLE;
}
int ostel_store_pg_run_commit(struct ostel_store *s)
{
    UNREACHABLE;
}
void ostel_store_pg_run_rollback(struct ostel_store *s)
{
    (void)s;
}
int ostel_store_pg_run_is_complete(struct ostel_store *s, int64_t st, const char *h)
{
    UNREACHABLE;
}
int ostel_store_pg_list_runs(struct ostel_store *s, int64_t st, const char *t, int64_t **ids,
                             size_t *n)
{
    UNREACHABLE;
}
int ostel_store_pg_load_run(struct ostel_store *s, int64_t id, struct ostel_store_run_record *o)
{
    UNREACHABLE;
}
int ostel_store_pg_each_report_run(struct ostel_store *s, int64_t st, const char *t,
                                   int (*fn)(void *, const struct ostel_store_report_run *),
                                   void *ctx)
{
    UNREACHABLE;
}
int ostel_store_pg_each_report_sample(struct ostel_store *s, int64_t st, const char *t,
                                      int (*fn)(void *, const struct ostel_store_report_sample *),
                                      void *ctx)
{
    UNREACHABLE;
}
int ostel_store_pg_export(struct ostel_store *s, const char *t, enum ostel_store_format fmt,
                          int64_t id, FILE *f)
{
    UNREACHABLE;
}
int ostel_store_pg_count_rows(struct ostel_store *s, const char *t, int64_t *n)
{
    UNREACHABLE;
}
int ostel_store_pg_check_integrity(struct ostel_store *s)
{
    UNREACHABLE;
}
int ostel_store_pg_print_info(struct ostel_store *s, FILE *f)
{
    UNREACHABLE;
}
int ostel_store_pg_find_study(struct ostel_store *s, const char *k, int64_t *id)
{
    UNREACHABLE;
}
int ostel_store_pg_study_by_name(struct ostel_store *s, const char *n, int64_t *id, char **d)
{
    UNREACHABLE;
}
int ostel_store_pg_study_lock(struct ostel_store *s, const char *n)
{
    UNREACHABLE;
}
int ostel_store_pg_study_unlock(struct ostel_store *s, bool c)
{
    UNREACHABLE;
}
int ostel_store_pg_shard_begin(struct ostel_store *s, int64_t id, int k, int n, const char *h,
                               int p, const char *ph)
{
    UNREACHABLE;
}
int ostel_store_pg_shard_finish(struct ostel_store *s, int64_t id, int k, int d)
{
    UNREACHABLE;
}
int ostel_store_pg_list_shards(struct ostel_store *s, int64_t id, struct ostel_store_shard **r,
                               size_t *n)
{
    UNREACHABLE;
}

#else

#include <libpq-fe.h>

/* Type OIDs of the columns this schema uses (pg_type.h; stable across releases). */
#define PG_INT8OID 20
#define PG_INT4OID 23
#define PG_FLOAT8OID 701

struct ostel_store_pg {
    PGconn *conn;
    char *password;          /* to scrub from messages; NULL when none */
    struct ostel_store *mem; /* SQLite in memory: parses a run directory into rows */
    bool staged;             /* the temporary staging tables exist on this connection */
};

/* ---- schema ------------------------------------------------------------------------------- */

/*
 * pg_migrations[i] takes a database from version i to i+1, step for step the same logical schema
 * as store.c's migrations[] (INTEGER → BIGINT, REAL → DOUBLE PRECISION, INTEGER PRIMARY KEY → an
 * identity). Append only, in step with migrations[].
 */
static const char *const pg_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE machines("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " hostname TEXT, os TEXT, cpu_model TEXT, cpu_cores BIGINT, ram_mib BIGINT,"
    " first_seen_ts DOUBLE PRECISION, last_seen_ts DOUBLE PRECISION);"
    "CREATE TABLE studies("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " name TEXT, definition TEXT NOT NULL, definition_hash TEXT NOT NULL UNIQUE,"
    " created_at TEXT NOT NULL);"
    "CREATE TABLE runs("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " run_key TEXT NOT NULL UNIQUE,"
    " study_id BIGINT REFERENCES studies(id),"
    " machine_id BIGINT REFERENCES machines(id),"
    " spec_hash TEXT, run_dir TEXT NOT NULL, imported_at TEXT NOT NULL,"
    " kernel TEXT, llama_version TEXT,"
    " tag TEXT, status TEXT NOT NULL, exit_code BIGINT, signal TEXT, oom_killed BIGINT,"
    " start_ts DOUBLE PRECISION, end_ts DOUBLE PRECISION, wall_s DOUBLE PRECISION,"
    " tool TEXT, model TEXT, ctx BIGINT, gen BIGINT, scenario TEXT, repetition BIGINT,"
    " ostel_version TEXT,"
    " samples BIGINT, interval_ms DOUBLE PRECISION, interval_ms_mean DOUBLE PRECISION,"
    " interval_ms_p99 DOUBLE PRECISION,"
    " load_ms DOUBLE PRECISION, prompt_tokens BIGINT, prompt_ms DOUBLE PRECISION,"
    " prompt_tok_s DOUBLE PRECISION,"
    " gen_tokens BIGINT, gen_ms DOUBLE PRECISION, gen_tok_s DOUBLE PRECISION,"
    " rss_peak_mib DOUBLE PRECISION, rss_anon_peak_mib DOUBLE PRECISION,"
    " rss_file_peak_mib DOUBLE PRECISION, swap_peak_mib DOUBLE PRECISION,"
    " cpu_mean_pct DOUBLE PRECISION, majflt BIGINT, pageouts BIGINT, swapouts BIGINT,"
    " pressure_worst BIGINT, avail_min_pct DOUBLE PRECISION,"
    " summary_json TEXT NOT NULL, config_text TEXT, metrics_header TEXT NOT NULL);"
    "CREATE INDEX runs_spec_hash ON runs(spec_hash);"
    "CREATE INDEX runs_study ON runs(study_id);"
    "CREATE TABLE samples("
    " run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL,"
    " ts DOUBLE PRECISION NOT NULL, rss_mb DOUBLE PRECISION, cpu_pct DOUBLE PRECISION,"
    " vm_pressure_flag BIGINT, avail_mem_level DOUBLE PRECISION, pageins_delta BIGINT,"
    " pageouts_delta BIGINT, phase TEXT,"
    " rss_anon_mb DOUBLE PRECISION, rss_file_mb DOUBLE PRECISION, swap_mb DOUBLE PRECISION,"
    " minflt_delta BIGINT, majflt_delta BIGINT, threads BIGINT, sys_avail_mb DOUBLE PRECISION,"
    " swapin_delta BIGINT, swapout_delta BIGINT, psi_some_pct DOUBLE PRECISION,"
    " psi_full_pct DOUBLE PRECISION, extra TEXT,"
    " PRIMARY KEY(run_id, seq));"
    /* the PHASE STATS with an SQL type in rundir_phase_stats.h's table, in its order, REAL as
     * DOUBLE PRECISION and INTEGER as BIGINT (test_pg_store checks them against SQLite's); the
     * rows are copied from SQLite's (store.c) */
    "CREATE TABLE phase_summaries("
    " run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " phase TEXT NOT NULL,"
    " start_ts DOUBLE PRECISION, end_ts DOUBLE PRECISION, duration_s DOUBLE PRECISION,"
    " samples BIGINT, rss_peak_mib DOUBLE PRECISION, rss_mean_mib DOUBLE PRECISION,"
    " rss_anon_peak_mib DOUBLE PRECISION, rss_file_peak_mib DOUBLE PRECISION,"
    " cpu_mean_pct DOUBLE PRECISION, cpu_peak_pct DOUBLE PRECISION, pageins BIGINT,"
    " pageouts BIGINT, majflt BIGINT, minflt BIGINT, swapins BIGINT, swapouts BIGINT,"
    " pressure_worst BIGINT, avail_min_pct DOUBLE PRECISION, sys_avail_min_mib DOUBLE PRECISION,"
    " psi_some_max_pct DOUBLE PRECISION, psi_full_max_pct DOUBLE PRECISION,"
    " swap_peak_mib DOUBLE PRECISION, threads_peak BIGINT,"
    " PRIMARY KEY(run_id, phase));"
    "CREATE TABLE scenarios("
    " run_id BIGINT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, definition TEXT, telemetry_json TEXT,"
    " rss_peak_mib DOUBLE PRECISION, cpu_mean_pct DOUBLE PRECISION);"
    "CREATE TABLE memory_breakdown("
    " run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL,"
    " device TEXT NOT NULL, description TEXT,"
    " total_mib BIGINT, free_mib BIGINT, self_mib BIGINT, model_mib BIGINT,"
    " context_mib BIGINT, compute_mib BIGINT, unaccounted_mib BIGINT,"
    " PRIMARY KEY(run_id, seq));",
    /* 1 -> 2 */
    "ALTER TABLE scenarios ADD COLUMN kind TEXT;"
    "ALTER TABLE scenarios ADD COLUMN asked_mib DOUBLE PRECISION;"
    "ALTER TABLE scenarios ADD COLUMN held_mib_at_start DOUBLE PRECISION;"
    "ALTER TABLE scenarios ADD COLUMN ready_s DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN ostel_cpu_ms DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN ostel_cpu_us_per_sample DOUBLE PRECISION;"
    "UPDATE scenarios s SET kind = j->>'kind', asked_mib = (j->>'asked_mib')::float8,"
    " held_mib_at_start = (j->>'held_mib_at_start')::float8, ready_s = (j->>'ready_s')::float8"
    " FROM (SELECT id, summary_json::jsonb->'scenario' AS j FROM runs) r"
    " WHERE r.id = s.run_id AND jsonb_typeof(r.j) = 'object';"
    "UPDATE runs SET ostel_cpu_ms = (summary_json::jsonb#>>'{telemetry,ostel_cpu,ms}')::float8,"
    " ostel_cpu_us_per_sample ="
    "  (summary_json::jsonb#>>'{telemetry,ostel_cpu,us_per_sample}')::float8;",
    /* 2 -> 3 */
    "ALTER TABLE machines ADD COLUMN kernel TEXT;"
    "ALTER TABLE machines ADD COLUMN arch TEXT;"
    "ALTER TABLE machines ADD COLUMN gpu TEXT;"
    "CREATE TABLE study_shards("
    " study_id BIGINT NOT NULL REFERENCES studies(id),"
    " shard BIGINT NOT NULL, shards BIGINT NOT NULL,"
    " hostname TEXT, planned BIGINT, done BIGINT, started_at TEXT, finished_at TEXT,"
    " plan_hash TEXT,"
    " PRIMARY KEY(study_id, shard));",
    /* 3 -> 4 */
    "CREATE TABLE quality("
    " run_id BIGINT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL, quality_key TEXT, ok BIGINT, error TEXT,"
    " base_model TEXT, base_tag TEXT, file_type TEXT, text TEXT, text_fnv TEXT,"
    " text_tokens BIGINT, ctx BIGINT, batch BIGINT, ubatch BIGINT, chunks BIGINT,"
    " scored_tokens BIGINT, synthetic BIGINT,"
    " ppl DOUBLE PRECISION, ppl_stderr DOUBLE PRECISION, ppl_base DOUBLE PRECISION,"
    " ppl_base_stderr DOUBLE PRECISION, ppl_ratio DOUBLE PRECISION,"
    " ppl_ratio_stderr DOUBLE PRECISION, ppl_diff DOUBLE PRECISION,"
    " ppl_diff_stderr DOUBLE PRECISION, ln_ppl_ratio DOUBLE PRECISION,"
    " ln_ppl_ratio_stderr DOUBLE PRECISION, ppl_cor_pct DOUBLE PRECISION,"
    " kld_mean DOUBLE PRECISION, kld_mean_stderr DOUBLE PRECISION, kld_median DOUBLE PRECISION,"
    " kld_p99 DOUBLE PRECISION, kld_p99_9 DOUBLE PRECISION, kld_max DOUBLE PRECISION,"
    " same_top_p_pct DOUBLE PRECISION, same_top_p_stderr DOUBLE PRECISION,"
    " rms_dp_pct DOUBLE PRECISION, rms_dp_stderr DOUBLE PRECISION,"
    " mean_dp_pct DOUBLE PRECISION, mean_dp_stderr DOUBLE PRECISION);",
    /* 4 -> 5 */
    "CREATE TABLE requests("
    " run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL,"
    " level TEXT, warmup BIGINT, req_id BIGINT,"
    " sched_ts DOUBLE PRECISION, send_ts DOUBLE PRECISION, first_ts DOUBLE PRECISION,"
    " end_ts DOUBLE PRECISION, queue_ms DOUBLE PRECISION, ttft_ms DOUBLE PRECISION,"
    " ttft_send_ms DOUBLE PRECISION, e2e_ms DOUBLE PRECISION, e2e_send_ms DOUBLE PRECISION,"
    " itl_mean_ms DOUBLE PRECISION, itl_max_ms DOUBLE PRECISION, tpot_ms DOUBLE PRECISION,"
    " prompt_tokens_asked BIGINT, output_tokens_asked BIGINT, prompt_tokens BIGINT,"
    " completion_tokens BIGINT, chunks BIGINT,"
    " cache_n DOUBLE PRECISION, prompt_n DOUBLE PRECISION, prompt_ms DOUBLE PRECISION,"
    " predicted_n DOUBLE PRECISION, predicted_ms DOUBLE PRECISION,"
    " http_status BIGINT, ok BIGINT, error TEXT,"
    " PRIMARY KEY(run_id, seq));"
    "CREATE TABLE serve_levels("
    " run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL,"
    " name TEXT, kind TEXT, value DOUBLE PRECISION, requests BIGINT, completed BIGINT,"
    " failed BIGINT, stopped_early TEXT, duration_s DOUBLE PRECISION,"
    " request_throughput DOUBLE PRECISION, output_tokens_per_s DOUBLE PRECISION,"
    " goodput DOUBLE PRECISION, ttft_p50_ms DOUBLE PRECISION, ttft_p99_ms DOUBLE PRECISION,"
    " itl_p50_ms DOUBLE PRECISION, itl_p99_ms DOUBLE PRECISION, tpot_p50_ms DOUBLE PRECISION,"
    " e2e_p50_ms DOUBLE PRECISION, e2e_p99_ms DOUBLE PRECISION, level_json TEXT,"
    " PRIMARY KEY(run_id, seq));",
    /* 5 -> 6 */
    "CREATE INDEX IF NOT EXISTS runs_tag ON runs(tag, id);",
    /* 6 -> 7 */
    "ALTER TABLE runs ADD COLUMN gpu_backend TEXT;"
    "ALTER TABLE runs ADD COLUMN gpu_generate_energy_j DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN gpu_j_per_token DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN gpu_tokens_per_j DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN gpu_prompt_j_per_token DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN gpu_peak_proc_mem_mib DOUBLE PRECISION;"
    "ALTER TABLE runs ADD COLUMN gpu_vram_beyond_llama_mib DOUBLE PRECISION;"
    "UPDATE runs SET gpu_backend = j->>'backend',"
    " gpu_generate_energy_j = (j#>>'{run,generate_energy_j}')::float8,"
    " gpu_j_per_token = (j#>>'{run,j_per_token}')::float8,"
    " gpu_tokens_per_j = (j#>>'{run,tokens_per_j}')::float8,"
    " gpu_prompt_j_per_token = (j#>>'{run,prompt_j_per_token}')::float8,"
    " gpu_peak_proc_mem_mib = (j#>>'{run,peak_proc_mem_mb}')::float8,"
    " gpu_vram_beyond_llama_mib = (j#>>'{run,vram_beyond_llama_mb}')::float8"
    " FROM (SELECT id AS rid, summary_json::jsonb->'gpu' AS j FROM runs) g"
    " WHERE g.rid = runs.id AND jsonb_typeof(g.j) = 'object';",
    /* 7 -> 8: one row per run of a study (the first stored of any duplicates is kept) */
    "DELETE FROM runs r USING runs o"
    " WHERE r.study_id IS NOT NULL AND r.spec_hash IS NOT NULL"
    "  AND r.status IN ('ok','failed','killed','timeout')"
    "  AND o.study_id = r.study_id AND o.spec_hash = r.spec_hash"
    "  AND o.repetition = r.repetition AND o.status IN ('ok','failed','killed','timeout')"
    "  AND o.id < r.id;"
    "CREATE UNIQUE INDEX IF NOT EXISTS runs_one_per_spec ON runs(study_id, spec_hash, repetition)"
    " WHERE study_id IS NOT NULL AND spec_hash IS NOT NULL"
    "  AND status IN ('ok','failed','killed','timeout');",
};
_Static_assert(sizeof(pg_migrations) / sizeof(pg_migrations[0]) == OSTEL_STORE_SCHEMA_VERSION,
               "one PostgreSQL migration per schema version (in step with store.c's migrations)");

/* The tables a run fills, in insert order (run_id refers to runs.id). */
static const char *const run_tables[] = {"samples",     "phase_summaries", "memory_breakdown",
                                         "scenarios",   "quality",         "requests",
                                         "serve_levels"};

/* ---- errors --------------------------------------------------------------------------------- */

/* libpq's message, first line, the password (if any) replaced by ***; into out. */
static void pg_message(const struct ostel_store_pg *pg, const char *msg, char *out, size_t n)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    if (!msg || !*msg)
        msg = "unknown error";
    size_t len = strcspn(msg, "\n");
    size_t pl = pg && pg->password ? strlen(pg->password) : 0;
    for (size_t i = 0; i < len;) {
        if (pl && i + pl <= len && memcmp(msg + i, pg->password, pl) == 0) {
            ostel_buf_puts(&b, "***");
            i += pl;
        } else {
            ostel_buf_putc(&b, msg[i++]);
        }
    }
    snprintf(out, n, "%s", b.len ? b.data : "unknown error");
    ostel_buf_free(&b);
}

static int pg_error(struct ostel_store *s, const char *what, const PGresult *res)
{
    char m[512];
    const char *raw = res ? PQresultErrorMessage(res) : NULL;
    if (!raw || !*raw)
        raw = PQerrorMessage(s->pg->conn);
    pg_message(s->pg, raw, m, sizeof(m));
    /* "ERROR:  …": drop libpq's severity prefix, our error line has its own */
    const char *p = m;
    if (strncmp(p, "ERROR:  ", 8) == 0)
        p += 8;
    else if (strncmp(p, "FATAL:  ", 8) == 0)
        p += 8;
    return ostel_error("%s: %s: %s", s->path, what, p);
}

/* Runs sql with no parameters; OSTEL_OK when the server answers `want`. */
static int pg_exec(struct ostel_store *s, const char *sql, const char *what)
{
    PGresult *r = PQexec(s->pg->conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    int rc = ok ? OSTEL_OK : pg_error(s, what, r);
    PQclear(r);
    return rc;
}

/* PQexecParams with text parameters (NULL = SQL NULL). The caller PQclear()s; NULL after an
 * error was printed. */
static PGresult *pg_query(struct ostel_store *s, const char *sql, int n, const char *const *v,
                          const char *what)
{
    PGresult *r = PQexecParams(s->pg->conn, sql, n, NULL, v, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_error(s, what, r);
        PQclear(r);
        return NULL;
    }
    return r;
}

static char *get_dup(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : ostel_xstrdup(PQgetvalue(r, row, col));
}

/* ---- open / close / migrate ---------------------------------------------------------------- */

static int pg_user_version(struct ostel_store *s)
{
    PGresult *r = pg_query(s, "SELECT version FROM ostel_schema", 0, NULL, "reading the schema");
    if (!r)
        return OSTEL_ERR;
    int v = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v < 0 ? ostel_error("%s: the schema version table is damaged", s->path) : v;
}

/* Creates or upgrades the schema under an advisory lock: one writer migrates, the others wait
 * for it and then find nothing to do. */
static int pg_migrate(struct ostel_store *s, bool readonly)
{
    PGresult *r = pg_query(s, "SELECT to_regclass('ostel_schema') IS NOT NULL", 0, NULL,
                           "reading the schema");
    if (!r)
        return OSTEL_ERR;
    bool have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    int v = have ? pg_user_version(s) : 0;
    if (v < 0)
        return OSTEL_ERR;
    if (v > OSTEL_STORE_SCHEMA_VERSION)
        return ostel_error("%s: schema version %d is newer than this ostel understands (%d)",
                           s->path, v, OSTEL_STORE_SCHEMA_VERSION);
    if (v == OSTEL_STORE_SCHEMA_VERSION)
        return OSTEL_OK;
    if (readonly)
        return have ? OSTEL_OK
                    : ostel_error("%s: not an ostel database (no ostel tables)", s->path);
    if (pg_exec(s, "BEGIN", "upgrading the schema") != OSTEL_OK)
        return OSTEL_ERR;
    /* 0x6f7374656c = "ostel" */
    if (pg_exec(s, "SELECT pg_advisory_xact_lock(478560118124)", "upgrading the schema") ||
        pg_exec(s, "CREATE TABLE IF NOT EXISTS ostel_schema(version INTEGER NOT NULL)",
                "upgrading the schema"))
        goto fail;
    r = pg_query(s, "SELECT version FROM ostel_schema", 0, NULL, "upgrading the schema");
    if (!r)
        goto fail;
    v = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    bool empty = PQntuples(r) == 0;
    PQclear(r);
    if (empty && pg_exec(s, "INSERT INTO ostel_schema VALUES(0)", "upgrading the schema"))
        goto fail;
    for (; v < OSTEL_STORE_SCHEMA_VERSION; v++) {
        char num[16];
        snprintf(num, sizeof(num), "%d", v + 1);
        const char *p[1] = {num};
        if (pg_exec(s, pg_migrations[v], "upgrading the schema"))
            goto fail;
        r = pg_query(s, "UPDATE ostel_schema SET version=$1::int", 1, p, "upgrading the schema");
        if (!r)
            goto fail;
        PQclear(r);
    }
    if (pg_exec(s, "COMMIT", "upgrading the schema"))
        goto fail;
    return OSTEL_OK;
fail:
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
    return ostel_error("%s: cannot upgrade the schema", s->path);
}

/* Silences the server's NOTICE lines (CREATE … IF NOT EXISTS says "already exists"). */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int ostel_store_pg_open(const char *url, int flags, struct ostel_store **out)
{
    *out = NULL;
    struct ostel_store *s = ostel_xcalloc(1, sizeof(*s));
    s->path = ostel_store_redact_url(url);
    s->readonly = (flags & OSTEL_STORE_OPEN_READONLY) != 0;
    s->pg = ostel_xcalloc(1, sizeof(*s->pg));
    /* The URL is parsed by libpq (expand_dbname); a connect timeout unless the URL sets one. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, strstr(url, "connect_timeout=") ? NULL : "10", "ostel", NULL};
    if (!vals[1]) {
        keys[1] = "application_name";
        vals[1] = "ostel";
        keys[2] = NULL;
    }
    s->pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->pg->conn) {
        ostel_error("%s: out of memory", s->path);
        goto fail;
    }
    PQconninfoOption *info = PQconninfo(s->pg->conn);
    for (PQconninfoOption *o = info; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            s->pg->password = ostel_xstrdup(o->val);
    PQconninfoFree(info);
    /* a password in the URL, even one the server rejected, is scrubbed too */
    if (PQstatus(s->pg->conn) != CONNECTION_OK) {
        char m[512];
        pg_message(s->pg, PQerrorMessage(s->pg->conn), m, sizeof(m));
        ostel_error("cannot connect to database %s: %s", s->path, m);
        goto fail;
    }
    PQsetNoticeProcessor(s->pg->conn, pg_notice, NULL);
    if (pg_exec(s, "SET client_min_messages=warning", "configuring the session") ||
        pg_migrate(s, s->readonly) != OSTEL_OK)
        goto fail;
    *out = s;
    return OSTEL_OK;
fail:
    ostel_store_pg_close(s);
    free(s->path);
    free(s);
    return OSTEL_ERR;
}

/* Frees what ostel_store_pg_open made (store.c's close frees the handle itself). */
void ostel_store_pg_close(struct ostel_store *s)
{
    if (!s || !s->pg)
        return;
    if (s->in_tx)
        ostel_store_pg_run_rollback(s);
    ostel_store_close(s->pg->mem);
    if (s->pg->conn)
        PQfinish(s->pg->conn);
    free(s->pg->password);
    free(s->pg);
    s->pg = NULL;
}

int ostel_store_pg_schema_version(struct ostel_store *s)
{
    return pg_user_version(s);
}

/* ---- studies -------------------------------------------------------------------------------- */

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ostel_store_pg_insert_study(struct ostel_store *s, const char *name, const char *definition,
                                size_t len, int64_t *study_id)
{
    char hash[17], now[32];
    ostel_store_hash_hex(definition, len, hash);
    now_iso(now);
    char *def = ostel_xstrndup(definition, len);
    const char *p[4] = {name, def, hash, now};
    PGresult *r = pg_query(s,
                           "INSERT INTO studies(name, definition, definition_hash, created_at) "
                           "VALUES($1,$2,$3,$4) ON CONFLICT(definition_hash) DO NOTHING",
                           4, p, "recording the study");
    free(def);
    if (!r)
        return OSTEL_ERR;
    PQclear(r);
    r = pg_query(s, "SELECT id FROM studies WHERE definition_hash=$1", 1, p + 2,
                 "recording the study");
    if (!r)
        return OSTEL_ERR;
    int rc = PQntuples(r) == 1 ? OSTEL_OK : ostel_error("%s: the study vanished", s->path);
    if (rc == OSTEL_OK)
        *study_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/* The advisory lock's key: class 0x6f73 ("os") and the name's hash, apart from the schema lock's
 * one-key number (pg_advisory_xact_lock(int4, int4) and (int8) do not collide). */
int ostel_store_pg_study_lock(struct ostel_store *s, const char *name)
{
    if (pg_exec(s, "BEGIN", "recording the study") != OSTEL_OK)
        return OSTEL_ERR;
    const char *p[1] = {name ? name : ""};
    PGresult *r = pg_query(s, "SELECT pg_advisory_xact_lock(28531, hashtext($1))", 1, p,
                           "recording the study");
    if (!r) {
        PQclear(PQexec(s->pg->conn, "ROLLBACK"));
        return OSTEL_ERR;
    }
    PQclear(r);
    return OSTEL_OK;
}

int ostel_store_pg_study_unlock(struct ostel_store *s, bool commit)
{
    if (commit)
        return pg_exec(s, "COMMIT", "recording the study");
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
    return OSTEL_OK;
}

int ostel_store_pg_study_by_name(struct ostel_store *s, const char *name, int64_t *study_id,
                                 char **definition)
{
    *study_id = 0;
    *definition = NULL;
    const char *p[1] = {name};
    PGresult *r =
        pg_query(s, "SELECT id, definition FROM studies WHERE name=$1 ORDER BY id LIMIT 1", 1, p,
                 "looking up a study");
    if (!r)
        return OSTEL_ERR;
    int found = PQntuples(r) > 0;
    if (found) {
        *study_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *definition = get_dup(r, 0, 1);
    }
    PQclear(r);
    return found;
}

int ostel_store_pg_find_study(struct ostel_store *s, const char *key, int64_t *study_id)
{
    *study_id = 0;
    size_t n = strlen(key);
    bool digits = n > 0 && n <= 18 && strspn(key, "0123456789") == n;
    const char *p[1] = {key};
    PGresult *r = pg_query(s,
                           digits ? "SELECT id FROM studies WHERE id=$1::bigint OR name=$1 "
                                    "ORDER BY (id::text=$1) DESC, id"
                                  : "SELECT id FROM studies WHERE name=$1 ORDER BY id",
                           1, p, "looking up a study");
    if (!r)
        return OSTEL_ERR;
    int rows = PQntuples(r);
    int rc = OSTEL_OK;
    if (rows == 0)
        rc = ostel_error("%s: no study '%s'", s->path, key);
    else if (rows > 1 && !(digits && strcmp(PQgetvalue(r, 0, 0), key) == 0))
        rc = ostel_error("%s: %d studies are named '%s'; give its id", s->path, rows, key);
    else
        *study_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/* ---- shards --------------------------------------------------------------------------------- */

int ostel_store_pg_shard_begin(struct ostel_store *s, int64_t study_id, int shard, int shards,
                               const char *hostname, int planned, const char *plan_hash)
{
    char sid[24], k[16], n[16], pl[16], now[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)study_id);
    snprintf(k, sizeof(k), "%d", shard);
    snprintf(n, sizeof(n), "%d", shards);
    snprintf(pl, sizeof(pl), "%d", planned);
    now_iso(now);
    const char *p[5] = {sid, n, k, hostname, pl};
    PGresult *r = pg_query(s,
                           "SELECT DISTINCT shards FROM study_shards WHERE study_id=$1::bigint AND "
                           "shards<>$2::bigint",
                           2, p, "recording the shard");
    if (!r)
        return OSTEL_ERR;
    if (PQntuples(r) > 0) {
        int rc = ostel_error("%s: this study was started as %s shards, not %d: run every shard "
                             "with the same N",
                             s->path, PQgetvalue(r, 0, 0), shards);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    const char *h[2] = {sid, plan_hash};
    r = pg_query(s,
                 "SELECT shard FROM study_shards WHERE study_id=$1::bigint AND plan_hash<>$2 "
                 "LIMIT 1",
                 2, h, "recording the shard");
    if (!r)
        return OSTEL_ERR;
    if (PQntuples(r) > 0) {
        int rc = ostel_error("%s: shard %s of this study split the runs differently (the model "
                             "files differ between machines?): every shard must see the same files",
                             s->path, PQgetvalue(r, 0, 0));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    const char *q[7] = {sid, k, n, hostname, pl, now, plan_hash};
    r = pg_query(s,
                 "INSERT INTO study_shards(study_id, shard, shards, hostname, planned, done, "
                 "started_at, plan_hash) VALUES($1::bigint,$2::bigint,$3::bigint,$4,$5::bigint,0,"
                 "$6,$7) ON CONFLICT(study_id, shard) DO UPDATE SET hostname=EXCLUDED.hostname, "
                 "planned=EXCLUDED.planned, started_at=EXCLUDED.started_at, finished_at=NULL",
                 7, q, "recording the shard");
    if (!r)
        return OSTEL_ERR;
    PQclear(r);
    return OSTEL_OK;
}

int ostel_store_pg_shard_finish(struct ostel_store *s, int64_t study_id, int shard, int done)
{
    char sid[24], k[16], d[16], now[32];
    snprintf(sid, sizeof(sid), "%lld", (long long)study_id);
    snprintf(k, sizeof(k), "%d", shard);
    snprintf(d, sizeof(d), "%d", done);
    now_iso(now);
    const char *p[4] = {sid, k, d, now};
    PGresult *r = pg_query(s,
                           "UPDATE study_shards SET done=$3::bigint, finished_at=$4 "
                           "WHERE study_id=$1::bigint AND shard=$2::bigint",
                           4, p, "recording the shard");
    if (!r)
        return OSTEL_ERR;
    PQclear(r);
    return OSTEL_OK;
}

int ostel_store_pg_list_shards(struct ostel_store *s, int64_t study_id,
                               struct ostel_store_shard **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)study_id);
    const char *p[1] = {sid};
    PGresult *r = pg_query(s,
                           "SELECT shard, shards, hostname, planned, done, started_at, "
                           "finished_at FROM study_shards WHERE study_id=$1::bigint ORDER BY shard",
                           1, p, "listing shards");
    if (!r)
        return OSTEL_ERR;
    int k = PQntuples(r);
    if (k > 0)
        *rows = ostel_xcalloc((size_t)k, sizeof(**rows));
    for (int i = 0; i < k; i++) {
        struct ostel_store_shard *x = &(*rows)[i];
        x->shard = atoi(PQgetvalue(r, i, 0));
        x->shards = atoi(PQgetvalue(r, i, 1));
        x->hostname = get_dup(r, i, 2);
        x->planned = PQgetisnull(r, i, 3) ? -1 : atoi(PQgetvalue(r, i, 3));
        x->done = PQgetisnull(r, i, 4) ? -1 : atoi(PQgetvalue(r, i, 4));
        x->started_at = get_dup(r, i, 5);
        x->finished_at = get_dup(r, i, 6);
    }
    *n = (size_t)k;
    PQclear(r);
    return OSTEL_OK;
}

/* ---- one run's transaction ------------------------------------------------------------------ */

int ostel_store_pg_run_begin(struct ostel_store *s)
{
    OSTEL_ASSERT(!s->in_tx);
    if (s->readonly)
        return ostel_error("%s: opened read-only", s->path);
    if (!s->pg->mem && ostel_store_open(":memory:", 0, &s->pg->mem) != OSTEL_OK)
        return OSTEL_ERR;
    if (pg_exec(s, "BEGIN", "starting a transaction") != OSTEL_OK)
        return OSTEL_ERR;
    s->in_tx = true;
    if (!s->pg->staged) {
        /* staging tables: the target's columns, no constraints, emptied at every commit */
        static const char *const stage[] = {
            "runs",      "machines", "samples",  "phase_summaries", "memory_breakdown",
            "scenarios", "quality",  "requests", "serve_levels"};
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(stage); i++) {
            char *sql = ostel_xasprintf("CREATE TEMP TABLE IF NOT EXISTS stage_%s ON COMMIT "
                                        "DELETE ROWS AS SELECT * FROM %s WITH NO DATA",
                                        stage[i], stage[i]);
            int rc = pg_exec(s, sql, "creating the staging tables");
            free(sql);
            if (rc != OSTEL_OK) {
                ostel_store_pg_run_rollback(s);
                return OSTEL_ERR;
            }
        }
        s->pg->staged = true;
    }
    if (ostel_store_run_begin(s->pg->mem) != OSTEL_OK) {
        ostel_store_pg_run_rollback(s);
        return OSTEL_ERR;
    }
    return OSTEL_OK;
}

int ostel_store_pg_run_commit(struct ostel_store *s)
{
    OSTEL_ASSERT(s->in_tx);
    ostel_store_run_rollback(s->pg->mem); /* the in-memory rows were only a parse */
    PGresult *r = PQexec(s->pg->conn, "COMMIT");
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? OSTEL_OK : pg_error(s, "committing", r);
    PQclear(r);
    s->in_tx = false;
    return rc;
}

void ostel_store_pg_run_rollback(struct ostel_store *s)
{
    if (!s->in_tx)
        return;
    if (s->pg->mem)
        ostel_store_run_rollback(s->pg->mem);
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
    s->in_tx = false;
    /* a staging table made in a rolled-back transaction is gone */
    s->pg->staged = false;
}

/* Appends one SQLite value as a COPY text field (\N for NULL; \\ \t \n \r escaped). */
static void copy_field(struct ostel_buf *b, sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        ostel_buf_puts(b, "\\N");
        return;
    case SQLITE_INTEGER:
        ostel_buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, i));
        return;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        char tmp[40];
        snprintf(tmp, sizeof(tmp), "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof(tmp), "%.17g", v);
        ostel_buf_puts(b, tmp);
        return;
    }
    default: {
        const unsigned char *t = sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        for (int k = 0; t && k < n; k++) {
            unsigned char c = t[k];
            if (c == '\\')
                ostel_buf_puts(b, "\\\\");
            else if (c == '\t')
                ostel_buf_puts(b, "\\t");
            else if (c == '\n')
                ostel_buf_puts(b, "\\n");
            else if (c == '\r')
                ostel_buf_puts(b, "\\r");
            else
                ostel_buf_putc(b, (char)c);
        }
    }
    }
}

/* Sends buffered COPY data once it is large, or at the end (final). */
static int copy_flush(struct ostel_store *s, struct ostel_buf *b, bool final)
{
    if (b->len && (final || b->len >= (1u << 20))) {
        if (PQputCopyData(s->pg->conn, b->data, (int)b->len) != 1)
            return pg_error(s, "sending rows", NULL);
        ostel_buf_reset(b);
    }
    return OSTEL_OK;
}

/*
 * COPY the rows of `select` (over the in-memory database, one int64 parameter) into
 * stage_<table>, skipping column `skip` (NULL: none). The column names (quoted) go into *cols.
 * Returns the number of rows, or OSTEL_ERR.
 */
static long copy_rows(struct ostel_store *s, const char *table, const char *select, int64_t arg,
                      const char *skip, struct ostel_buf *cols)
{
    struct ostel_store *mem = s->pg->mem;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(mem->db, select, -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(mem, "reading the parsed run");
    sqlite3_bind_int64(st, 1, arg);
    int ncol = sqlite3_column_count(st);
    bool *use = ostel_xcalloc((size_t)ncol, sizeof(*use));
    ostel_buf_reset(cols);
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(st, i);
        use[i] = !skip || strcmp(name, skip) != 0;
        if (use[i])
            ostel_buf_printf(cols, "%s\"%s\"", cols->len ? "," : "", name);
    }
    char *sql = ostel_xasprintf("COPY stage_%s(%s) FROM STDIN", table, cols->data);
    PGresult *r = PQexec(s->pg->conn, sql);
    free(sql);
    long rows = 0;
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        pg_error(s, "starting COPY", r);
        PQclear(r);
        rows = OSTEL_ERR;
        goto out;
    }
    PQclear(r);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool first = true;
        for (int i = 0; i < ncol; i++) {
            if (!use[i])
                continue;
            if (!first)
                ostel_buf_putc(&b, '\t');
            first = false;
            copy_field(&b, st, i);
        }
        ostel_buf_putc(&b, '\n');
        rows++;
        if (copy_flush(s, &b, false) != OSTEL_OK)
            break;
    }
    bool ok = rc == SQLITE_DONE && copy_flush(s, &b, true) == OSTEL_OK;
    ostel_buf_free(&b);
    if (PQputCopyEnd(s->pg->conn, ok ? NULL : "ostel stopped the copy") != 1)
        ok = false;
    while ((r = PQgetResult(s->pg->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
            pg_error(s, "copying rows", r);
            ok = false;
        }
        PQclear(r);
    }
    if (!ok) {
        if (rc != SQLITE_DONE)
            ostel_store_sql_error(mem, "reading the parsed run");
        rows = OSTEL_ERR;
    }
out:
    free(use);
    sqlite3_finalize(st);
    return rows;
}

/* The machine of the parsed run: upserted by fingerprint; its id in *id (0 when none). */
static int pg_machine(struct ostel_store *s, int64_t mem_mid, int64_t *id)
{
    *id = 0;
    if (mem_mid <= 0)
        return OSTEL_OK;
    struct ostel_buf cols;
    ostel_buf_init(&cols, 0);
    long n = copy_rows(s, "machines", "SELECT * FROM machines WHERE id=?", mem_mid, "id", &cols);
    int rc = OSTEL_ERR;
    if (n < 0)
        goto out;
    /* a known machine first (an INSERT … ON CONFLICT would draw an id from the sequence even
     * when it updates, leaving gaps where SQLite has none) */
    PGresult *r =
        pg_query(s,
                 "UPDATE machines m SET first_seen_ts=LEAST(m.first_seen_ts, x.first_seen_ts), "
                 "last_seen_ts=GREATEST(m.last_seen_ts, x.last_seen_ts), kernel=COALESCE(x.kernel, "
                 "m.kernel), arch=COALESCE(x.arch, m.arch), gpu=COALESCE(x.gpu, m.gpu) "
                 "FROM stage_machines x WHERE m.fingerprint = x.fingerprint RETURNING m.id",
                 0, NULL, "recording the machine");
    if (!r)
        goto out;
    if (PQntuples(r) == 1) {
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        rc = pg_exec(s, "DELETE FROM stage_machines", "recording the machine");
        goto out;
    }
    PQclear(r);
    char *sql = ostel_xasprintf(
        "INSERT INTO machines(%s) SELECT %s FROM stage_machines ON CONFLICT(fingerprint) DO "
        "UPDATE SET first_seen_ts=LEAST(machines.first_seen_ts, EXCLUDED.first_seen_ts), "
        "last_seen_ts=GREATEST(machines.last_seen_ts, EXCLUDED.last_seen_ts), "
        "kernel=COALESCE(EXCLUDED.kernel, machines.kernel), "
        "arch=COALESCE(EXCLUDED.arch, machines.arch), gpu=COALESCE(EXCLUDED.gpu, machines.gpu) "
        "RETURNING id",
        cols.data, cols.data);
    r = pg_query(s, sql, 0, NULL, "recording the machine");
    free(sql);
    if (!r)
        goto out;
    if (PQntuples(r) == 1)
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    rc = pg_exec(s, "DELETE FROM stage_machines", "recording the machine");
out:
    ostel_buf_free(&cols);
    return rc;
}

int ostel_store_pg_run_add_dir(struct ostel_store *s, const char *dir,
                               const struct ostel_store_import_opts *opts, int64_t *run_id)
{
    OSTEL_ASSERT(s->in_tx);
    /* Parse into memory with the SQLite backend's rules (no study there: ids differ). */
    struct ostel_store_import_opts mo = {0, opts ? opts->spec_hash : NULL};
    int64_t mid_run = 0;
    int rc = ostel_store_run_add_dir(s->pg->mem, dir, &mo, &mid_run);
    if (rc != OSTEL_STORE_ADDED)
        return rc < 0 ? rc : ostel_error("'%s': parsed twice", dir);
    struct ostel_store *mem = s->pg->mem;
    sqlite3_stmt *st;
    int64_t mem_mid = 0;
    char *key = NULL;
    if (sqlite3_prepare_v2(mem->db, "SELECT machine_id, run_key FROM runs WHERE id=?", -1, &st,
                           NULL) != SQLITE_OK)
        return ostel_store_sql_error(mem, "reading the parsed run");
    sqlite3_bind_int64(st, 1, mid_run);
    if (sqlite3_step(st) == SQLITE_ROW) {
        mem_mid = sqlite3_column_int64(st, 0);
        key = ostel_xstrdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (!key)
        return ostel_store_sql_error(mem, "reading the parsed run");

    /* Already there? (a cheap check; ON CONFLICT below is what makes a race safe) */
    const char *kp[1] = {key};
    PGresult *r = pg_query(s, "SELECT id FROM runs WHERE run_key=$1", 1, kp, "looking up the run");
    if (!r) {
        free(key);
        return OSTEL_ERR;
    }
    if (PQntuples(r) == 1) {
        if (run_id)
            *run_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        free(key);
        return OSTEL_STORE_ALREADY;
    }
    PQclear(r);
    free(key);

    int64_t pg_mid = 0;
    if (pg_machine(s, mem_mid, &pg_mid) != OSTEL_OK)
        return OSTEL_ERR;
    struct ostel_buf cols;
    ostel_buf_init(&cols, 0);
    rc = OSTEL_ERR;
    if (copy_rows(s, "runs", "SELECT * FROM runs WHERE id=?", mid_run, "id", &cols) != 1)
        goto out;
    char sid[24], mid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)(opts ? opts->study_id : 0));
    snprintf(mid, sizeof(mid), "%lld", (long long)pg_mid);
    const char *ids[2] = {sid, mid};
    char *sql = ostel_xasprintf(
        "WITH s AS (UPDATE stage_runs SET study_id=NULLIF($1::bigint, 0), "
        "machine_id=NULLIF($2::bigint, 0) RETURNING *) "
        "INSERT INTO runs(%s) SELECT %s FROM s ON CONFLICT(run_key) DO NOTHING RETURNING id",
        cols.data, cols.data);
    r = pg_query(s, sql, 2, ids, "inserting the run");
    free(sql);
    if (!r)
        goto out;
    if (PQntuples(r) == 0) {
        /* another writer stored it first (we waited for its commit on the key) */
        PQclear(r);
        rc = OSTEL_STORE_ALREADY;
        goto out;
    }
    char pgid[24];
    snprintf(pgid, sizeof(pgid), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (pg_exec(s, "DELETE FROM stage_runs", "inserting the run"))
        goto out;
    for (size_t t = 0; t < OSTEL_ARRAY_LEN(run_tables); t++) {
        char *sel = ostel_xasprintf("SELECT * FROM %s WHERE run_id=?", run_tables[t]);
        long n = copy_rows(s, run_tables[t], sel, mid_run, "run_id", &cols);
        free(sel);
        if (n < 0)
            goto out;
        if (n == 0)
            continue;
        const char *p[1] = {pgid};
        sql = ostel_xasprintf("INSERT INTO %s(run_id,%s) SELECT $1::bigint,%s FROM stage_%s "
                              "ON CONFLICT DO NOTHING",
                              run_tables[t], cols.data, cols.data, run_tables[t]);
        r = pg_query(s, sql, 1, p, "inserting the run's rows");
        free(sql);
        if (!r)
            goto out;
        PQclear(r);
        sql = ostel_xasprintf("DELETE FROM stage_%s", run_tables[t]);
        int d = pg_exec(s, sql, "inserting the run's rows");
        free(sql);
        if (d)
            goto out;
    }
    if (run_id)
        *run_id = strtoll(pgid, NULL, 10);
    rc = OSTEL_STORE_ADDED;
out:
    ostel_buf_free(&cols);
    return rc;
}

int ostel_store_pg_run_is_complete(struct ostel_store *s, int64_t study_id, const char *spec_hash)
{
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)study_id);
    const char *p[2] = {spec_hash, sid};
    PGresult *r = pg_query(s,
                           "SELECT 1 FROM runs WHERE spec_hash=$1 AND study_id=$2::bigint AND "
                           "status IN ('ok','failed','killed','timeout') LIMIT 1",
                           2, p, "looking up a run");
    if (!r)
        return OSTEL_ERR;
    int found = PQntuples(r) > 0;
    PQclear(r);
    return found;
}

/* ---- reading back --------------------------------------------------------------------------- */

int ostel_store_pg_list_runs(struct ostel_store *s, int64_t study_id, const char *tag,
                             int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)study_id);
    const char *p[2] = {sid, tag};
    PGresult *r = pg_query(s,
                           "SELECT id FROM runs WHERE ($1::bigint <= 0 OR study_id = $1::bigint) "
                           "AND ($2::text IS NULL OR tag = $2::text) ORDER BY id",
                           2, p, "listing runs");
    if (!r)
        return OSTEL_ERR;
    int k = PQntuples(r);
    if (k > 0)
        *ids = ostel_xmalloc((size_t)k * sizeof(**ids));
    for (int i = 0; i < k; i++)
        (*ids)[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    *n = (size_t)k;
    PQclear(r);
    return OSTEL_OK;
}

int ostel_store_pg_load_run(struct ostel_store *s, int64_t id, struct ostel_store_run_record *out)
{
    memset(out, 0, sizeof(*out));
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    const char *p[1] = {sid};
    PGresult *r = pg_query(s,
                           "SELECT run_key, run_dir, summary_json, config_text, metrics_header "
                           "FROM runs WHERE id=$1::bigint",
                           1, p, "reading a run");
    if (!r)
        return OSTEL_ERR;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ostel_error("%s: no run with id %lld", s->path, (long long)id);
    }
    out->id = id;
    out->run_key = get_dup(r, 0, 0);
    out->run_dir = get_dup(r, 0, 1);
    out->summary_json = get_dup(r, 0, 2);
    out->config_text = get_dup(r, 0, 3);
    out->metrics_header = get_dup(r, 0, 4);
    PQclear(r);

    struct ostel_buf q;
    ostel_buf_init(&q, 0);
    ostel_buf_puts(&q, "SELECT phase, extra");
    for (int c = 0; c < OSTEL_COL_COUNT; c++)
        if (ostel_store_col_typed((enum ostel_metric_col)c))
            ostel_buf_printf(&q, ", %s", ostel_metrics_col_name((enum ostel_metric_col)c));
    ostel_buf_puts(&q, " FROM samples WHERE run_id=$1::bigint ORDER BY seq");
    r = pg_query(s, q.data, 1, p, "reading samples");
    ostel_buf_free(&q);
    if (!r) {
        ostel_store_run_record_free(out);
        return OSTEL_ERR;
    }
    int k = PQntuples(r);
    if (k > 0)
        out->samples = ostel_xcalloc((size_t)k, sizeof(*out->samples));
    for (int i = 0; i < k; i++) {
        struct ostel_store_sample *x = &out->samples[i];
        const char *ph = PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0);
        x->row.phase =
            ph ? ostel_metrics_phase_from_name(ostel_str_from_cstr(ph)) : OSTEL_PHASE_NONE;
        x->extra = get_dup(r, i, 1);
        int f = 2;
        for (int c = 0; c < OSTEL_COL_COUNT; c++) {
            if (!ostel_store_col_typed((enum ostel_metric_col)c))
                continue;
            if (!PQgetisnull(r, i, f))
                ostel_metrics_set(&x->row, (enum ostel_metric_col)c,
                                  strtod(PQgetvalue(r, i, f), NULL));
            f++;
        }
    }
    out->nsamples = (size_t)k;
    PQclear(r);
    return OSTEL_OK;
}

/* The report's typed rows (store_query.h's ostel_store_each_report_run and _sample). */
static double pg_num(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NAN : strtod(PQgetvalue(r, i, c), NULL);
}

static const char *pg_text(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

/* Runs the report's statement for this filter (the SQLite backend's, with $N placeholders); sid
 * and p are the caller's room for the values, which must outlive the call only. */
static PGresult *pg_report_query(struct ostel_store *s, bool samples, int64_t study_id,
                                 const char *tag, char sid[24], const char *p[2])
{
    int n = 0;
    if (study_id > 0) {
        snprintf(sid, 24, "%lld", (long long)study_id);
        p[n++] = sid;
    }
    if (tag)
        p[n++] = tag;
    char *sql = ostel_store_report_sql(samples, study_id, tag, '$');
    PGresult *r = pg_query(s, sql, n, p, samples ? "reading samples" : "reading runs");
    free(sql);
    return r;
}

int ostel_store_pg_each_report_run(struct ostel_store *s, int64_t study_id, const char *tag,
                                   int (*fn)(void *, const struct ostel_store_report_run *),
                                   void *ctx)
{
    char sid[24];
    const char *p[2];
    PGresult *r = pg_report_query(s, false, study_id, tag, sid, p);
    if (!r)
        return OSTEL_ERR;
    int stop = 0;
    for (int i = 0, k = PQntuples(r); i < k && !stop; i++) {
        struct ostel_store_report_run row = {strtoll(PQgetvalue(r, i, 0), NULL, 10),
                                             pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3),
                                             pg_num(r, i, 4)};
        stop = fn(ctx, &row);
    }
    PQclear(r);
    return stop ? stop : OSTEL_OK;
}

int ostel_store_pg_each_report_sample(struct ostel_store *s, int64_t study_id, const char *tag,
                                      int (*fn)(void *, const struct ostel_store_report_sample *),
                                      void *ctx)
{
    char sid[24];
    const char *p[2];
    PGresult *r = pg_report_query(s, true, study_id, tag, sid, p);
    if (!r)
        return OSTEL_ERR;
    const enum ostel_metric_col *cols;
    size_t ncols = ostel_store_report_cols(&cols);
    int stop = 0;
    for (int i = 0, k = PQntuples(r); i < k && !stop; i++) {
        struct ostel_store_report_sample row = {.run_id = strtoll(PQgetvalue(r, i, 0), NULL, 10)};
        for (size_t c = 0; c < ncols; c++) {
            int f = 1 + (int)c;
            if (cols[c] == OSTEL_COL_PHASE) {
                const char *ph = pg_text(r, i, f);
                row.row.phase =
                    ph ? ostel_metrics_phase_from_name(ostel_str_from_cstr(ph)) : OSTEL_PHASE_NONE;
            } else if (!isnan(pg_num(r, i, f))) {
                ostel_metrics_set(&row.row, cols[c], pg_num(r, i, f));
            }
        }
        stop = fn(ctx, &row);
    }
    PQclear(r);
    return stop ? stop : OSTEL_OK;
}

/* ---- export / info -------------------------------------------------------------------------- */

struct pg_table {
    const char *name, *run_col, *order;
};
static const struct pg_table pg_tables[] = {
    {"machines", NULL, "id"},
    {"memory_breakdown", "run_id", "run_id, seq"},
    {"phase_summaries", "run_id", "run_id, phase"},
    {"runs", "id", "id"},
    {"samples", "run_id", "run_id, seq"},
    {"scenarios", "run_id", "run_id"},
    {"studies", NULL, "id"},
};

static const struct pg_table *pg_find_table(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(pg_tables); i++)
        if (strcmp(pg_tables[i].name, name) == 0)
            return &pg_tables[i];
    return NULL;
}

int ostel_store_pg_export(struct ostel_store *s, const char *table, enum ostel_store_format fmt,
                          int64_t run_id, FILE *f)
{
    const struct pg_table *t = pg_find_table(table);
    if (!t)
        return ostel_error("unknown table '%s'", table);
    if (run_id > 0 && !t->run_col)
        return ostel_error("table '%s' has no runs to select", table);
    char rid[24];
    snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
    const char *p[1] = {rid};
    char *sql =
        ostel_xasprintf("SELECT * FROM %s%s%s%s ORDER BY %s", t->name, run_id > 0 ? " WHERE " : "",
                        run_id > 0 ? t->run_col : "", run_id > 0 ? "=$1::bigint" : "", t->order);
    PGresult *r = pg_query(s, sql, run_id > 0 ? 1 : 0, p, "exporting");
    free(sql);
    if (!r)
        return OSTEL_ERR;
    int ncol = PQnfields(r), nrow = PQntuples(r);
    bool runs_csv = fmt == OSTEL_STORE_FORMAT_CSV && strcmp(t->name, "runs") == 0;
    bool *skip = ostel_xcalloc((size_t)ncol, sizeof(*skip));
    for (int i = 0; i < ncol; i++) {
        const char *c = PQfname(r, i);
        skip[i] = runs_csv && (strcmp(c, "summary_json") == 0 || strcmp(c, "config_text") == 0 ||
                               strcmp(c, "metrics_header") == 0 || strncmp(c, "ostel_cpu", 9) == 0);
    }
    if (fmt == OSTEL_STORE_FORMAT_CSV) {
        bool first = true;
        for (int i = 0; i < ncol; i++)
            if (!skip[i]) {
                fprintf(f, "%s%s", first ? "" : ",", PQfname(r, i));
                first = false;
            }
        fputc('\n', f);
    } else {
        fputc('[', f);
    }
    for (int row = 0; row < nrow; row++) {
        if (fmt == OSTEL_STORE_FORMAT_JSON)
            fputs(row ? ",\n{" : "\n{", f);
        bool first = true;
        for (int i = 0; i < ncol; i++) {
            if (skip[i])
                continue;
            const char *name = PQfname(r, i);
            Oid ty = PQftype(r, i);
            bool null = PQgetisnull(r, row, i);
            const char *v = PQgetvalue(r, row, i);
            bool num = ty == PG_INT8OID || ty == PG_INT4OID || ty == PG_FLOAT8OID;
            if (fmt == OSTEL_STORE_FORMAT_CSV) {
                if (!first)
                    fputc(',', f);
                if (!null)
                    num ? (void)fputs(v, f) : ostel_store_put_text(f, v, strlen(v), fmt);
            } else {
                bool embed;
                fprintf(f, "%s\"%s\":", first ? "" : ",",
                        ostel_store_export_json_key(name, &embed));
                if (null)
                    fputs("null", f);
                else if (embed)
                    ostel_store_put_embedded_json(f, v, strlen(v));
                else if (num && strcmp(v, "NaN") != 0 && strstr(v, "Infinity") == NULL)
                    fputs(v, f);
                else
                    ostel_store_put_text(f, v, strlen(v), fmt);
            }
            first = false;
        }
        if (fmt == OSTEL_STORE_FORMAT_CSV)
            fputc('\n', f);
        else
            fputc('}', f);
    }
    if (fmt == OSTEL_STORE_FORMAT_JSON)
        fputs(nrow ? "\n]\n" : "]\n", f);
    free(skip);
    PQclear(r);
    if (fflush(f) != 0 || ferror(f))
        return ostel_error("cannot write the export");
    return OSTEL_OK;
}

int ostel_store_pg_count_rows(struct ostel_store *s, const char *table, int64_t *n)
{
    const struct pg_table *t = pg_find_table(table);
    if (!t)
        return ostel_error("unknown table '%s'", table);
    char *sql = ostel_xasprintf("SELECT count(*) FROM %s", t->name);
    PGresult *r = pg_query(s, sql, 0, NULL, "counting rows");
    free(sql);
    if (!r)
        return OSTEL_ERR;
    *n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return OSTEL_OK;
}

int ostel_store_pg_check_integrity(struct ostel_store *s)
{
    /* The server keeps its own consistency; check that ostel's rows agree with each other. */
    PGresult *r = pg_query(s,
                           "SELECT count(*) FROM runs r WHERE r.samples IS NOT NULL AND "
                           "r.samples <> (SELECT count(*) FROM samples WHERE run_id = r.id)",
                           0, NULL, "checking integrity");
    if (!r)
        return OSTEL_ERR;
    long bad = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return bad ? ostel_error("%s: integrity check: %ld runs lack samples", s->path, bad) : OSTEL_OK;
}

int ostel_store_pg_print_info(struct ostel_store *s, FILE *f)
{
    int v = pg_user_version(s);
    if (v < 0)
        return OSTEL_ERR;
    fprintf(f, "database        %s\nschema_version  %d (this ostel: %d)\npostgresql      %d\n",
            s->path, v, OSTEL_STORE_SCHEMA_VERSION, PQserverVersion(s->pg->conn));
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(pg_tables); i++) {
        int64_t n;
        if (ostel_store_pg_count_rows(s, pg_tables[i].name, &n) != OSTEL_OK)
            return OSTEL_ERR;
        fprintf(f, "%-17s %lld\n", pg_tables[i].name, (long long)n);
    }
    PGresult *r = pg_query(s, "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status",
                           0, NULL, "counting runs");
    if (!r)
        return OSTEL_ERR;
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(f, "  runs %-10s%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return OSTEL_OK;
}

#endif
