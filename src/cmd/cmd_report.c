/*
 * cmd_report: `ostel report [--db FILE [--study ID|NAME] [--tag T]] [RUN_DIR…] [--group-by KEYS]
 * [--baseline GROUP] [--format F] [-o FILE]`.
 *
 * Wiring only: load the database's runs (report_db.c) and the run directories (report_load.c) into
 * one run set, build the analysis (report.c), write it in the chosen format (report_*.c) to stdout
 * or atomically to FILE, as it is made: the text goes out a megabyte at a time, never held whole.
 */
#include "cmd/cmd.h"
#include "report/report.h"
#include "report/report_db.h"
#include "report/report_html_scale.h"
#include "util/fileio.h"
#include "util/opt.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_MAX_BYTES ((size_t)512 << 20)
#define REPORT_FLUSH_BYTES ((size_t)1 << 20) /* text held before it is written out */

enum {
    OPT_BASELINE = 'b',
    OPT_FORMAT = 'f',
    OPT_GROUP_BY = 'g',
    OPT_OUTPUT = 'o',
    OPT_DB = 256,
    OPT_STUDY,
    OPT_TAG,
    OPT_RUN_CHARTS,
};

static const struct ostel_option report_options[] = {
    {OPT_BASELINE, "baseline", "GROUP", "OSTEL_REPORT_BASELINE",
     "group the others are compared with (its label or tag; default: the first group)"},
    {OPT_DB, "db", "FILE", "OSTEL_DB",
     "also report on the runs stored in this ostel database (OSTEL_DB: only when no RUN_DIR is "
     "named, or with --study/--tag)"},
    {OPT_FORMAT, "format", "FMT", "OSTEL_REPORT_FORMAT",
     "md (default), csv, json or html (default html when -o ends in .html)"},
    {OPT_GROUP_BY, "group-by", "KEYS", "OSTEL_REPORT_GROUP_BY",
     "comma-separated keys among tag, model, ctx, gen, scenario, host (default: tag)"},
    {OPT_OUTPUT, "output", "FILE", NULL, "write to FILE (atomically) instead of standard output"},
    {OPT_RUN_CHARTS, "run-charts", "N", "OSTEL_REPORT_RUN_CHARTS",
     "html: runs drawn one by one (default 24; every other run is a choice in a list)"},
    {OPT_STUDY, "study", "ID|NAME", "OSTEL_REPORT_STUDY",
     "only the database's runs of this study (its id or name)"},
    {OPT_TAG, "tag", "TAG", "OSTEL_REPORT_TAG", "only the database's runs with this tag"},
};

static const struct ostel_command_help report_help = {
    "report",
    "[RUN_DIR...] [--db FILE [--study ID|NAME] [--tag TAG]] [--group-by KEYS] [--baseline GROUP]\n"
    "       [--format md|csv|json|html] [-o FILE]",
    "compare runs: throughput, memory, OS telemetry and statistics over repetitions",
    "RUN_DIR is a run directory (it holds summary.json) or a directory of run directories (a\n"
    "study). Runs are grouped (by tag unless --group-by says otherwise) and each group is "
    "compared\n"
    "with the baseline: ratios with 95% confidence intervals and Welch's t-test. Failed runs are\n"
    "listed with the end of their log and left out of the statistics.\n"
    "\n"
    "--db FILE adds the runs stored in an ostel database (a study directory's ostel.db, or one\n"
    "filled by ostel db import), before the run directories; --study and --tag choose among them.\n"
    "See docs/report.md.\n"};

struct report_args {
    const char *baseline;
    const char *format;
    const char *output;
    const char *db;     /* --db */
    const char *db_env; /* $OSTEL_DB */
    const char *study, *tag;
    unsigned group_by;
    size_t run_charts;     /* --run-charts; 0 = the default */
    struct ostel_args pos; /* the run directories: pos.pos[0 .. npos + nrest) */
    int npos;
};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct report_args *a = ctx;
    const char *where = source ? source : "--";
    switch (id) {
    case OPT_BASELINE:
        a->baseline = arg;
        return 0;
    case OPT_OUTPUT:
        a->output = arg;
        return 0;
    case OPT_DB:
        if (!*arg)
            return ostel_error("%s%s: empty file name", where, source ? "" : "db");
        if (source)
            a->db_env = arg;
        else
            a->db = arg;
        return 0;
    case OPT_STUDY:
        if (!*arg)
            return ostel_error("%s%s: empty study", where, source ? "" : "study");
        a->study = arg;
        return 0;
    case OPT_TAG:
        a->tag = arg;
        return 0;
    case OPT_RUN_CHARTS: {
        char *end;
        unsigned long long v = strtoull(arg, &end, 10);
        if (!*arg || *end || *arg == '-' || v < 1 || v > 100000)
            return ostel_error("%s%s: '%s' is not a number of runs from 1 to 100000", where,
                               source ? "" : "run-charts", arg);
        a->run_charts = (size_t)v;
        return 0;
    }
    case OPT_FORMAT:
        if (!ostel_report_find_format(arg))
            return ostel_error("%s%s: unknown format '%s' (md, csv, json, html)", where,
                               source ? "" : "format", arg);
        a->format = arg;
        return 0;
    case OPT_GROUP_BY:
        if (!ostel_report_parse_group_by(arg, &a->group_by))
            return ostel_error("%s%s: bad keys '%s' (tag, model, ctx, gen, scenario, host)", where,
                               source ? "" : "group-by", arg);
        return 0;
    default:
        return ostel_error("report: unhandled option");
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Tests only: a positive number below dflt in the environment variable `name` replaces dflt (a
 * report that overflows, or flushes, midway without hundreds of megabytes). */
static size_t test_bytes(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end == '\0' && n > 0 && n < dflt ? (size_t)n : dflt;
}

static int stdout_write(void *ctx, const void *data, size_t len)
{
    (void)ctx;
    errno = 0;
    if (fwrite(data, 1, len, stdout) == len)
        return 0;
    return errno ? errno : EIO;
}

/* The temporary file a report is being written into, removed by a signal that ends ostel before
 * the report is whole (Ctrl-C on a long report): no FILE.tmp.XXXXXX is left behind. */
static char g_tmp[4096]; /* a copy: the stream frees its own when it ends */
static volatile sig_atomic_t g_tmp_set;

static void on_fatal_signal(int sig)
{
    if (g_tmp_set)
        unlink(g_tmp); /* async-signal-safe; after the rename, a name no longer there */
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* The file's sink; OSTEL_TEST_REPORT_SIGNAL_AFTER_FLUSH=SIG sends ostel that signal after the first
 * piece is written (e2e test_report_stream: a report ended midway leaves no temporary file). */
static int file_write(void *ctx, const void *data, size_t len)
{
    int e = ostel_file_stream_write(ctx, data, len);
    const char *t = getenv("OSTEL_TEST_REPORT_SIGNAL_AFTER_FLUSH");
    if (!e && t && *t)
        raise(atoi(t));
    return e;
}

/*
 * Writes the report in format fmt to stdout, or to path atomically (a report that fails midway,
 * by a write error or by growing past the bound, leaves no file and an existing one as it was),
 * the text going out as it is made. Prints its error.
 */
int ostel_cmd_report_write(const struct ostel_report *report, const char *fmt, const char *path)
{
    size_t max = test_bytes("OSTEL_TEST_REPORT_MAX_BYTES", REPORT_MAX_BYTES);
    size_t flush = test_bytes("OSTEL_TEST_REPORT_FLUSH_BYTES", REPORT_FLUSH_BYTES);
    struct ostel_file_stream file;
    int e = path ? ostel_file_stream_open(&file, path) : 0;
    if (e)
        return ostel_error("cannot write '%s': %s", path, strerror(e));
    struct sigaction sa, old[OSTEL_ARRAY_LEN(fatal_signals)];
    if (path) {
        g_tmp_set = snprintf(g_tmp, sizeof(g_tmp), "%s", file.tmp) < (int)sizeof(g_tmp);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(fatal_signals); i++)
            sigaction(fatal_signals[i], &sa, &old[i]);
    }
    struct ostel_buf out;
    ostel_buf_init(&out, max);
    if (path)
        ostel_buf_set_sink(&out, file_write, &file, flush);
    else
        ostel_buf_set_sink(&out, stdout_write, NULL, flush);
    ostel_report_find_format(fmt)->write(report, &out);
    e = ostel_buf_flush(&out);
    bool overflow = out.overflow;
    ostel_buf_free(&out);
    if (!e && !overflow && !path && fflush(stdout) != 0)
        e = errno ? errno : EIO;
    if (path && (e || overflow))
        ostel_file_stream_abort(&file);
    else if (path)
        e = ostel_file_stream_commit(&file, path);
    if (path) { /* the temporary file is gone (renamed or removed): the signals as they were */
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(fatal_signals); i++)
            sigaction(fatal_signals[i], &old[i], NULL);
        g_tmp_set = 0;
    }
    if (overflow)
        return ostel_error("report: the report would exceed %zu MiB; report on fewer runs",
                           max >> 20);
    if (e && path)
        return ostel_error("cannot write '%s': %s", path, strerror(e));
    if (e)
        return ostel_error("report: cannot write to standard output: %s", strerror(e));
    return OSTEL_OK;
}

int ostel_cmd_report(int argc, char **argv)
{
    struct report_args a = {0};
    int rc =
        ostel_options_parse_mixed(&report_help, report_options, OSTEL_ARRAY_LEN(report_options),
                                  argc, argv, on_option, &a, &a.pos);
    a.npos = a.pos.npos + a.pos.nrest; /* a directory after "--" is one all the same */
    /* $OSTEL_DB names the database `ostel db` and `ostel study` use: it is read when nothing else
     * says what to report on, or when --study/--tag select from a database. */
    if (rc == OSTEL_OPT_DONE && !a.db && a.db_env && (a.npos == 0 || a.study || a.tag))
        a.db = a.db_env;
    if (rc == OSTEL_OPT_DONE && !a.db && (a.study || a.tag)) {
        ostel_error("report: --study and --tag choose among a database's runs: give --db FILE");
        rc = OSTEL_OPT_USAGE;
    } else if (rc == OSTEL_OPT_DONE && a.npos == 0 && !a.db) {
        ostel_error("report: no run directory given (usage: ostel report RUN_DIR... or ostel "
                    "report --db FILE)");
        rc = OSTEL_OPT_USAGE;
    }
    if (rc != OSTEL_OPT_DONE) {
        ostel_args_free(&a.pos);
        return rc == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    }
    if (!a.format)
        a.format = a.output && (ends_with(a.output, ".html") || ends_with(a.output, ".htm"))
                       ? "html"
                   : a.output && ends_with(a.output, ".json") ? "json"
                   : a.output && ends_with(a.output, ".csv")  ? "csv"
                                                              : "md";

    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_db_select sel = {a.study, a.tag};
    /* Only the HTML page draws samples, and at most this many of a run's */
    size_t points = strcmp(a.format, "html") == 0 ? OSTEL_REPORT_HTML_LOAD_POINTS : 0;
    if (a.db && ostel_report_load_db_series(&set, a.db, &sel, points) != 0) {
        ostel_report_set_free(&set);
        ostel_args_free(&a.pos);
        return OSTEL_EXIT_FAIL;
    }
    for (int i = 0; i < a.npos; i++) {
        if (ostel_report_load_path_series(&set, a.pos.pos[i], points) != 0) {
            ostel_report_set_free(&set);
            ostel_args_free(&a.pos);
            return OSTEL_EXIT_FAIL;
        }
    }
    /* The same run twice (in the database and as its directory, or a directory named twice) would
     * weigh double in every mean: each run counts once, by its run id. */
    size_t dup = ostel_report_set_dedupe(&set);
    if (dup)
        ostel_warn("%zu run%s given twice (the same run id: in the database and as a directory, or "
                   "a directory named twice); each run counts once",
                   dup, dup == 1 ? " was" : "s were");
    struct ostel_report_options opt = {a.group_by, a.baseline};
    struct ostel_report report;
    char err[1024];
    if (ostel_report_build(&report, &set, &opt, err, sizeof(err)) != 0) {
        ostel_error("report: %s", err);
        ostel_report_free(&report);
        ostel_report_set_free(&set);
        ostel_args_free(&a.pos);
        return OSTEL_EXIT_FAIL;
    }
    report.run_charts = a.run_charts;
    if (strcmp(a.format, "html") == 0 && !ostel_report_html_has_charts())
        ostel_warn("this ostel was built without uPlot (npm ci, then rebuild): the HTML report "
                   "has tables but no charts");
    rc = ostel_cmd_report_write(&report, a.format, a.output) == 0 ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
    ostel_report_free(&report);
    ostel_report_set_free(&set);
    ostel_args_free(&a.pos);
    return rc;
}
