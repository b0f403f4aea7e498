/*
 * cmd_db: `ostel db import|export|info|checkout` — the results database from the command line.
 *
 * Options may come before or after the positional arguments (`ostel db import DIR… --db F`); the
 * database is --db, else $OSTEL_DB, else ./ostel.db. Each run directory is imported in its own
 * transaction: a bad one is reported and skipped, the others still go in, and the exit status is 1.
 */
#include "cmd/cmd.h"
#include "store/store.h"
#include "util/opt_doc.h"
#include "util/opt.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_DB = 'd', OPT_FORMAT = 'f', OPT_QUIET = 'q', OPT_RUN = 'r', OPT_TABLE = 't' };

struct db_args {
    const char *db;
    const char *format;
    const char *table;
    int64_t run;
    bool quiet;
    char **pos; /* the positionals, "--" or not: argv's strings */
    int npos;
};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct db_args *a = ctx;
    switch (id) {
    case OPT_DB:
        if (!*arg)
            return ostel_error("db: --db needs a file name");
        a->db = arg;
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "csv") != 0 && strcmp(arg, "json") != 0)
            return ostel_error("db: --format must be csv or json, not '%s'", arg);
        a->format = arg;
        return 0;
    case OPT_TABLE:
        if (!ostel_store_export_table_ok(arg))
            return ostel_error("db: unknown table '%s' (runs, samples, phase_summaries, "
                               "scenarios, memory_breakdown, machines, studies)",
                               arg);
        a->table = arg;
        return 0;
    case OPT_RUN:
        if (!ostel_parse_i64(arg, 1, INT64_MAX, &a->run))
            return ostel_error("db: --run needs a run id (a positive integer), not '%s'", arg);
        return 0;
    case OPT_QUIET:
        a->quiet = true;
        return 0;
    }
    return ostel_error("db: unhandled option");
}

static const struct ostel_option import_opts[] = {
    {OPT_DB, "db", "FILE", "OSTEL_DB", "database file (default ./ostel.db)"},
    {OPT_QUIET, "quiet", NULL, NULL, "print only errors"},
};
static const struct ostel_command_help import_help = {
    "db import", "RUN_DIR... [--db FILE]", "load run directories into the database",
    "Each run goes in whole, in one transaction, or not at all. A run already in the database\n"
    "(same run_id, or same start time, tag and host) is skipped, so importing twice is safe."};

static const struct ostel_option export_opts[] = {
    {OPT_DB, "db", "FILE", "OSTEL_DB", "database file (default ./ostel.db)"},
    {OPT_FORMAT, "format", "csv|json", NULL, "output format (default csv)"},
    {OPT_RUN, "run", "ID", NULL, "only this run (runs, samples, phase_summaries, ...)"},
    {OPT_TABLE, "table", "NAME", NULL,
     "runs (default), samples, phase_summaries, scenarios, memory_breakdown, machines, studies"},
};
static const struct ostel_command_help export_help = {
    "db export", "[--format csv|json] [--table NAME] [--run ID] [--db FILE]",
    "write a table of the database to stdout", NULL};

static const struct ostel_option info_opts[] = {
    {OPT_DB, "db", "FILE", "OSTEL_DB", "database file (default ./ostel.db)"},
};
static const struct ostel_command_help info_help = {
    "db info", "[--db FILE]", "schema version and row counts of the database", NULL};

static const struct ostel_command_help checkout_help = {
    "db checkout", "RUN_ID DIR [--db FILE]",
    "write a stored run back out as a run directory (metrics.csv, config.txt, summary.json)",
    "The directory can be given to 'ostel report'. llama_output.log is not stored, so not\n"
    "written."};

#define IMPORT_BATCH 500

static int db_import(struct db_args *a)
{
    if (a->npos == 0) {
        ostel_error("db import: no run directory given (see 'ostel db import --help')");
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_store *s;
    if (ostel_store_open(a->db, 0, &s) != OSTEL_OK)
        return OSTEL_EXIT_FAIL;
    int failed = 0, added = 0, already = 0;
    /* the directories are read and checked on other threads while this one inserts */
    ostel_store_import_prefetch(s, a->pos, (size_t)a->npos);
    /* Batches of IMPORT_BATCH runs, each one transaction (a savepoint per run): 10,000 runs
     * commit 20 times, not 10,000. */
    int batched = 0;
    for (int i = 0; i < a->npos; i++) {
        if (batched == 0 && ostel_store_batch_begin(s) != OSTEL_OK) {
            ostel_store_close(s);
            return OSTEL_EXIT_FAIL;
        }
        int64_t id = 0;
        int rc = ostel_store_import_run_dir(s, a->pos[i], NULL, &id);
        if (++batched == IMPORT_BATCH || i + 1 == a->npos) {
            batched = 0;
            if (ostel_store_batch_commit(s) != OSTEL_OK) {
                ostel_store_close(s);
                return OSTEL_EXIT_FAIL;
            }
        }
        if (rc < 0) {
            failed++;
            continue;
        }
        if (rc == OSTEL_STORE_ALREADY)
            already++;
        else
            added++;
        if (!a->quiet)
            printf("%s %s (run %lld)\n", rc == OSTEL_STORE_ALREADY ? "already in" : "imported",
                   a->pos[i], (long long)id);
    }
    if (!a->quiet || failed)
        fprintf(failed ? stderr : stdout, "%d imported, %d already present, %d failed (%s)\n",
                added, already, failed, ostel_store_name(s));
    ostel_store_close(s);
    return failed ? OSTEL_EXIT_FAIL : OSTEL_EXIT_OK;
}

static int db_export(struct db_args *a)
{
    if (a->npos) {
        ostel_error("db export: unexpected argument '%s'", a->pos[0]);
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_store *s;
    if (ostel_store_open(a->db, OSTEL_STORE_OPEN_READONLY, &s) != OSTEL_OK)
        return OSTEL_EXIT_FAIL;
    enum ostel_store_format fmt =
        strcmp(a->format, "json") == 0 ? OSTEL_STORE_FORMAT_JSON : OSTEL_STORE_FORMAT_CSV;
    int rc = ostel_store_export(s, a->table, fmt, a->run, stdout);
    ostel_store_close(s);
    return rc == OSTEL_OK ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}

static int db_info(struct db_args *a)
{
    if (a->npos) {
        ostel_error("db info: unexpected argument '%s'", a->pos[0]);
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_store *s;
    if (ostel_store_open(a->db, OSTEL_STORE_OPEN_READONLY, &s) != OSTEL_OK)
        return OSTEL_EXIT_FAIL;
    int rc = ostel_store_print_info(s, stdout);
    ostel_store_close(s);
    return rc == OSTEL_OK ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}

static int db_checkout(struct db_args *a)
{
    int64_t id;
    if (a->npos != 2 || !ostel_parse_i64(a->pos[0], 1, INT64_MAX, &id)) {
        ostel_error("db checkout: needs RUN_ID DIR (see 'ostel db checkout --help')");
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_store *s;
    if (ostel_store_open(a->db, OSTEL_STORE_OPEN_READONLY, &s) != OSTEL_OK)
        return OSTEL_EXIT_FAIL;
    int rc = ostel_store_write_run_dir(s, id, a->pos[1]);
    ostel_store_close(s);
    if (rc == OSTEL_OK)
        printf("wrote run %lld to %s\n", (long long)id, a->pos[1]);
    return rc == OSTEL_OK ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}

static void print_db_usage(FILE *f)
{
    fprintf(f, "usage: ostel db SUBCOMMAND [ARGS]\n\nthe results database (SQLite)\n\n"
               "subcommands:\n"
               "  import RUN_DIR...   load run directories (idempotent)\n"
               "  export              write a table as CSV or JSON to stdout\n"
               "  info                schema version and row counts\n"
               "  checkout ID DIR     write a stored run back out as a run directory\n\n"
               "the database is --db FILE, else $OSTEL_DB, else ./ostel.db\n"
               "'ostel db SUBCOMMAND --help' shows its options\n");
}

int ostel_cmd_db(int argc, char **argv)
{
    if (argc < 2) {
        print_db_usage(stderr);
        return OSTEL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_db_usage(stdout);
        return OSTEL_EXIT_OK;
    }
    struct {
        const char *name;
        const struct ostel_command_help *help;
        const struct ostel_option *opts;
        size_t nopts;
        int (*fn)(struct db_args *);
    } subs[] = {
        {"checkout", &checkout_help, info_opts, OSTEL_ARRAY_LEN(info_opts), db_checkout},
        {"export", &export_help, export_opts, OSTEL_ARRAY_LEN(export_opts), db_export},
        {"import", &import_help, import_opts, OSTEL_ARRAY_LEN(import_opts), db_import},
        {"info", &info_help, info_opts, OSTEL_ARRAY_LEN(info_opts), db_info},
    };
    enum ostel_opt_doc fmt;
    if (strncmp(argv[1], "--dump-options=", 15) == 0) { /* the man page and completions */
        if (!ostel_opt_doc_parse_format(argv[1] + 15, &fmt)) {
            ostel_error("--dump-options: '%s' is not man, bash or zsh", argv[1] + 15);
            return OSTEL_EXIT_USAGE;
        }
        struct ostel_opt_doc_entry list[OSTEL_ARRAY_LEN(subs)];
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(subs); i++)
            list[i] = (struct ostel_opt_doc_entry){subs[i].name, subs[i].help->summary};
        ostel_opt_doc_write_group(stdout, fmt, "db", "the results database (SQLite)", list,
                                  OSTEL_ARRAY_LEN(list));
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(subs); i++)
            ostel_opt_doc_write_command(stdout, fmt, subs[i].help, subs[i].opts, subs[i].nopts);
        return OSTEL_EXIT_OK;
    }
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(subs); i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        struct db_args a = {.db = "ostel.db", .format = "csv", .table = "runs"};
        struct ostel_args pos;
        int rc = ostel_options_parse_mixed(subs[i].help, subs[i].opts, subs[i].nopts, argc - 1,
                                           argv + 1, on_option, &a, &pos);
        a.pos = pos.pos;
        a.npos = pos.npos + pos.nrest; /* after "--" too: a directory named "-x" */
        int code = rc == OSTEL_OPT_HELP    ? OSTEL_EXIT_OK
                   : rc == OSTEL_OPT_USAGE ? OSTEL_EXIT_USAGE
                                           : subs[i].fn(&a);
        ostel_args_free(&pos);
        return code;
    }
    ostel_error("db: unknown subcommand '%s' (import, export, info, checkout)", argv[1]);
    return OSTEL_EXIT_USAGE;
}
