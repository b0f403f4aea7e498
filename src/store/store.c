/*
 * store: opening and migrating the database, importing run directories in one transaction each,
 * the resume query and reading runs back (see store.h; schema and concurrency in docs/store.md).
 *
 * Every value reaches SQL through a bound parameter. The only SQL text built at run time is made of
 * this file's constant column names. Statements are prepared once per handle and reused, which is
 * what makes a 100k-sample import take a fraction of a second.
 */
#include "store/store_internal.h"
#include "store/store_serve.h"
#include "rundir/rundir_config.h"
#include "rundir/rundir_phase_stats.h"
#include "rundir/rundir_summary.h"
#include "rundir/rundir_validate.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void prefetch_stop(struct ostel_store *s);
static void bulk_journal_end(struct ostel_store *s);

/* ---- schema ------------------------------------------------------------------------------- */

/*
 * migrations[i] takes a database from user_version i to i+1. Append only: never edit a step that
 * has shipped; add the next one (ALTER TABLE / CREATE … / data fixes) and bump
 * OSTEL_STORE_SCHEMA_VERSION.
 */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE machines("
    " id INTEGER PRIMARY KEY,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " hostname TEXT, os TEXT, cpu_model TEXT, cpu_cores INTEGER, ram_mib INTEGER,"
    " first_seen_ts REAL, last_seen_ts REAL);"
    "CREATE TABLE studies("
    " id INTEGER PRIMARY KEY,"
    " name TEXT,"
    " definition TEXT NOT NULL,"
    " definition_hash TEXT NOT NULL UNIQUE,"
    " created_at TEXT NOT NULL);"
    "CREATE TABLE runs("
    " id INTEGER PRIMARY KEY,"
    " run_key TEXT NOT NULL UNIQUE,"
    " study_id INTEGER REFERENCES studies(id),"
    " machine_id INTEGER REFERENCES machines(id),"
    " spec_hash TEXT, run_dir TEXT NOT NULL, imported_at TEXT NOT NULL,"
    " kernel TEXT, llama_version TEXT,"
    " tag TEXT, status TEXT NOT NULL, exit_code INTEGER, signal TEXT, oom_killed INTEGER,"
    " start_ts REAL, end_ts REAL, wall_s REAL,"
    " tool TEXT, model TEXT, ctx INTEGER, gen INTEGER, scenario TEXT, repetition INTEGER,"
    " ostel_version TEXT,"
    " samples INTEGER, interval_ms REAL, interval_ms_mean REAL, interval_ms_p99 REAL,"
    " load_ms REAL, prompt_tokens INTEGER, prompt_ms REAL, prompt_tok_s REAL,"
    " gen_tokens INTEGER, gen_ms REAL, gen_tok_s REAL,"
    " rss_peak_mib REAL, rss_anon_peak_mib REAL, rss_file_peak_mib REAL, swap_peak_mib REAL,"
    " cpu_mean_pct REAL, majflt INTEGER, pageouts INTEGER, swapouts INTEGER,"
    " pressure_worst INTEGER, avail_min_pct REAL,"
    " summary_json TEXT NOT NULL, config_text TEXT, metrics_header TEXT NOT NULL);"
    "CREATE INDEX runs_spec_hash ON runs(spec_hash);"
    "CREATE INDEX runs_study ON runs(study_id);"
    /* metrics.csv's columns with an SQL type in rundir_metrics.h's table, in its order (a
     * migration is never rewritten: test_store checks the result against the table) */
    "CREATE TABLE samples("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " ts REAL NOT NULL, rss_mb REAL, cpu_pct REAL, vm_pressure_flag INTEGER,"
    " avail_mem_level REAL, pageins_delta INTEGER, pageouts_delta INTEGER, phase TEXT,"
    " rss_anon_mb REAL, rss_file_mb REAL, swap_mb REAL, minflt_delta INTEGER,"
    " majflt_delta INTEGER, threads INTEGER, sys_avail_mb REAL, swapin_delta INTEGER,"
    " swapout_delta INTEGER, psi_some_pct REAL, psi_full_pct REAL, extra TEXT,"
    " PRIMARY KEY(run_id, seq)) WITHOUT ROWID;"
    /* the PHASE STATS with an SQL type in rundir_phase_stats.h's table, in its order (test_store
     * checks the result against the table) */
    "CREATE TABLE phase_summaries("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " phase TEXT NOT NULL,"
    " start_ts REAL, end_ts REAL, duration_s REAL, samples INTEGER,"
    " rss_peak_mib REAL, rss_mean_mib REAL, rss_anon_peak_mib REAL, rss_file_peak_mib REAL,"
    " cpu_mean_pct REAL, cpu_peak_pct REAL, pageins INTEGER, pageouts INTEGER,"
    " majflt INTEGER, minflt INTEGER, swapins INTEGER, swapouts INTEGER,"
    " pressure_worst INTEGER, avail_min_pct REAL, sys_avail_min_mib REAL,"
    " psi_some_max_pct REAL, psi_full_max_pct REAL, swap_peak_mib REAL, threads_peak INTEGER,"
    " PRIMARY KEY(run_id, phase)) WITHOUT ROWID;"
    "CREATE TABLE scenarios("
    " run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, definition TEXT, telemetry_json TEXT,"
    " rss_peak_mib REAL, cpu_mean_pct REAL);"
    "CREATE TABLE memory_breakdown("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " device TEXT NOT NULL, description TEXT,"
    " total_mib INTEGER, free_mib INTEGER, self_mib INTEGER, model_mib INTEGER,"
    " context_mib INTEGER, compute_mib INTEGER, unaccounted_mib INTEGER,"
    " PRIMARY KEY(run_id, seq)) WITHOUT ROWID;",
    /* 1 -> 2: what a background load was asked for and held, and what watching cost, as columns
     * (until now only inside runs.summary_json), filled in for the runs already stored */
    "ALTER TABLE scenarios ADD COLUMN kind TEXT;"
    "ALTER TABLE scenarios ADD COLUMN asked_mib REAL;"
    "ALTER TABLE scenarios ADD COLUMN held_mib_at_start REAL;"
    "ALTER TABLE scenarios ADD COLUMN ready_s REAL;"
    "ALTER TABLE runs ADD COLUMN ostel_cpu_ms REAL;"
    "ALTER TABLE runs ADD COLUMN ostel_cpu_us_per_sample REAL;"
    "UPDATE scenarios SET (kind, asked_mib, held_mib_at_start, ready_s) = ("
    " SELECT json_extract(r.summary_json, '$.scenario.kind'),"
    "        json_extract(r.summary_json, '$.scenario.asked_mib'),"
    "        json_extract(r.summary_json, '$.scenario.held_mib_at_start'),"
    "        json_extract(r.summary_json, '$.scenario.ready_s')"
    " FROM runs r WHERE r.id = scenarios.run_id AND json_valid(r.summary_json)"
    "  AND json_type(r.summary_json, '$.scenario') = 'object');"
    "UPDATE runs SET"
    " ostel_cpu_ms = json_extract(summary_json, '$.telemetry.ostel_cpu.ms'),"
    " ostel_cpu_us_per_sample = json_extract(summary_json, '$.telemetry.ostel_cpu.us_per_sample')"
    " WHERE json_valid(summary_json)"
    "  AND json_type(summary_json, '$.telemetry.ostel_cpu') = 'object';",
    /* 2 -> 3: where each run was made, in more detail (a fleet's machine table), and the shards of
     * a study spread over machines (docs/fleet.md); store_pg.c has the same step */
    "ALTER TABLE machines ADD COLUMN kernel TEXT;"
    "ALTER TABLE machines ADD COLUMN arch TEXT;"
    "ALTER TABLE machines ADD COLUMN gpu TEXT;"
    "CREATE TABLE study_shards("
    " study_id INTEGER NOT NULL REFERENCES studies(id),"
    " shard INTEGER NOT NULL, shards INTEGER NOT NULL,"
    " hostname TEXT, planned INTEGER, done INTEGER, started_at TEXT, finished_at TEXT,"
    " plan_hash TEXT,"
    " PRIMARY KEY(study_id, shard)) WITHOUT ROWID;",
    /* 3 -> 4: quality passes (ostel quality, study --quality): llama-perplexity's KL-divergence
     * figures as the log parser read them, one row per pass (src/store/store_quality.c) */
    "CREATE TABLE quality("
    " run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL, quality_key TEXT, ok INTEGER, error TEXT,"
    " base_model TEXT, base_tag TEXT, file_type TEXT, text TEXT, text_fnv TEXT,"
    " text_tokens INTEGER, ctx INTEGER, batch INTEGER, ubatch INTEGER, chunks INTEGER,"
    " scored_tokens INTEGER, synthetic INTEGER,"
    " ppl REAL, ppl_stderr REAL, ppl_base REAL, ppl_base_stderr REAL,"
    " ppl_ratio REAL, ppl_ratio_stderr REAL, ppl_diff REAL, ppl_diff_stderr REAL,"
    " ln_ppl_ratio REAL, ln_ppl_ratio_stderr REAL, ppl_cor_pct REAL,"
    " kld_mean REAL, kld_mean_stderr REAL, kld_median REAL, kld_p99 REAL, kld_p99_9 REAL,"
    " kld_max REAL, same_top_p_pct REAL, same_top_p_stderr REAL,"
    " rms_dp_pct REAL, rms_dp_stderr REAL, mean_dp_pct REAL, mean_dp_stderr REAL);",
    /* 4 -> 5: ostel serve — one row per request (requests.csv) and per load level */
    "CREATE TABLE requests("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " level TEXT, warmup INTEGER, req_id INTEGER,"
    " sched_ts REAL, send_ts REAL, first_ts REAL, end_ts REAL,"
    " queue_ms REAL, ttft_ms REAL, ttft_send_ms REAL, e2e_ms REAL, e2e_send_ms REAL,"
    " itl_mean_ms REAL, itl_max_ms REAL, tpot_ms REAL,"
    " prompt_tokens_asked INTEGER, output_tokens_asked INTEGER, prompt_tokens INTEGER,"
    " completion_tokens INTEGER, chunks INTEGER,"
    " cache_n REAL, prompt_n REAL, prompt_ms REAL, predicted_n REAL, predicted_ms REAL,"
    " http_status INTEGER, ok INTEGER, error TEXT,"
    " PRIMARY KEY(run_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE serve_levels("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " name TEXT, kind TEXT, value REAL, requests INTEGER, completed INTEGER, failed INTEGER,"
    " stopped_early TEXT, duration_s REAL, request_throughput REAL, output_tokens_per_s REAL,"
    " goodput REAL, ttft_p50_ms REAL, ttft_p99_ms REAL, itl_p50_ms REAL, itl_p99_ms REAL,"
    " tpot_p50_ms REAL, e2e_p50_ms REAL, e2e_p99_ms REAL, level_json TEXT,"
    " PRIMARY KEY(run_id, seq)) WITHOUT ROWID;",
    /* 5 -> 6: `ostel report --db --tag` selects runs by tag in id order */
    "CREATE INDEX IF NOT EXISTS runs_tag ON runs(tag, id);",
    /* 6 -> 7: the GPU (summary.json's gpu object, docs/gpu.md): which backend read it, energy per
     * token over generate and prompt, and the process's VRAM beyond llama.cpp's own accounting */
    "ALTER TABLE runs ADD COLUMN gpu_backend TEXT;"
    "ALTER TABLE runs ADD COLUMN gpu_generate_energy_j REAL;"
    "ALTER TABLE runs ADD COLUMN gpu_j_per_token REAL;"
    "ALTER TABLE runs ADD COLUMN gpu_tokens_per_j REAL;"
    "ALTER TABLE runs ADD COLUMN gpu_prompt_j_per_token REAL;"
    "ALTER TABLE runs ADD COLUMN gpu_peak_proc_mem_mib REAL;"
    "ALTER TABLE runs ADD COLUMN gpu_vram_beyond_llama_mib REAL;"
    "UPDATE runs SET"
    " gpu_backend = json_extract(summary_json, '$.gpu.backend'),"
    " gpu_generate_energy_j = json_extract(summary_json, '$.gpu.run.generate_energy_j'),"
    " gpu_j_per_token = json_extract(summary_json, '$.gpu.run.j_per_token'),"
    " gpu_tokens_per_j = json_extract(summary_json, '$.gpu.run.tokens_per_j'),"
    " gpu_prompt_j_per_token = json_extract(summary_json, '$.gpu.run.prompt_j_per_token'),"
    " gpu_peak_proc_mem_mib = json_extract(summary_json, '$.gpu.run.peak_proc_mem_mb'),"
    " gpu_vram_beyond_llama_mib = json_extract(summary_json, '$.gpu.run.vram_beyond_llama_mb')"
    " WHERE json_valid(summary_json) AND json_type(summary_json, '$.gpu') = 'object';",
    /* 7 -> 8: one row per run of a study: (study, spec hash, repetition) unique among the runs with
     * a final status (the ones resume skips; interrupted and spawn_failed ones are done again).
     * A database that already holds duplicates (two studies wrote one directory) keeps the first
     * stored of each and says how many it removed (temp.migration_notes, printed by migrate()). */
    "CREATE TEMP TABLE IF NOT EXISTS migration_notes(note TEXT);"
    "CREATE TEMP TABLE dup_runs AS SELECT r.id FROM runs r"
    " WHERE r.study_id IS NOT NULL AND r.spec_hash IS NOT NULL"
    "  AND r.status IN ('ok','failed','killed','timeout')"
    "  AND EXISTS (SELECT 1 FROM runs o WHERE o.study_id = r.study_id"
    "   AND o.spec_hash = r.spec_hash AND o.repetition = r.repetition"
    "   AND o.status IN ('ok','failed','killed','timeout') AND o.id < r.id);"
    "INSERT INTO temp.migration_notes SELECT 'removed ' || count(*) || ' duplicate run row(s) "
    "(the same study, spec hash and repetition stored more than once); kept the first stored of "
    "each' FROM temp.dup_runs HAVING count(*) > 0;"
    "DELETE FROM runs WHERE id IN (SELECT id FROM temp.dup_runs);"
    "DROP TABLE temp.dup_runs;"
    "CREATE UNIQUE INDEX IF NOT EXISTS runs_one_per_spec ON runs(study_id, spec_hash, repetition)"
    " WHERE study_id IS NOT NULL AND spec_hash IS NOT NULL"
    "  AND status IN ('ok','failed','killed','timeout');",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == OSTEL_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/*
 * Columns of `runs` taken from summary.json, bound in this order by bind_run_cols from rundir's
 * struct (struct ostel_summary, its llama facts with their legacy keys, the aggregator's telemetry
 * and the GPU object it holds). A contract value of the wrong type refuses the run
 * (ostel_store_summary_mistyped); a value of another module's section (llama's, gpu's) of an
 * unexpected type is stored as NULL.
 */
static const char *const run_cols[] = {
    "tag",
    "status",
    "exit_code",
    "signal",
    "oom_killed",
    "start_ts",
    "end_ts",
    "wall_s",
    "tool",
    "model",
    "ctx",
    "gen",
    "scenario",
    "repetition",
    "ostel_version",
    "samples",
    "interval_ms",
    "interval_ms_mean",
    "interval_ms_p99",
    "load_ms",
    "prompt_tokens",
    "prompt_ms",
    "prompt_tok_s",
    "gen_tokens",
    "gen_ms",
    "gen_tok_s",
    "rss_peak_mib",
    "rss_anon_peak_mib",
    "rss_file_peak_mib",
    "swap_peak_mib",
    "cpu_mean_pct",
    "majflt",
    "pageouts",
    "swapouts",
    "pressure_worst",
    "avail_min_pct",
    "ostel_cpu_ms",
    "ostel_cpu_us_per_sample",
    "gpu_backend",
    "gpu_generate_energy_j",
    "gpu_j_per_token",
    "gpu_tokens_per_j",
    "gpu_prompt_j_per_token",
    "gpu_peak_proc_mem_mib",
    "gpu_vram_beyond_llama_mib",
};
/* Bound before run_cols, in this order. */
static const char *const run_fixed_cols[] = {
    "run_key", "study_id",      "machine_id",   "spec_hash",   "run_dir",        "imported_at",
    "kernel",  "llama_version", "summary_json", "config_text", "metrics_header",
};

static const char *const phase_keys[] = {"overall", "load", "prompt", "generate", "teardown"};

static const char *const memory_cols[] = {"total_mib",      "free_mib",    "self_mib",
                                          "model_mib",      "context_mib", "compute_mib",
                                          "unaccounted_mib"};

/* ---- small helpers ----------------------------------------------------------------------------
 */

/*
 * SQLite's message for the last error, with the system's reason where SQLite's own hides it: "disk
 * I/O error" is "disk I/O error (File too large)" under `ulimit -f`. msg: sqlite3_exec's message,
 * or NULL for sqlite3_errmsg's. Returns msg, SQLite's text or buf (filled).
 */
static const char *sql_msg(struct ostel_store *s, const char *msg, char *buf, size_t size)
{
    const char *m = msg ? msg : sqlite3_errmsg(s->db);
    int code = sqlite3_extended_errcode(s->db) & 0xff;
    int e = sqlite3_system_errno(s->db);
    if ((code != SQLITE_IOERR && code != SQLITE_FULL && code != SQLITE_CANTOPEN) || e <= 0)
        return m;
    snprintf(buf, size, "%s (%s)", m, strerror(e));
    return buf;
}

int ostel_store_sql_error(struct ostel_store *s, const char *what)
{
    char buf[512];
    return ostel_error("%s: %s: %s", s->path, what, sql_msg(s, NULL, buf, sizeof(buf)));
}

/*
 * Runs sql, retrying while SQLite answers "busy" in the cases where it does not call the busy
 * handler itself: switching a new file to WAL, or the first WAL recovery, while another process
 * does the same (two studies creating one database at once). Gives up after the busy timeout.
 */
static int exec_retry_busy(struct ostel_store *s, const char *sql)
{
    for (int waited_ms = 0;; waited_ms += 20) {
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            return OSTEL_OK;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
            char buf[512];
            int r = ostel_error("%s: %s", s->path, sql_msg(s, msg, buf, sizeof(buf)));
            sqlite3_free(msg);
            return r;
        }
        sqlite3_free(msg);
        if (waited_ms >= OSTEL_STORE_BUSY_TIMEOUT_MS)
            return ostel_error("%s: database is locked by another process for too long", s->path);
        sqlite3_sleep(20);
    }
}

static int exec(struct ostel_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char buf[512];
        int rc = ostel_error("%s: %s", s->path, sql_msg(s, msg, buf, sizeof(buf)));
        sqlite3_free(msg);
        return rc;
    }
    return OSTEL_OK;
}

/* exec() of a statement prepared once per handle (a batch's SAVEPOINT and RELEASE per run: their
 * parse was more than the statements themselves); the same error line. */
static int exec_prepared(struct ostel_store *s, enum store_stmt which, const char *sql)
{
    sqlite3_stmt **st = &s->stmt[which];
    if (!*st &&
        sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        char buf[512];
        return ostel_error("%s: %s", s->path, sql_msg(s, NULL, buf, sizeof(buf)));
    }
    int rc = OSTEL_OK;
    if (sqlite3_step(*st) != SQLITE_DONE) {
        char buf[512];
        rc = ostel_error("%s: %s", s->path, sql_msg(s, NULL, buf, sizeof(buf)));
    }
    sqlite3_reset(*st);
    return rc;
}

static int user_version(struct ostel_store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "reading the schema version");
    int v = -1, rc;
    /* busy only while another process recovers a new WAL file: wait for it like exec_retry_busy */
    for (int waited_ms = 0; (rc = sqlite3_step(st)) != SQLITE_ROW; waited_ms += 20) {
        if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= OSTEL_STORE_BUSY_TIMEOUT_MS)
            break;
        sqlite3_reset(st);
        sqlite3_sleep(20);
    }
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (v < 0)
        return ostel_store_sql_error(s, "reading the schema version");
    return v;
}

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static sqlite3_stmt *stmt_get(struct ostel_store *s, enum store_stmt which, const char *sql)
{
    if (!s->stmt[which]) {
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[which], NULL) !=
            SQLITE_OK) {
            ostel_store_sql_error(s, "preparing a statement");
            return NULL;
        }
    }
    sqlite3_reset(s->stmt[which]);
    sqlite3_clear_bindings(s->stmt[which]);
    return s->stmt[which];
}

/* "INSERT INTO t(a,b,…) VALUES(?,?,…)" from constant column names (never from input). */
static char *insert_sql(const char *table, const char *const *a, size_t na, const char *const *b,
                        size_t nb)
{
    struct ostel_buf q;
    ostel_buf_init(&q, 0);
    ostel_buf_printf(&q, "INSERT INTO %s(", table);
    for (size_t i = 0; i < na + nb; i++) {
        if (i)
            ostel_buf_putc(&q, ',');
        ostel_buf_puts(&q, i < na ? a[i] : b[i - na]);
    }
    ostel_buf_puts(&q, ") VALUES(");
    for (size_t i = 0; i < na + nb; i++)
        ostel_buf_puts(&q, i ? ",?" : "?");
    ostel_buf_puts(&q, ")");
    return ostel_buf_detach(&q);
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Integers stay integers in the database (exit codes, counts); everything else is a REAL. */
static int bind_number(sqlite3_stmt *st, int i, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
    return sqlite3_bind_double(st, i, v);
}

/* A number, or NULL for NAN (rundir's reader: unknown). */
static int bind_number_or_null(sqlite3_stmt *st, int i, double v)
{
    return isnan(v) ? sqlite3_bind_null(st, i) : bind_number(st, i, v);
}

/* ---- open / close / migrate ---------------------------------------------------------------- */

/* What the migrations just run said they did (lines in temp.migration_notes), one note each. */
static void print_migration_notes(struct ostel_store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT note FROM temp.migration_notes", -1, &st, NULL) !=
        SQLITE_OK)
        return; /* no migration left a note */
    while (sqlite3_step(st) == SQLITE_ROW)
        ostel_warn("%s: %s", s->path, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "DROP TABLE temp.migration_notes", NULL, NULL, NULL);
}

static int migrate(struct ostel_store *s)
{
    int v = user_version(s);
    if (v < 0)
        return OSTEL_ERR;
    if (v > OSTEL_STORE_SCHEMA_VERSION)
        return ostel_error("%s: schema version %d is newer than this ostel understands (%d)",
                           s->path, v, OSTEL_STORE_SCHEMA_VERSION);
    if (v == OSTEL_STORE_SCHEMA_VERSION || s->readonly)
        return OSTEL_OK;
    /* One writer migrates; a second process waits on the lock and then finds nothing to do. */
    if (exec_retry_busy(s, "BEGIN IMMEDIATE") != OSTEL_OK)
        return OSTEL_ERR;
    v = user_version(s);
    if (v < 0)
        goto fail;
    for (; v < OSTEL_STORE_SCHEMA_VERSION; v++) {
        if (exec(s, migrations[v]) != OSTEL_OK)
            goto fail;
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
        if (exec(s, pragma) != OSTEL_OK)
            goto fail;
    }
    print_migration_notes(s);
    if (exec(s, "COMMIT") != OSTEL_OK)
        goto fail;
    return OSTEL_OK;
fail: /* the step that failed has said why, in the one error line */
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return OSTEL_ERR;
}

/*
 * A `db import` killed mid-batch leaves the file in rollback-journal mode with a hot journal
 * (bulk_journal below). A read-only connection cannot roll it back and would refuse the file, so a
 * read-only open first lets a writable connection read it, which is what SQLite itself does with a
 * hot journal: the file is as it was before that batch, the journal gone. A journal that a live
 * writer holds is not hot (its lock says so) and is left alone; where the file cannot be written
 * (a read-only mount) nothing happens and the read-only open says why it cannot read it.
 */
static void rollback_hot_journal(const char *path)
{
    char *journal = ostel_xasprintf("%s-journal", path);
    struct stat st;
    bool hot = stat(journal, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    free(journal);
    if (!hot)
        return;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK) {
        sqlite3_busy_timeout(db, OSTEL_STORE_BUSY_TIMEOUT_MS);
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    }
    sqlite3_close(db);
}

int ostel_store_open(const char *path, int flags, struct ostel_store **out)
{
    if (ostel_store_is_url(path))
        return ostel_store_pg_open(path, flags, out);
    *out = NULL;
    struct ostel_store *s = ostel_xcalloc(1, sizeof(*s));
    s->path = ostel_xstrdup(path);
    s->readonly = (flags & OSTEL_STORE_OPEN_READONLY) != 0;
    if (s->readonly && !ostel_is_file(path)) {
        ostel_error("no database at '%s'", path);
        goto fail;
    }
    if (s->readonly)
        rollback_hot_journal(path);
    int oflags = s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    char *uri = s->readonly ? ostel_store_readonly_uri(path) : NULL;
    int orc = sqlite3_open_v2(uri ? uri : path, &s->db,
                              oflags | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0), NULL);
    free(uri);
    if (orc != SQLITE_OK) {
        ostel_error("cannot open database '%s': %s", path,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, OSTEL_STORE_BUSY_TIMEOUT_MS);
    /* Is it a database at all? Reading the schema fails cleanly on any other file. */
    if (exec_retry_busy(s, "SELECT count(*) FROM sqlite_schema") != OSTEL_OK)
        goto fail;
    if (!s->readonly) {
        /* WAL: readers never block the writer and a killed writer leaves no partial data.
         * synchronous=NORMAL is durable across process crashes (only an OS crash may lose the
         * last transactions, never corrupt the file). */
        if (exec_retry_busy(s, "PRAGMA journal_mode=WAL") != OSTEL_OK ||
            exec(s, "PRAGMA synchronous=NORMAL") != OSTEL_OK)
            goto fail;
    }
    if (exec(s, "PRAGMA foreign_keys=ON") != OSTEL_OK || migrate(s) != OSTEL_OK)
        goto fail;
    *out = s;
    return OSTEL_OK;
fail:
    ostel_store_close(s);
    return OSTEL_ERR;
}

void ostel_store_close(struct ostel_store *s)
{
    if (!s)
        return;
    ostel_store_pg_close(s);
    prefetch_stop(s);
    if (s->in_tx)
        ostel_store_run_rollback(s);
    bulk_journal_end(s);
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int ostel_store_schema_version(struct ostel_store *s)
{
    if (s->pg)
        return ostel_store_pg_schema_version(s);
    return user_version(s);
}

/* ---- studies ------------------------------------------------------------------------------- */

int ostel_store_insert_study(struct ostel_store *s, const char *name, const char *definition,
                             size_t len, int64_t *study_id)
{
    if (s->pg)
        return ostel_store_pg_insert_study(s, name, definition, len, study_id);
    char hash[17], now[32];
    ostel_store_hash_hex(definition, len, hash);
    now_iso(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO studies(name, definition, definition_hash, created_at) "
                           "VALUES(?,?,?,?) ON CONFLICT(definition_hash) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "recording the study");
    bind_text_or_null(st, 1, name);
    sqlite3_bind_text(st, 2, definition, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ostel_store_sql_error(s, "recording the study");
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM studies WHERE definition_hash=?", -1, &st,
                           NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "recording the study");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *study_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? OSTEL_OK : ostel_store_sql_error(s, "recording the study");
}

/* ---- one run's transaction ------------------------------------------------------------------ */

int ostel_store_run_begin(struct ostel_store *s)
{
    if (s->pg)
        return ostel_store_pg_run_begin(s);
    OSTEL_ASSERT(!s->in_tx);
    if (s->readonly)
        return ostel_error("%s: opened read-only", s->path);
    if (exec(s, "BEGIN IMMEDIATE") != OSTEL_OK)
        return OSTEL_ERR;
    s->in_tx = true;
    return OSTEL_OK;
}

int ostel_store_run_commit(struct ostel_store *s)
{
    if (s->pg)
        return ostel_store_pg_run_commit(s);
    OSTEL_ASSERT(s->in_tx);
    if (exec(s, "COMMIT") != OSTEL_OK) {
        ostel_store_run_rollback(s);
        return OSTEL_ERR;
    }
    s->in_tx = false;
    return OSTEL_OK;
}

void ostel_store_run_rollback(struct ostel_store *s)
{
    if (s->pg) {
        ostel_store_pg_run_rollback(s);
        return;
    }
    if (!s->in_tx)
        return;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = false;
}

/* The three files of a run directory, read and validated. */
struct run_files {
    char *metrics_path, *summary_path, *config_path;
    struct ostel_buf metrics, summary, config;
    bool have_config;
    cJSON *doc;
    struct ostel_summary sum; /* doc read by rundir's reader (a view: borrows doc's sections) */
    struct ostel_store_metrics_rows rows; /* metrics.csv's rows, gathered by its validation */
    /* worked out with the reading (on a read-ahead thread), reported where they are used */
    char *abs_dir;                        /* realpath of the directory, or NULL */
    const char *mistyped_host, *mistyped; /* ostel_store_summary_mistyped_host/_mistyped */
};

static void run_files_free(struct run_files *f)
{
    free(f->metrics_path);
    free(f->summary_path);
    free(f->config_path);
    free(f->abs_dir);
    ostel_buf_free(&f->metrics);
    ostel_buf_free(&f->summary);
    ostel_buf_free(&f->config);
    ostel_summary_free(&f->sum);
    cJSON_Delete(f->doc);
    ostel_store_metrics_rows_free(&f->rows);
}

/* A file read whole without printing (the import's read-ahead threads): false on any problem,
 * which the importing thread then meets again through ostel_file_read_all and reports. */
static bool read_quiet(const char *path, size_t max, struct ostel_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max;
    if (ok)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    char chunk[65536];
    while (ok) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        if (out->len + (size_t)n > max)
            ok = false;
        else
            ostel_buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return ok;
}

static bool read_file(const char *path, size_t max, struct ostel_buf *out, bool quiet)
{
    return quiet ? read_quiet(path, max, out) : ostel_file_read_all(path, max, out) == OSTEL_OK;
}

/* Reads and validates the run directory dir into f (freed by the caller whatever the result).
 * Quiet (a read-ahead thread): prints nothing and only says whether it succeeded, so that the
 * importing thread can read a failed directory again and report it in order. */
#define RUN_FILES_FAIL(...) (quiet ? OSTEL_ERR : ostel_error(__VA_ARGS__))
static int run_files_load(const char *dir, struct run_files *f, bool quiet)
{
    memset(f, 0, sizeof(*f));
    ostel_buf_init(&f->metrics, OSTEL_STORE_MAX_METRICS_BYTES + 1);
    ostel_buf_init(&f->summary, OSTEL_STORE_MAX_SUMMARY_BYTES + 1);
    ostel_buf_init(&f->config, OSTEL_STORE_MAX_CONFIG_BYTES + 1);
    f->metrics_path = ostel_xasprintf("%s/metrics.csv", dir);
    f->summary_path = ostel_xasprintf("%s/summary.json", dir);
    f->config_path = ostel_xasprintf("%s/config.txt", dir);
    char err[256];
    if (!ostel_is_dir(dir))
        return RUN_FILES_FAIL("'%s' is not a directory", dir);
    if (!ostel_is_file(f->summary_path))
        return RUN_FILES_FAIL("'%s' is missing: not a finished run directory", f->summary_path);
    if (!ostel_is_file(f->metrics_path))
        return RUN_FILES_FAIL("'%s' is missing", f->metrics_path);
    if (!read_file(f->summary_path, OSTEL_STORE_MAX_SUMMARY_BYTES, &f->summary, quiet) ||
        !read_file(f->metrics_path, OSTEL_STORE_MAX_METRICS_BYTES, &f->metrics, quiet))
        return OSTEL_ERR;
    /* The one validator every reader uses (src/rundir): a run that fails is refused whole. The
     * buffers keep a NUL after their data (ostel_buf_append); an empty file has none. */
    struct ostel_rundir_facts facts;
    /* the validator's parsed tree is the document: summary.json is parsed once */
    if (ostel_rundir_parse_summary(f->summary.data ? f->summary.data : (char[1]){0},
                                   &f->summary.len, &facts, &f->doc, err, sizeof(err)) != 0)
        return RUN_FILES_FAIL("'%s': %s; the run is not imported", f->summary_path, err);
    struct ostel_rundir_metrics_sink sink;
    ostel_store_metrics_rows_sink(&f->rows, &sink);
    if (ostel_rundir_scan_metrics(f->metrics.data ? f->metrics.data : (char[1]){0}, &f->metrics.len,
                                  &facts, &sink, err, sizeof(err)) != 0)
        return RUN_FILES_FAIL("'%s': %s; the run is not imported", f->metrics_path, err);
    if (ostel_store_summary_check(f->doc, err, sizeof(err)) != 0 ||
        ostel_summary_view(f->doc, &f->sum, err, sizeof(err)) != 0)
        return RUN_FILES_FAIL("'%s': %s", f->summary_path, err);
    if (ostel_is_file(f->config_path)) {
        if (!read_file(f->config_path, OSTEL_STORE_MAX_CONFIG_BYTES, &f->config, quiet))
            return OSTEL_ERR;
        if (ostel_rundir_validate_config(f->config.data ? f->config.data : (char[1]){0},
                                         &f->config.len, err, sizeof(err)) != 0)
            return RUN_FILES_FAIL("'%s': %s; the run is not imported", f->config_path, err);
        f->have_config = true;
    }
    f->mistyped_host = ostel_store_summary_mistyped_host(f->doc);
    f->mistyped = ostel_store_summary_mistyped(f->doc);
    f->abs_dir = realpath(dir, NULL);
    return OSTEL_OK;
}
#undef RUN_FILES_FAIL

/*
 * db import's read-ahead (ostel_store_import_prefetch): a few threads read, validate and parse the
 * next run directories (run_files_load, quiet) while the importing thread inserts the current one,
 * which was half of an import's CPU. Slot i % PREFETCH_SLOTS holds directory i once read; a thread
 * reads directory i only once the importer has taken i - PREFETCH_SLOTS, so at most that many runs
 * wait in memory. The threads touch no SQLite and print nothing.
 */
#define PREFETCH_SLOTS 32
#define PREFETCH_THREADS_MAX 3

struct prefetch_slot {
    size_t idx;
    bool ready, ok;
    struct run_files f;
};

struct ostel_store_prefetch {
    char *const *dirs;
    size_t n;
    size_t claimed, taken; /* the next directory a thread reads; the next the importer takes */
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid[PREFETCH_THREADS_MAX];
    size_t nthreads;
    struct prefetch_slot slot[PREFETCH_SLOTS];
    /* runs the importer is done with, freed by a thread (the parsed tree and rows were allocated
     * there: their frees were a twentieth of the importing thread) */
    struct run_files done[PREFETCH_SLOTS];
    size_t ndone;
};

static void *prefetch_worker(void *arg)
{
    struct ostel_store_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->ndone == 0 &&
               (p->claimed >= p->n || p->claimed >= p->taken + PREFETCH_SLOTS))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        if (p->ndone > 0) {
            struct run_files f = p->done[--p->ndone];
            pthread_mutex_unlock(&p->mu);
            run_files_free(&f);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        size_t i = p->claimed++;
        pthread_mutex_unlock(&p->mu);
        struct run_files f;
        bool ok = run_files_load(p->dirs[i], &f, true) == OSTEL_OK;
        pthread_mutex_lock(&p->mu);
        struct prefetch_slot *sl = &p->slot[i % PREFETCH_SLOTS];
        sl->f = f;
        sl->ok = ok;
        sl->idx = i;
        sl->ready = true;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void ostel_store_import_prefetch(struct ostel_store *s, char *const *dirs, size_t n)
{
    if (s->pg || s->prefetch || n < 2)
        return;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = ncpu > 1 ? (size_t)ncpu - 1 : 1;
    if (want > PREFETCH_THREADS_MAX)
        want = PREFETCH_THREADS_MAX;
    struct ostel_store_prefetch *p = ostel_xcalloc(1, sizeof(*p));
    p->dirs = dirs;
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (size_t t = 0; t < want; t++)
        if (pthread_create(&p->tid[p->nthreads], NULL, prefetch_worker, p) == 0)
            p->nthreads++;
    if (p->nthreads == 0) { /* no thread: every import reads its own directory */
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return;
    }
    s->prefetch = p;
}

static void prefetch_stop(struct ostel_store *s)
{
    struct ostel_store_prefetch *p = s->prefetch;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t t = 0; t < p->nthreads; t++)
        pthread_join(p->tid[t], NULL);
    for (size_t i = 0; i < PREFETCH_SLOTS; i++)
        if (p->slot[i].ready)
            run_files_free(&p->slot[i].f);
    while (p->ndone > 0)
        run_files_free(&p->done[--p->ndone]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    s->prefetch = NULL;
}

/* The run directory dir into f: the read-ahead's copy when dir is the next one it was given (the
 * same pointer) and it read it without a problem, else read here (printing what is wrong). */
static int run_files_read(struct ostel_store *s, const char *dir, struct run_files *f)
{
    struct ostel_store_prefetch *p = s->prefetch;
    if (p) {
        pthread_mutex_lock(&p->mu);
        if (p->taken < p->n && p->dirs[p->taken] == dir) {
            struct prefetch_slot *sl = &p->slot[p->taken % PREFETCH_SLOTS];
            while (!(sl->ready && sl->idx == p->taken))
                pthread_cond_wait(&p->cv, &p->mu);
            *f = sl->f;
            bool ok = sl->ok;
            sl->ready = false;
            p->taken++;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            if (ok)
                return OSTEL_OK;
            run_files_free(f);
        } else {
            pthread_mutex_unlock(&p->mu);
        }
    }
    return run_files_load(dir, f, false);
}

/* Frees f, which the importer is done with: on a read-ahead thread when there is one. */
static void run_files_release(struct ostel_store *s, struct run_files *f)
{
    struct ostel_store_prefetch *p = s->prefetch;
    if (p) {
        pthread_mutex_lock(&p->mu);
        bool queued = p->ndone < PREFETCH_SLOTS;
        if (queued) {
            p->done[p->ndone++] = *f;
            pthread_cond_broadcast(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (queued)
            return;
    }
    run_files_free(f);
}

static char *config_get(const struct run_files *f, enum ostel_config_key key)
{
    if (!f->have_config)
        return NULL;
    char *v = ostel_config_get(f->config.data, f->config.len, key);
    if (v && !*v) {
        free(v);
        return NULL;
    }
    return v;
}

/*
 * The run's identity, stable wherever the directory is imported from: config.txt's run_id when the
 * runner writes one, else start time (ms) + tag + host, which no two runs share.
 */
static int run_key(const struct run_files *f, char **out)
{
    char *id = config_get(f, OSTEL_CFG_RUN_ID);
    if (id) {
        *out = ostel_xasprintf("id:%s", id);
        free(id);
        return OSTEL_OK;
    }
    const struct ostel_summary *sum = &f->sum;
    if (isnan(sum->run.start_ts_s))
        return ostel_error("'%s': no run.start_ts: cannot identify the run", f->summary_path);
    *out = ostel_xasprintf("%.3f|%s|%s", sum->run.start_ts_s, sum->run.tag ? sum->run.tag : "",
                           sum->host.hostname ? sum->host.hostname : "");
    return OSTEL_OK;
}

static int find_run(struct ostel_store *s, const char *key, int64_t *id)
{
    sqlite3_stmt *st = stmt_get(s, STMT_FIND_RUN, "SELECT id FROM runs WHERE run_key=?");
    if (!st)
        return OSTEL_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : ostel_store_sql_error(s, "looking up the run");
}

/* The machine's kernel, architecture and GPU as its latest run saw them (not in the fingerprint, so
 * a kernel upgrade does not make a new machine). host.gpu is a string when a GPU vendor wrote one.
 */
static int machine_extra(struct ostel_store *s, const struct run_files *f, int64_t id)
{
    const char *kernel = f->sum.host.kernel, *arch = f->sum.host.arch, *gpu = f->sum.host.gpu;
    if (!kernel && !arch && !gpu)
        return OSTEL_OK;
    sqlite3_stmt *st = stmt_get(s, STMT_MACHINE_EXTRA,
                                "UPDATE machines SET kernel=coalesce(?1, kernel), "
                                "arch=coalesce(?2, arch), gpu=coalesce(?3, gpu) WHERE id=?4");
    if (!st)
        return OSTEL_ERR;
    bind_text_or_null(st, 1, kernel);
    bind_text_or_null(st, 2, arch);
    bind_text_or_null(st, 3, gpu);
    sqlite3_bind_int64(st, 4, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return ostel_store_sql_error(s, "recording the machine");
    return OSTEL_OK;
}

/* machines: one row per fingerprint of the host facts; returns its id, 0 when the run has none. */
static int machine_id(struct ostel_store *s, const struct run_files *f, int64_t *id)
{
    *id = 0;
    const struct ostel_summary_host *h = &f->sum.host;
    const char *hostname = h->hostname, *os = h->os, *cpu = h->cpu_model;
    if (f->mistyped_host)
        return ostel_error("'%s': a \"host\" value has the wrong type", f->summary_path);
    if (!hostname && !os && !cpu && isnan(h->cpu_cores) && isnan(h->ram_mib))
        return OSTEL_OK; /* no "host" (a process ostel did not start), or nothing known of it */
    char *facts = ostel_xasprintf("%s\n%s\n%s\n%.0f\n%.0f", hostname ? hostname : "", os ? os : "",
                                  cpu ? cpu : "", isnan(h->cpu_cores) ? 0 : h->cpu_cores,
                                  isnan(h->ram_mib) ? 0 : h->ram_mib);
    char fp[17];
    ostel_store_hash_hex(facts, strlen(facts), fp);
    free(facts);
    double start = f->sum.run.start_ts_s;
    bool have_start = !isnan(start);

    sqlite3_stmt *st = stmt_get(s, STMT_INSERT_MACHINE,
                                "INSERT INTO machines(fingerprint, hostname, os, cpu_model, "
                                "cpu_cores, ram_mib, first_seen_ts, last_seen_ts) "
                                "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(fingerprint) DO NOTHING");
    if (!st)
        return OSTEL_ERR;
    sqlite3_bind_text(st, 1, fp, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 2, hostname);
    bind_text_or_null(st, 3, os);
    bind_text_or_null(st, 4, cpu);
    bind_number_or_null(st, 5, h->cpu_cores);
    bind_number_or_null(st, 6, h->ram_mib);
    if (have_start) {
        sqlite3_bind_double(st, 7, start);
        sqlite3_bind_double(st, 8, start);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return ostel_store_sql_error(s, "recording the machine");
    st = stmt_get(s, STMT_FIND_MACHINE, "SELECT id FROM machines WHERE fingerprint=?");
    if (!st)
        return OSTEL_ERR;
    sqlite3_bind_text(st, 1, fp, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW)
        return ostel_store_sql_error(s, "recording the machine");
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (have_start) {
        st = stmt_get(s, STMT_TOUCH_MACHINE,
                      "UPDATE machines SET "
                      "first_seen_ts=min(coalesce(first_seen_ts, ?1), ?1), "
                      "last_seen_ts=max(coalesce(last_seen_ts, ?1), ?1) WHERE id=?2");
        if (!st)
            return OSTEL_ERR;
        sqlite3_bind_double(st, 1, start);
        sqlite3_bind_int64(st, 2, *id);
        if (sqlite3_step(st) != SQLITE_DONE)
            return ostel_store_sql_error(s, "recording the machine");
    }
    return machine_extra(s, f, *id);
}

/*
 * An insert broke runs_one_per_spec: a run of the same study, spec hash and repetition with a final
 * status is stored already (two writers that bypassed the study lock). Nothing is stored: *run_id
 * gets the row that is there and the result is OSTEL_STORE_ALREADY.
 */
static int find_run_of_spec(struct ostel_store *s, int64_t study_id, const char *spec, int64_t rep,
                            int64_t *run_id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM runs WHERE study_id=? AND spec_hash=? AND repetition=? "
                           "AND status IN ('ok','failed','killed','timeout') LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "looking up the run");
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, rep);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *run_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return ostel_store_sql_error(s, "looking up the run");
    ostel_warn("a run of this study with spec hash %s, repetition %lld is stored already (run "
               "%lld): not stored twice",
               spec, (long long)rep, (long long)*run_id);
    return OSTEL_STORE_ALREADY;
}

/* A number of a section's tree at a dotted path, or NULL (rundir_summary.h's ostel_summary_jnum).
 */
static void bind_tree_number(sqlite3_stmt *st, int i, const cJSON *tree, const char *path)
{
    bind_number_or_null(st, i, ostel_summary_jnum(tree, path));
}

/* The values of run_cols, in its order, from parameter i on. */
static void bind_run_cols(sqlite3_stmt *st, int i, const struct ostel_summary *sum)
{
    const struct ostel_summary_run *r = &sum->run;
    struct ostel_summary_llama_facts lf;
    ostel_summary_llama_facts(sum, &lf);
    bind_text_or_null(st, i++, r->tag);
    bind_text_or_null(st, i++, r->status);
    if (r->has_exit_code)
        sqlite3_bind_int(st, i, r->exit_code);
    i++;
    char sig[24];
    bind_text_or_null(st, i++, ostel_summary_signal_text(r, sig, sizeof(sig)));
    if (r->has_oom_killed)
        sqlite3_bind_int(st, i, r->oom_killed);
    i++;
    bind_number_or_null(st, i++, r->start_ts_s);
    bind_number_or_null(st, i++, r->end_ts_s);
    bind_number_or_null(st, i++, r->wall_s);
    bind_text_or_null(st, i++, r->tool);
    bind_text_or_null(st, i++, r->model);
    bind_number_or_null(st, i++, r->ctx >= 0 ? (double)r->ctx : NAN);
    bind_number_or_null(st, i++, r->gen >= 0 ? (double)r->gen : NAN);
    bind_text_or_null(st, i++, r->scenario);
    bind_number_or_null(st, i++, r->repetition > 0 ? r->repetition : NAN);
    bind_text_or_null(st, i++, sum->ostel_version);
    static const char *const tel[] = {"samples", "interval_ms", "interval_ms_mean",
                                      "interval_ms_p99"};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(tel); k++)
        bind_tree_number(st, i++, sum->telemetry, tel[k]);
    const double timings[] = {lf.load_ms,    lf.prompt_tokens, lf.prompt_ms,      lf.prompt_tps,
                              lf.gen_tokens, lf.gen_ms,        lf.timings_gen_tps};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(timings); k++)
        bind_number_or_null(st, i++, timings[k]);
    static const char *const overall[] = {"overall.rss_peak_mib",
                                          "overall.rss_anon_peak_mib",
                                          "overall.rss_file_peak_mib",
                                          "overall.swap_peak_mib",
                                          "overall.cpu_mean_pct",
                                          "overall.majflt",
                                          "overall.pageouts",
                                          "overall.swapouts",
                                          "overall.pressure_worst",
                                          "overall.avail_min_pct",
                                          "ostel_cpu.ms",
                                          "ostel_cpu.us_per_sample"};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(overall); k++)
        bind_tree_number(st, i++, sum->telemetry, overall[k]);
    bind_text_or_null(st, i++, ostel_summary_jstr(sum->gpu, "backend"));
    static const char *const gpu[] = {"run.generate_energy_j", "run.j_per_token",
                                      "run.tokens_per_j",      "run.prompt_j_per_token",
                                      "run.peak_proc_mem_mb",  "run.vram_beyond_llama_mb"};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(gpu); k++)
        bind_tree_number(st, i++, sum->gpu, gpu[k]);
}

static int insert_run_row(struct ostel_store *s, const struct run_files *f, const char *key,
                          const char *dir, const struct ostel_store_import_opts *opts, int64_t mid,
                          const char *header, int64_t *run_id)
{
    /* the statement's text only until it is prepared (once per database) */
    char *sql = s->stmt[STMT_INSERT_RUN]
                    ? NULL
                    : insert_sql("runs", run_fixed_cols, OSTEL_ARRAY_LEN(run_fixed_cols), run_cols,
                                 OSTEL_ARRAY_LEN(run_cols));
    sqlite3_stmt *st = stmt_get(s, STMT_INSERT_RUN, sql);
    free(sql);
    if (!st)
        return OSTEL_ERR;

    char now[32];
    now_iso(now);
    char *spec = opts && opts->spec_hash ? ostel_xstrdup(opts->spec_hash)
                                         : config_get(f, OSTEL_CFG_SPEC_HASH);
    char *llama_version = config_get(f, OSTEL_CFG_LLAMA_VERSION);
    int i = 1;
    sqlite3_bind_text(st, i++, key, -1, SQLITE_TRANSIENT);
    if (opts && opts->study_id > 0)
        sqlite3_bind_int64(st, i, opts->study_id);
    i++;
    if (mid > 0)
        sqlite3_bind_int64(st, i, mid);
    i++;
    bind_text_or_null(st, i++, spec);
    sqlite3_bind_text(st, i++, f->abs_dir ? f->abs_dir : dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, i++, now, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, i++, f->sum.host.kernel);
    bind_text_or_null(st, i++, llama_version);
    sqlite3_bind_text(st, i++, f->summary.data, (int)f->summary.len, SQLITE_STATIC);
    if (f->have_config)
        sqlite3_bind_text(st, i, f->config.data, (int)f->config.len, SQLITE_STATIC);
    i++;
    sqlite3_bind_text(st, i++, header, -1, SQLITE_TRANSIENT);
    free(llama_version);

    const char *bad = f->mistyped;
    if (bad) {
        free(spec);
        return ostel_error("'%s': \"%s\" has the wrong type", f->summary_path, bad);
    }
    bind_run_cols(st, i, &f->sum);
    int step = sqlite3_step(st);
    if ((step & 0xff) == SQLITE_CONSTRAINT && spec && opts && opts->study_id > 0 &&
        sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE &&
        strstr(sqlite3_errmsg(s->db), "runs.spec_hash")) {
        int rc = find_run_of_spec(s, opts->study_id, spec, f->sum.run.repetition, run_id);
        free(spec);
        return rc;
    }
    free(spec);
    if (step != SQLITE_DONE)
        return ostel_store_sql_error(s, "inserting the run");
    *run_id = sqlite3_last_insert_rowid(s->db);
    return OSTEL_OK;
}

/* The streaming reader's samples go in SAMPLE_BATCH rows per INSERT (the statement's own cost,
 * paid per row, was a fifth of an import); the last rows of a run one by one. */
#define SAMPLE_BATCH 32
/* table samples' typed number columns (store_rundir.h), in the column table's order: looked up
 * once per run, not per value */
struct typed_cols {
    int n;
    unsigned char col[OSTEL_COL_COUNT];
};

static void typed_cols_init(struct typed_cols *t)
{
    t->n = 0;
    for (int c = 0; c < OSTEL_COL_COUNT; c++)
        if (ostel_store_col_typed((enum ostel_metric_col)c))
            t->col[t->n++] = (unsigned char)c;
}

static void bind_sample(sqlite3_stmt *st, const struct typed_cols *t, int base, int64_t run_id,
                        int64_t seq, const struct ostel_store_sample *sample)
{
    const struct ostel_metrics_row *row = &sample->row;
    sqlite3_bind_int64(st, base + 1, run_id);
    sqlite3_bind_int64(st, base + 2, seq);
    int p = base + 3;
    for (int i = 0; i < t->n; i++, p++) {
        enum ostel_metric_col c = (enum ostel_metric_col)t->col[i];
        if (ostel_metrics_has(row, c))
            bind_number(st, p, row->v[c]);
        else
            sqlite3_bind_null(st, p);
    }
    if (row->phase != OSTEL_PHASE_NONE)
        sqlite3_bind_text(st, p, ostel_metrics_phase_name(row->phase), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, p);
    bind_text_or_null(st, p + 1, sample->extra);
}

/*
 * The gathered rows of the run being imported as a table, for one INSERT … SELECT per run: an
 * eponymous virtual table, ostel_import_samples, registered on a connection when it first imports
 * gathered rows (nothing of it is stored in the database). Its columns are samples' in the order
 * insert_samples names them (run_id, seq, the typed columns, phase, extra), its rows the run's in
 * file order. Each value reaches SQLite through sqlite3_result_* where the multi-row INSERT bound
 * it with sqlite3_bind_* (a fifth of the inserting thread's instructions) and copied each
 * parameter into the statement: the same values with the same types (bind_number's rule), so the
 * same rows.
 */
struct samples_src {
    const struct ostel_store_metrics_rows *rows; /* the run's, set around the INSERT's step */
    int64_t run_id;
    struct typed_cols typed;
};

struct samples_vtab {
    sqlite3_vtab base;
    struct samples_src *src;
};

struct samples_cursor {
    sqlite3_vtab_cursor base;
    size_t i;
};

static int samples_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                           sqlite3_vtab **out, char **err)
{
    (void)argc;
    (void)argv;
    (void)err;
    struct samples_src *src = aux;
    struct ostel_buf q;
    ostel_buf_init(&q, 0);
    ostel_buf_puts(&q, "CREATE TABLE x(run_id, seq");
    for (int i = 0; i < src->typed.n; i++)
        ostel_buf_printf(&q, ", %s",
                         ostel_metrics_col_name((enum ostel_metric_col)src->typed.col[i]));
    ostel_buf_puts(&q, ", phase, extra)");
    int rc = sqlite3_declare_vtab(db, q.data);
    ostel_buf_free(&q);
    if (rc != SQLITE_OK)
        return rc;
    struct samples_vtab *v = sqlite3_malloc(sizeof(*v));
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof(*v));
    v->src = src;
    *out = &v->base;
    return SQLITE_OK;
}

static int samples_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int samples_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    info->estimatedCost = 1e6;
    return SQLITE_OK;
}

static int samples_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    struct samples_cursor *c = sqlite3_malloc(sizeof(*c));
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    *out = &c->base;
    return SQLITE_OK;
}

static int samples_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int samples_filter(sqlite3_vtab_cursor *c, int idx, const char *idx_str, int argc,
                          sqlite3_value **argv)
{
    (void)idx;
    (void)idx_str;
    (void)argc;
    (void)argv;
    ((struct samples_cursor *)c)->i = 0;
    return SQLITE_OK;
}

static int samples_next(sqlite3_vtab_cursor *c)
{
    ((struct samples_cursor *)c)->i++;
    return SQLITE_OK;
}

static int samples_eof(sqlite3_vtab_cursor *c)
{
    const struct samples_src *src = ((struct samples_vtab *)c->pVtab)->src;
    return !src->rows || ((struct samples_cursor *)c)->i >= src->rows->n;
}

/* Column k of the current row, as bind_sample binds it: nothing set is NULL. */
static int samples_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int k)
{
    const struct samples_src *src = ((struct samples_vtab *)c->pVtab)->src;
    size_t i = ((struct samples_cursor *)c)->i;
    const struct ostel_metrics_row *row = &src->rows->rows[i].row;
    int t = k - 2;
    if (t >= 0 && t < src->typed.n) {
        unsigned col = src->typed.col[t];
        double v = row->v[col];
        if (!((row->valid >> col) & 1u)) /* ostel_metrics_has */
            return SQLITE_OK;
        if (v == floor(v) && fabs(v) < 9007199254740992.0) /* bind_number's rule */
            sqlite3_result_int64(ctx, (sqlite3_int64)v);
        else
            sqlite3_result_double(ctx, v);
    } else if (k == 0) {
        sqlite3_result_int64(ctx, src->run_id);
    } else if (k == 1) {
        sqlite3_result_int64(ctx, (sqlite3_int64)i);
    } else if (t == src->typed.n) {
        if (row->phase != OSTEL_PHASE_NONE)
            sqlite3_result_text(ctx, ostel_metrics_phase_name(row->phase), -1, SQLITE_STATIC);
    } else {
        size_t at = src->rows->extra_at[i];
        if (at != SIZE_MAX)
            sqlite3_result_text(ctx, src->rows->extra.data + at, -1, SQLITE_STATIC);
    }
    return SQLITE_OK;
}

static int samples_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *out)
{
    *out = (sqlite3_int64)((struct samples_cursor *)c)->i;
    return SQLITE_OK;
}

static const sqlite3_module samples_module = {
    .iVersion = 0,
    .xConnect = samples_connect,
    .xBestIndex = samples_best_index,
    .xDisconnect = samples_disconnect,
    .xOpen = samples_open,
    .xClose = samples_close,
    .xFilter = samples_filter,
    .xNext = samples_next,
    .xEof = samples_eof,
    .xColumn = samples_column,
    .xRowid = samples_rowid,
};

/* The gathered rows of one run in one INSERT … SELECT from ostel_import_samples. */
static int insert_gathered_samples(struct ostel_store *s,
                                   const struct ostel_store_metrics_rows *rows, int64_t run_id)
{
    if (!s->samples_src) {
        struct samples_src *src = ostel_xcalloc(1, sizeof(*src));
        typed_cols_init(&src->typed);
        if (sqlite3_create_module_v2(s->db, "ostel_import_samples", &samples_module, src, free) !=
            SQLITE_OK)
            return ostel_store_sql_error(s, "preparing samples");
        s->samples_src = src;
    }
    struct samples_src *src = s->samples_src;
    sqlite3_stmt *st = s->stmt[STMT_INSERT_SAMPLES_RUN];
    if (!st) {
        static const char *const tail[] = {"phase", "extra"};
        const char *names[2 + OSTEL_COL_COUNT];
        size_t nnames = 0;
        names[nnames++] = "run_id";
        names[nnames++] = "seq";
        for (int i = 0; i < src->typed.n; i++)
            names[nnames++] = ostel_metrics_col_name((enum ostel_metric_col)src->typed.col[i]);
        char *sql = insert_sql("samples", names, nnames, tail, 2);
        struct ostel_buf q;
        ostel_buf_init(&q, 0);
        /* OR FAIL: as the multi-row INSERT below */
        ostel_buf_puts(&q, "INSERT OR FAIL");
        ostel_buf_append(&q, sql + strlen("INSERT"),
                         (size_t)(strstr(sql, " VALUES(") - sql) - strlen("INSERT"));
        ostel_buf_puts(&q, " SELECT * FROM ostel_import_samples");
        free(sql);
        st = stmt_get(s, STMT_INSERT_SAMPLES_RUN, q.data);
        ostel_buf_free(&q);
        if (!st)
            return OSTEL_ERR;
    }
    src->rows = rows;
    src->run_id = run_id;
    int rc = sqlite3_step(st);
    src->rows = NULL;
    int out = rc == SQLITE_DONE ? OSTEL_OK : ostel_store_sql_error(s, "inserting samples");
    sqlite3_reset(st);
    return out;
}

/*
 * samples: the rows the validator gathered in one statement (insert_gathered_samples), else the
 * reader's (also when the gathered extra columns' JSON outgrew its buffer: the reader builds each
 * row's on its own, nothing is cut), SAMPLE_BATCH rows per INSERT.
 */
static int insert_samples(struct ostel_store *s, const struct run_files *f, int64_t run_id)
{
    if (f->rows.on && !f->rows.extra.overflow)
        return insert_gathered_samples(s, &f->rows, run_id);

    static const char *const tail[] = {"phase", "extra"};
    struct typed_cols typed;
    typed_cols_init(&typed);
    const int params = 4 + typed.n; /* a row's: run_id, seq, the typed columns, phase, extra */
    const char *names[2 + OSTEL_COL_COUNT];
    size_t nnames = 0;
    names[nnames++] = "run_id";
    names[nnames++] = "seq";
    for (int i = 0; i < typed.n; i++)
        names[nnames++] = ostel_metrics_col_name((enum ostel_metric_col)typed.col[i]);
    /* the statements' text only until they are prepared (once per database) */
    bool prepared = s->stmt[STMT_INSERT_SAMPLE] && s->stmt[STMT_INSERT_SAMPLES];
    char *sql = prepared ? NULL : insert_sql("samples", names, nnames, tail, 2);
    struct ostel_buf q;
    ostel_buf_init(&q, 0);
    if (sql) {
        /* OR FAIL: no statement journal per INSERT (the pages it changes copied first, so that a
         * failing row could undo the statement's earlier rows). A failure here fails the run,
         * whose savepoint or transaction its caller rolls back whole, those rows with it. */
        const char *values = strstr(sql, " VALUES(") + strlen(" VALUES");
        ostel_buf_puts(&q, "INSERT OR FAIL");
        ostel_buf_puts(&q, sql + strlen("INSERT"));
        for (int k = 1; k < SAMPLE_BATCH; k++) {
            ostel_buf_putc(&q, ',');
            ostel_buf_puts(&q, values);
        }
    }
    sqlite3_stmt *st = stmt_get(s, STMT_INSERT_SAMPLE, sql);
    sqlite3_stmt *many = st ? stmt_get(s, STMT_INSERT_SAMPLES, q.data) : NULL;
    ostel_buf_free(&q);
    free(sql);
    if (!st || !many)
        return OSTEL_ERR;

    struct ostel_store_metrics_reader r;
    char err[256];
    if (ostel_store_metrics_reader_init(&r, f->metrics.data, f->metrics.len, err, sizeof(err)))
        return ostel_error("'%s': %s", f->metrics_path, err);
    struct ostel_store_sample rows[SAMPLE_BATCH];
    char *extras[SAMPLE_BATCH] = {0};
    int64_t seq = 0;
    size_t n = 0;
    int rc, out = OSTEL_OK;
    for (;;) {
        rc = ostel_store_metrics_reader_next(&r, &rows[n], err, sizeof(err));
        if (rc == 1) { /* the reader's extra lasts until its next row: a copy */
            free(extras[n]);
            extras[n] = rows[n].extra ? ostel_xstrdup(rows[n].extra) : NULL;
            rows[n].extra = extras[n];
            n++;
        }
        if (n == SAMPLE_BATCH || (rc != 1 && n > 0)) {
            bool all = n == SAMPLE_BATCH;
            for (size_t k = 0; k < n && out == OSTEL_OK; k++) {
                sqlite3_stmt *t = all ? many : st;
                if (!all)
                    sqlite3_reset(st);
                bind_sample(t, &typed, all ? (int)k * params : 0, run_id, seq++, &rows[k]);
                if ((!all || k + 1 == n) && sqlite3_step(t) != SQLITE_DONE)
                    out = ostel_store_sql_error(s, "inserting samples");
            }
            sqlite3_reset(many);
            n = 0;
        }
        if (rc != 1 || out != OSTEL_OK)
            break;
    }
    for (size_t k = 0; k < SAMPLE_BATCH; k++)
        free(extras[k]);
    ostel_store_metrics_reader_free(&r);
    sqlite3_reset(st);
    if (out != OSTEL_OK)
        return out;
    if (rc < 0)
        return ostel_error("'%s': %s", f->metrics_path, err);
    return OSTEL_OK;
}

/* PHASE STATS (rundir_phase_stats.h): phase_summaries' columns are the table's statistics with an
 * SQL type, named like the JSON keys, in its order; a phase that is null has no row. Returns their
 * count, their keys in keys[]. */
static size_t phase_sql_keys(const char *keys[OSTEL_PHASE_STAT_COUNT])
{
    size_t n = 0;
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++) {
        const struct ostel_phase_stat_info *info = ostel_phase_stat((enum ostel_phase_stat)k);
        if (info->sql)
            keys[n++] = info->key;
    }
    return n;
}

/*
 * item[k]: the member of obj named keys[k], the first of that name as
 * cJSON_GetObjectItemCaseSensitive finds it, or NULL. One pass over the members, each tried first
 * against the name after the previous one's (the aggregator writes them in the table's order),
 * instead of a search of the object per statistic.
 */
static void phase_items(const cJSON *obj, const char *const *keys, size_t n, const cJSON **item)
{
    for (size_t k = 0; k < n; k++)
        item[k] = NULL;
    size_t next = 0;
    for (const cJSON *c = obj->child; c && c->string; c = c->next) {
        size_t k = next;
        if (k >= n || strcmp(c->string, keys[k]) != 0)
            for (k = 0; k < n && strcmp(c->string, keys[k]) != 0; k++)
                ;
        if (k < n && !item[k])
            item[k] = c;
        next = k + 1;
    }
}

static int insert_phases(struct ostel_store *s, const struct run_files *f, int64_t run_id)
{
    static const char *const head[] = {"run_id", "phase"};
    const char *stats[OSTEL_PHASE_STAT_COUNT];
    size_t nstats = phase_sql_keys(stats);
    char *sql =
        s->stmt[STMT_INSERT_PHASE] ? NULL : insert_sql("phase_summaries", head, 2, stats, nstats);
    sqlite3_stmt *st = stmt_get(s, STMT_INSERT_PHASE, sql);
    free(sql);
    if (!st)
        return OSTEL_ERR;
    for (size_t p = 0; p < OSTEL_ARRAY_LEN(phase_keys); p++) {
        char path[64];
        snprintf(path, sizeof(path), p == 0 ? "telemetry.%s" : "telemetry.phases.%s",
                 phase_keys[p]);
        /* the aggregator's section, as rundir's reader holds it */
        const cJSON *obj = ostel_summary_jpath(f->sum.telemetry, path + strlen("telemetry."));
        if (!obj || cJSON_IsNull(obj))
            continue;
        if (!cJSON_IsObject(obj))
            return ostel_error("'%s': \"%s\" is not an object", f->summary_path, path);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, phase_keys[p], -1, SQLITE_STATIC);
        const cJSON *item[OSTEL_PHASE_STAT_COUNT];
        phase_items(obj, stats, nstats, item);
        for (size_t k = 0; k < nstats; k++) {
            const cJSON *v = item[k]; /* as ostel_store_json_number reads it */
            if (!v || cJSON_IsNull(v))
                continue;
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                return ostel_error("'%s': \"%s.%s\" is not a number", f->summary_path, path,
                                   stats[k]);
            bind_number(st, 3 + (int)k, v->valuedouble);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            return ostel_store_sql_error(s, "inserting phase summaries");
    }
    return OSTEL_OK;
}

/* llama.memory_breakdown: written by the log parser (docs/parse.md); unexpected shapes are skipped.
 */
static int insert_memory(struct ostel_store *s, const struct run_files *f, int64_t run_id)
{
    struct ostel_summary_llama_facts lf; /* llama.memory_breakdown, or the older "breakdown" */
    ostel_summary_llama_facts(&f->sum, &lf);
    const cJSON *arr = lf.breakdown;
    if (!cJSON_IsArray(arr))
        return OSTEL_OK;
    static const char *const head[] = {"run_id", "seq", "device", "description"};
    char *sql = s->stmt[STMT_INSERT_MEMORY] ? NULL
                                            : insert_sql("memory_breakdown", head, 4, memory_cols,
                                                         OSTEL_ARRAY_LEN(memory_cols));
    sqlite3_stmt *st = stmt_get(s, STMT_INSERT_MEMORY, sql);
    free(sql);
    if (!st)
        return OSTEL_ERR;
    int seq = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, arr)
    {
        const char *device = NULL, *desc = NULL;
        if (ostel_store_json_string(row, "device", &device) != 1 || !*device)
            continue;
        ostel_store_json_string(row, "description", &desc);
        /* "CUDA0 (H100)" as llama.cpp prints it: the name, and the description in brackets */
        size_t name_len = strcspn(device, " (");
        const char *open = strstr(device, " (");
        size_t dlen = strlen(device);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int(st, 2, seq++);
        sqlite3_bind_text(st, 3, device, (int)name_len, SQLITE_TRANSIENT);
        if (desc)
            sqlite3_bind_text(st, 4, desc, -1, SQLITE_TRANSIENT);
        else if (open && dlen > 0 && device[dlen - 1] == ')')
            sqlite3_bind_text(st, 4, open + 2, (int)(device + dlen - 1 - (open + 2)),
                              SQLITE_TRANSIENT);
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(memory_cols); k++) {
            /* "self" or "self_mib": both are MiB */
            char bare[32];
            size_t n = strlen(memory_cols[k]) - 4;
            memcpy(bare, memory_cols[k], n);
            bare[n] = '\0';
            double v;
            if (ostel_store_json_number(row, memory_cols[k], &v) == 1 ||
                ostel_store_json_number(row, bare, &v) == 1)
                bind_number(st, 5 + (int)k, v);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            return ostel_store_sql_error(s, "inserting the memory breakdown");
    }
    return OSTEL_OK;
}

/*
 * scenarios: a run under background load. The name is run.scenario (or a "scenario" object's
 * "name"); the definition is config.txt's scenario_spec or the object's "definition"; the object's
 * "telemetry" (the load's own summary) is kept as JSON with two numbers pulled out.
 */
static int insert_scenario(struct ostel_store *s, const struct run_files *f, int64_t run_id)
{
    const char *name = f->sum.run.scenario, *def = NULL;
    const cJSON *obj = ostel_summary_section(&f->sum, "scenario");
    if (!cJSON_IsObject(obj))
        obj = NULL;
    if (!name && obj)
        ostel_store_json_string(obj, "name", &name);
    if (!name || !*name || strcmp(name, "none") == 0)
        return OSTEL_OK;
    char *cfg_def = config_get(f, OSTEL_CFG_SCENARIO_SPEC);
    if (obj)
        ostel_store_json_string(obj, "definition", &def);
    sqlite3_stmt *st = stmt_get(s, STMT_INSERT_SCENARIO,
                                "INSERT INTO scenarios(run_id, name, definition, telemetry_json, "
                                "rss_peak_mib, cpu_mean_pct, kind, asked_mib, held_mib_at_start, "
                                "ready_s) VALUES(?,?,?,?,?,?,?,?,?,?)");
    if (!st) {
        free(cfg_def);
        return OSTEL_ERR;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 3, def ? def : cfg_def);
    free(cfg_def);
    const cJSON *tel = obj ? ostel_store_json_get(obj, "telemetry") : NULL;
    if (cJSON_IsObject(tel)) {
        char *txt = cJSON_PrintUnformatted(tel);
        OSTEL_ASSERT(txt);
        sqlite3_bind_text(st, 4, txt, -1, SQLITE_TRANSIENT);
        free(txt);
        double v;
        if (ostel_store_json_number(tel, "rss_peak_mib", &v) == 1)
            sqlite3_bind_double(st, 5, v);
        if (ostel_store_json_number(tel, "cpu_mean_pct", &v) == 1)
            sqlite3_bind_double(st, 6, v);
    }
    if (obj) {
        const char *kind = NULL;
        if (ostel_store_json_string(obj, "kind", &kind) == 1)
            sqlite3_bind_text(st, 7, kind, -1, SQLITE_TRANSIENT);
        static const char *const nums[] = {"asked_mib", "held_mib_at_start", "ready_s"};
        for (int k = 0; k < 3; k++) {
            double v;
            if (ostel_store_json_number(obj, nums[k], &v) == 1)
                sqlite3_bind_double(st, 8 + k, v);
        }
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return ostel_store_sql_error(s, "inserting the scenario");
    return OSTEL_OK;
}

int ostel_store_run_add_dir(struct ostel_store *s, const char *dir,
                            const struct ostel_store_import_opts *opts, int64_t *run_id)
{
    if (s->pg)
        return ostel_store_pg_run_add_dir(s, dir, opts, run_id);
    OSTEL_ASSERT(s->in_tx);
    struct run_files f;
    char *key = NULL, *header = NULL;
    int64_t id = 0, mid = 0;
    int rc = OSTEL_ERR;
    if (run_files_read(s, dir, &f) != OSTEL_OK || run_key(&f, &key) != OSTEL_OK)
        goto out;
    int found = find_run(s, key, &id);
    if (found < 0)
        goto out;
    if (found == 1) {
        rc = OSTEL_STORE_ALREADY;
        goto out;
    }
    struct ostel_str rest = ostel_str_make(f.metrics.data, f.metrics.len), line;
    if (!ostel_str_next_line(&rest, &line)) {
        ostel_error("'%s': line 1: no header", f.metrics_path);
        goto out;
    }
    header = ostel_xstrndup(line.p, line.n);
    if (machine_id(s, &f, &mid) != OSTEL_OK ||
        (rc = insert_run_row(s, &f, key, dir, opts, mid, header, &id)) != OSTEL_OK) {
        if (rc != OSTEL_STORE_ALREADY)
            rc = OSTEL_ERR;
        goto out;
    }
    rc = OSTEL_ERR;
    if (insert_samples(s, &f, id) != OSTEL_OK || insert_phases(s, &f, id) != OSTEL_OK ||
        insert_memory(s, &f, id) != OSTEL_OK || insert_scenario(s, &f, id) != OSTEL_OK ||
        ostel_store_insert_quality(s, f.doc, id) != OSTEL_OK ||
        ostel_store_insert_serve(s, dir, f.doc, id) != OSTEL_OK)
        goto out;
    rc = OSTEL_STORE_ADDED;
out:
    if (run_id && rc >= 0)
        *run_id = id;
    free(key);
    free(header);
    run_files_release(s, &f);
    return rc;
}

/* The journal mode the file is in after "PRAGMA journal_mode=<mode>" (lowercase), "" when the
 * pragma failed (busy: another connection holds the file in WAL mode). */
static void set_journal_mode(struct ostel_store *s, const char *mode, char out[16])
{
    out[0] = '\0';
    char *sql = ostel_xasprintf("PRAGMA journal_mode=%s", mode);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    free(sql);
}

/*
 * A bulk import (the first batch of this connection) into a database with no run yet writes
 * through a rollback journal instead of the WAL. In WAL mode every page is written twice, into the
 * WAL and then by the checkpoint into the file; with a rollback journal the pages an import appends
 * past the file's end are written once, and only the few existing pages it changes go to the
 * journal first. A batch stays one transaction either way: a killed import leaves a hot journal
 * that the next writer to open the file rolls back (ostel_store_open), so the database is as it was
 * before that batch, and a reader meanwhile sees the file is not in WAL mode and opens it with
 * locks (ostel_store_readonly_uri), which refuses to read around a hot journal. synchronous=FULL is
 * the rollback journal's safe setting across an OS crash (NORMAL is WAL's). The switch needs the
 * file to itself: when another connection has it open in WAL mode (a study, a report), the import
 * stays in WAL mode, asking once without waiting. ostel_store_close() switches the file back.
 * Either way a bigger page cache keeps a batch's pages in memory until its commit, and the
 * savepoints' sub-journals stay in memory (temp_store): each run's savepoint (a batch's
 * ostel_store_import_run_dir) and each multi-row INSERT's statement journal copy the pages they
 * change that existed before them, about 30 pages a run, which went to a temporary file, written
 * and dropped run after run (a third of the import's system time).
 */
static void bulk_journal(struct ostel_store *s)
{
    if (s->bulk_tried)
        return;
    s->bulk_tried = true;
    sqlite3_exec(s->db, "PRAGMA cache_size=-65536", NULL, NULL, NULL); /* KiB: 64 MiB */
    sqlite3_exec(s->db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
    /* Only into a database that holds no run yet. A reader of a WAL database without a -wal file
     * opens it immutable, with no lock (store_uri.c), so nothing tells the import it is there; in
     * WAL mode the import writes beside such a reader, in rollback mode it would rewrite pages
     * under it. A database with runs may have such readers; one without has nothing to read. */
    sqlite3_stmt *st = NULL;
    bool empty = sqlite3_prepare_v2(s->db, "SELECT NOT EXISTS (SELECT 1 FROM runs)", -1, &st,
                                    NULL) == SQLITE_OK &&
                 sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    if (!empty)
        return;
    char mode[16];
    sqlite3_busy_timeout(s->db, 0);
    set_journal_mode(s, "DELETE", mode);
    sqlite3_busy_timeout(s->db, OSTEL_STORE_BUSY_TIMEOUT_MS);
    if (strcmp(mode, "delete") != 0)
        return;
    s->bulk_journal = true;
    sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
}

/* Back to WAL after a bulk import (ostel_store_open does the same for a file a killed import
 * left in rollback mode). */
static void bulk_journal_end(struct ostel_store *s)
{
    if (!s->bulk_journal || s->in_tx)
        return;
    s->bulk_journal = false;
    if (exec_retry_busy(s, "PRAGMA journal_mode=WAL") == OSTEL_OK)
        sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
}

int ostel_store_batch_begin(struct ostel_store *s)
{
    if (s->pg)
        return OSTEL_OK; /* PostgreSQL keeps one transaction per run (docs/fleet.md) */
    if (!s->readonly)
        bulk_journal(s);
    /* A batch only inserts, each child row right after its run row, with the id that INSERT
     * returned: the foreign keys hold by construction and nothing cascades. Their check per row (a
     * seek into runs for every sample) was a tenth of an import, so a batch runs without it; the
     * pragma takes effect only outside a transaction, hence before BEGIN and after COMMIT. */
    if (exec(s, "PRAGMA foreign_keys=OFF") != OSTEL_OK)
        return OSTEL_ERR;
    if (ostel_store_run_begin(s) != OSTEL_OK) {
        exec(s, "PRAGMA foreign_keys=ON");
        return OSTEL_ERR;
    }
    s->in_batch = true;
    return OSTEL_OK;
}

int ostel_store_batch_commit(struct ostel_store *s)
{
    if (!s->in_batch)
        return OSTEL_OK;
    s->in_batch = false;
    int rc = ostel_store_run_commit(s);
    if (exec(s, "PRAGMA foreign_keys=ON") != OSTEL_OK)
        rc = OSTEL_ERR;
    return rc;
}

int ostel_store_import_run_dir(struct ostel_store *s, const char *dir,
                               const struct ostel_store_import_opts *opts, int64_t *run_id)
{
    if (s->in_batch) {
        /* Inside a batch's transaction: a savepoint per run, so a bad run leaves nothing and the
         * batch goes on; one COMMIT (one fsync) for the whole batch. */
        if (exec_prepared(s, STMT_SAVEPOINT, "SAVEPOINT run") != OSTEL_OK)
            return OSTEL_ERR;
        int rc = ostel_store_run_add_dir(s, dir, opts, run_id);
        if (rc < 0) {
            sqlite3_exec(s->db, "ROLLBACK TO run; RELEASE run", NULL, NULL, NULL);
            return rc;
        }
        if (exec_prepared(s, STMT_RELEASE, "RELEASE run") != OSTEL_OK)
            return OSTEL_ERR;
        return rc;
    }
    if (ostel_store_run_begin(s) != OSTEL_OK)
        return OSTEL_ERR;
    int rc = ostel_store_run_add_dir(s, dir, opts, run_id);
    if (rc < 0) {
        ostel_store_run_rollback(s);
        return rc;
    }
    if (ostel_store_run_commit(s) != OSTEL_OK)
        return OSTEL_ERR;
    return rc;
}

int ostel_store_study_lock(struct ostel_store *s, const char *name)
{
    if (s->pg)
        return ostel_store_pg_study_lock(s, name);
    OSTEL_ASSERT(!s->in_tx);
    if (exec_retry_busy(s, "BEGIN IMMEDIATE") != OSTEL_OK)
        return OSTEL_ERR;
    s->in_tx = true;
    return OSTEL_OK;
}

int ostel_store_study_unlock(struct ostel_store *s, bool commit)
{
    if (s->pg)
        return ostel_store_pg_study_unlock(s, commit);
    OSTEL_ASSERT(s->in_tx);
    if (commit && exec_retry_busy(s, "COMMIT") != OSTEL_OK) {
        /* a COMMIT that failed leaves the transaction open: end it, as ostel_store_run_commit */
        ostel_store_run_rollback(s);
        return OSTEL_ERR;
    }
    if (!commit)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = false;
    return OSTEL_OK;
}

int ostel_store_run_is_complete(struct ostel_store *s, int64_t study_id, const char *spec_hash)
{
    if (s->pg)
        return ostel_store_pg_run_is_complete(s, study_id, spec_hash);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM runs WHERE spec_hash=? AND study_id=? AND status IN "
                           "('ok','failed','killed','timeout') LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "looking up a run");
    sqlite3_bind_text(st, 1, spec_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, study_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : ostel_store_sql_error(s, "looking up a run");
}

/* ---- reading back -----------------------------------------------------------------------------
 */

int ostel_store_list_runs(struct ostel_store *s, int64_t study_id, const char *tag, int64_t **ids,
                          size_t *n)
{
    if (s->pg)
        return ostel_store_pg_list_runs(s, study_id, tag, ids, n);
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM runs WHERE (?1 <= 0 OR study_id = ?1) "
                           "AND (?2 IS NULL OR tag = ?2) ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "listing runs");
    sqlite3_bind_int64(st, 1, study_id);
    bind_text_or_null(st, 2, tag);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *ids = ostel_xrealloc(*ids, cap * sizeof(**ids));
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return ostel_store_sql_error(s, "listing runs");
    }
    return OSTEL_OK;
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? ostel_xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

int ostel_store_load_run(struct ostel_store *s, int64_t id, struct ostel_store_run_record *out)
{
    if (s->pg)
        return ostel_store_pg_load_run(s, id, out);
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT run_key, run_dir, summary_json, config_text, metrics_header "
                           "FROM runs WHERE id=?",
                           -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "reading a run");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? ostel_error("%s: no run with id %lld", s->path, (long long)id)
                                 : ostel_store_sql_error(s, "reading a run");
    }
    out->id = id;
    out->run_key = col_strdup(st, 0);
    out->run_dir = col_strdup(st, 1);
    out->summary_json = col_strdup(st, 2);
    out->config_text = col_strdup(st, 3);
    out->metrics_header = col_strdup(st, 4);
    sqlite3_finalize(st);

    struct ostel_buf q;
    ostel_buf_init(&q, 0);
    ostel_buf_puts(&q, "SELECT phase, extra");
    for (int c = 0; c < OSTEL_COL_COUNT; c++)
        if (ostel_store_col_typed((enum ostel_metric_col)c))
            ostel_buf_printf(&q, ", %s", ostel_metrics_col_name((enum ostel_metric_col)c));
    ostel_buf_puts(&q, " FROM samples WHERE run_id=? ORDER BY seq");
    rc = sqlite3_prepare_v2(s->db, q.data, -1, &st, NULL);
    ostel_buf_free(&q);
    if (rc != SQLITE_OK) {
        ostel_store_run_record_free(out);
        return ostel_store_sql_error(s, "reading samples");
    }
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nsamples == cap) {
            cap = cap ? cap * 2 : 256;
            out->samples = ostel_xrealloc(out->samples, cap * sizeof(*out->samples));
        }
        struct ostel_store_sample *r = &out->samples[out->nsamples++];
        memset(r, 0, sizeof(*r));
        const char *ph = (const char *)sqlite3_column_text(st, 0);
        r->row.phase =
            ph ? ostel_metrics_phase_from_name(ostel_str_from_cstr(ph)) : OSTEL_PHASE_NONE;
        r->extra = col_strdup(st, 1);
        int k = 2;
        for (int c = 0; c < OSTEL_COL_COUNT; c++) {
            if (!ostel_store_col_typed((enum ostel_metric_col)c))
                continue;
            if (sqlite3_column_type(st, k) != SQLITE_NULL)
                ostel_metrics_set(&r->row, (enum ostel_metric_col)c, sqlite3_column_double(st, k));
            k++;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ostel_store_run_record_free(out);
        return ostel_store_sql_error(s, "reading samples");
    }
    return OSTEL_OK;
}

void ostel_store_run_record_free(struct ostel_store_run_record *r)
{
    for (size_t i = 0; i < r->nsamples; i++)
        free(r->samples[i].extra);
    free(r->samples);
    free(r->run_key);
    free(r->run_dir);
    free(r->summary_json);
    free(r->config_text);
    free(r->metrics_header);
    memset(r, 0, sizeof(*r));
}

/* Writes one number as metrics.csv does: ts with 3 decimals, integers bare, others shortest. */
static void put_number(struct ostel_buf *b, enum ostel_metric_col c, double v)
{
    if (c == OSTEL_COL_TS)
        ostel_buf_printf(b, "%.3f", v);
    else if (v == floor(v) && fabs(v) < 1e15)
        ostel_buf_printf(b, "%.0f", v);
    else
        ostel_buf_printf(b, "%.17g", v);
}

char *ostel_store_run_record_metrics_csv(const struct ostel_store_run_record *r, size_t *len)
{
    /* Columns as in the original header, so the file reads back the same: the header through the
     * validator's scan and the column table's mapping, as every reader takes it. */
    struct ostel_rundir_metrics_scan *sc = ostel_xmalloc(sizeof(*sc));
    char err[256];
    if (ostel_rundir_metrics_scan_init(sc, r->metrics_header, strlen(r->metrics_header), NULL, err,
                                       sizeof(err)) != 0) {
        free(sc);
        ostel_error("run %lld: stored metrics header: %s", (long long)r->id, err);
        return NULL;
    }
    struct ostel_metrics_header h;
    ostel_metrics_header_map(&h, sc->header, sc->ncols);
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    ostel_buf_printf(&csv, "%s\n", r->metrics_header);
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct ostel_store_sample *row = &r->samples[i];
        cJSON *extra = row->extra ? cJSON_Parse(row->extra) : NULL;
        for (size_t k = 0; k < h.ncols; k++) {
            if (k)
                ostel_buf_putc(&csv, ',');
            int c = h.col[k];
            if (c == OSTEL_COL_PHASE) {
                ostel_buf_puts(&csv, ostel_metrics_phase_name(row->row.phase));
            } else if (c >= 0 && ostel_store_col_typed((enum ostel_metric_col)c)) {
                if (ostel_metrics_has(&row->row, (enum ostel_metric_col)c))
                    put_number(&csv, (enum ostel_metric_col)c, row->row.v[c]);
            } else if (extra) {
                char name[72];
                snprintf(name, sizeof(name), "%.*s", (int)sc->header[k].n, sc->header[k].p);
                const char *v = NULL;
                if (ostel_store_json_string(extra, name, &v) == 1)
                    ostel_buf_puts(&csv, v);
            }
        }
        ostel_buf_putc(&csv, '\n');
        cJSON_Delete(extra);
    }
    free(sc);
    if (csv.overflow) {
        ostel_buf_free(&csv);
        ostel_error("run %lld: metrics too large to rebuild", (long long)r->id);
        return NULL;
    }
    if (len)
        *len = csv.len;
    return ostel_buf_detach(&csv);
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char *p = ostel_xasprintf("%s/%s", dir, name);
    int rc = ostel_file_write_atomic(p, data, len);
    free(p);
    return rc;
}

int ostel_store_write_run_dir(struct ostel_store *s, int64_t id, const char *dir)
{
    struct ostel_store_run_record r;
    if (ostel_store_load_run(s, id, &r) != OSTEL_OK)
        return OSTEL_ERR;
    size_t len = 0;
    char *csv = NULL;
    int rc = OSTEL_ERR;
    if (ostel_mkdir_p(dir) != OSTEL_OK || !(csv = ostel_store_run_record_metrics_csv(&r, &len)) ||
        write_file(dir, "metrics.csv", csv, len) != OSTEL_OK ||
        (r.config_text &&
         write_file(dir, "config.txt", r.config_text, strlen(r.config_text)) != OSTEL_OK) ||
        write_file(dir, "summary.json", r.summary_json, strlen(r.summary_json)) != OSTEL_OK)
        goto out;
    rc = OSTEL_OK;
out:
    free(csv);
    ostel_store_run_record_free(&r);
    return rc;
}
