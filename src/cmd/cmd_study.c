/*
 * cmd_study: `ostel study [STUDY.ini] [options] [-- llama.cpp args]` — the whole study as one
 * command (docs/study.md). Options override the file's keys.
 */
#include "cmd/cmd.h"
#include "platform/platform.h"
#include "quality/quality_study.h"
#include "report/report.h"
#include "run/prom.h"
#include "run/study.h"
#include "run/study_shard.h"
#include "serve/serve_study.h"
#include "util/fileio.h"
#include "util/opt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The options that are no study key: how the command runs, not what the study is. */
enum {
    OPT_KEY = 1000, /* + the index in the study's key table, for a key without a letter */
    OPT_METRICS_LISTEN = 2000,
    OPT_METRICS_TEXTFILE,
    OPT_NO_WARMUP,
    OPT_SHARD,
    OPT_SHARDS,
    OPT_WAIT,
};

static const struct ostel_option command_options[] = {
    {OPT_METRICS_LISTEN, "metrics-listen", "HOST:PORT", "OSTEL_METRICS_LISTEN",
     "serve live telemetry for Prometheus on a loopback address (e.g. 127.0.0.1:9464)"},
    {OPT_METRICS_TEXTFILE, "metrics-textfile", "FILE", "OSTEL_METRICS_TEXTFILE",
     "write the telemetry for node_exporter's textfile collector after every run"},
    {OPT_NO_WARMUP, "no-warmup", NULL, NULL, "skip the uncounted warm-up run of each model"},
    {'q', "quiet", NULL, NULL, "print nothing but errors and the report's path"},
    {OPT_SHARD, "shard", "K/N", NULL,
     "run only the K-th (0-based) of N slices of the matrix (default: a Slurm array's task)"},
    {OPT_SHARDS, "shards", "N", NULL,
     "slices in all; the index comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID"},
    {OPT_WAIT, "wait", NULL, NULL,
     "wait for another study of the same directory to end (default: refuse at once)"},
};

/* The study's report.md/.html/.json from its run directories (and its quality passes): the study
 * calls this once every run is done (struct ostel_study_options.write_reports). */
static int write_study_reports(const struct ostel_study_spec *s, const char *runs_dir)
{
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    char *qdir = ostel_xasprintf("%s/quality", s->dir);
    if (ostel_report_load_path(&set, runs_dir) != 0 ||
        (s->quality && ostel_is_dir(qdir) && ostel_report_load_path(&set, qdir) != 0)) {
        free(qdir);
        ostel_report_set_free(&set);
        return OSTEL_ERR;
    }
    free(qdir);
    struct ostel_report_options ro = {0};
    ro.group_by = OSTEL_REPORT_BY_TAG;
    if (s->scenarios.n > 1)
        ro.group_by |= OSTEL_REPORT_BY_SCENARIO;
    if (s->ctxs.n > 1)
        ro.group_by |= OSTEL_REPORT_BY_CTX;
    if (s->gens.n > 1)
        ro.group_by |= OSTEL_REPORT_BY_GEN;
    struct ostel_report rep;
    char err[256];
    if (ostel_report_build(&rep, &set, &ro, err, sizeof(err)) != 0) {
        ostel_report_set_free(&set);
        return ostel_error("report: %s", err);
    }
    static const char *const fmts[] = {"md", "html", "json"};
    int rc = OSTEL_OK;
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(fmts); i++) { /* streamed as `ostel report -o` does */
        char *path = ostel_xasprintf("%s/report.%s", s->dir, fmts[i]);
        if (ostel_cmd_report_write(&rep, fmts[i], path) != OSTEL_OK)
            rc = OSTEL_ERR;
        free(path);
    }
    if (!ostel_report_html_has_charts())
        ostel_warn("this ostel was built without the chart library (npm ci): report.html has "
                   "tables only");
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ostel_option *)a)->name, ((const struct ostel_option *)b)->name);
}

/* The option table: every study key with an option and the command's own, sorted by long name
 * (*out owned by the caller). */
static size_t study_options(struct ostel_option **out)
{
    size_t nkeys, n = 0;
    const struct ostel_study_key *keys = ostel_study_keys(&nkeys);
    struct ostel_option *o = ostel_xcalloc(nkeys + OSTEL_ARRAY_LEN(command_options), sizeof(*o));
    for (size_t i = 0; i < nkeys; i++)
        if (keys[i].option)
            o[n++] =
                (struct ostel_option){keys[i].short_opt ? keys[i].short_opt : OPT_KEY + (int)i,
                                      keys[i].option, keys[i].argname, keys[i].env, keys[i].help};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(command_options); i++)
        o[n++] = command_options[i];
    qsort(o, n, sizeof(*o), by_name);
    *out = o;
    return n;
}

/* The study key an option id sets, or NULL. */
static const struct ostel_study_key *key_of(int id)
{
    size_t nkeys;
    const struct ostel_study_key *keys = ostel_study_keys(&nkeys);
    for (size_t i = 0; i < nkeys; i++)
        if (keys[i].option && (keys[i].short_opt ? keys[i].short_opt : OPT_KEY + (int)i) == id)
            return &keys[i];
    return NULL;
}

static const struct ostel_command_help study_help = {
    "study",
    "[STUDY.ini] [-m A.gguf,B.gguf] [-c 4096] [-n 256] [-r 3] [--scenario none,mem:70%] [options]\n"
    "       [-- llama.cpp args]\n"
    "       ostel study --serve -m A.gguf,B.gguf [--concurrency 1,4 | --rate 1,2] [options]\n"
    "       [-- llama-server args]",
    "Runs the cross product of models × contexts × generation lengths × background scenarios ×\n"
    "repetitions under telemetry, stores every run in SQLite, and writes report.md and "
    "report.html\n"
    "into the study directory. Re-running the same command resumes: complete runs are skipped.",
    "Study files are INI with a [study] section and, for a serving study, a [serve] section; see\n"
    "docs/study.md and docs/example-study.ini.\n"
    "exit status: 0 all runs done (each run's own outcome is in the report), 1 error, 2 usage,\n"
    "130/143 interrupted (run the command again to resume)."};

struct pending {
    const struct ostel_study_key *key;
    char *arg;
};

struct study_args {
    struct pending *p; /* the study keys' options in order */
    size_t n;
    bool quiet, no_warmup, wait;
    const char *shard;                             /* --shard K/N (borrowed from argv) */
    const char *metrics_listen, *metrics_textfile; /* borrowed */
    long shards; /* --shards N; 0 = not given, -1 = not a number */
};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    (void)source;
    struct study_args *a = ctx;
    if (id == 'q') {
        a->quiet = true;
        return 0;
    }
    if (id == OPT_NO_WARMUP) {
        a->no_warmup = true;
        return 0;
    }
    if (id == OPT_METRICS_LISTEN || id == OPT_METRICS_TEXTFILE) {
        *(id == OPT_METRICS_LISTEN ? &a->metrics_listen : &a->metrics_textfile) = arg;
        return 0;
    }
    if (id == OPT_SHARD) {
        a->shard = arg;
        return 0;
    }
    if (id == OPT_SHARDS) {
        char *end;
        long v = strtol(arg, &end, 10);
        a->shards = *arg && !*end && v >= 1 ? v : -1;
        return 0;
    }
    if (id == OPT_WAIT) {
        a->wait = true;
        return 0;
    }
    a->p = ostel_xrealloc(a->p, (a->n + 1) * sizeof(*a->p));
    a->p[a->n].key = key_of(id);
    a->p[a->n].arg = ostel_xstrdup(arg ? arg : "on"); /* a key's flag (--quality) turns it on */
    a->n++;
    return 0;
}

static void free_args(struct study_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i].arg);
    free(a->p);
}

int ostel_cmd_study(int argc, char **argv)
{
    struct study_args a = {0};
    struct ostel_args pos;
    struct ostel_option *opts;
    size_t nopts = study_options(&opts);
    int rc = ostel_options_parse_mixed(&study_help, opts, nopts, argc, argv, on_option, &a, &pos);
    free(opts); /* the pending options point into the key table, not here */
    if (rc != OSTEL_OPT_DONE) {
        free_args(&a);
        return rc == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    }
    struct ostel_study_spec spec;
    ostel_study_spec_init(&spec);
    struct ostel_serve_study_models models = {0}; /* each model's GGUF read once for every cell */
    int exit_code = OSTEL_EXIT_USAGE;
    if (pos.npos > 1) {
        ostel_error("study: unexpected argument '%s'", pos.pos[1]);
        goto out;
    }
    if (pos.npos == 1 && ostel_study_spec_read_file(&spec, pos.pos[0]) != 0)
        goto out;
    char err[400];
    for (size_t i = 0; i < a.n; i++)
        if (ostel_study_spec_set(&spec, a.p[i].key->key, a.p[i].arg, err, sizeof(err)) != 0) {
            ostel_error("study: --%s", err);
            goto out;
        }
    if (a.no_warmup)
        spec.warmup = false;
    if (pos.dashdash) { /* replaces the file's llama_args, also with nothing */
        ostel_strlist_free(&spec.llama_args);
        for (int i = 0; i < pos.nrest; i++)
            ostel_strlist_push(&spec.llama_args, pos.rest[i]);
    }
    if (ostel_study_spec_finish(&spec, err, sizeof(err)) != 0) {
        ostel_error("study: %s", err);
        goto out;
    }
    const char *self = getenv("OSTEL_SELF_EXE");
    struct ostel_study_options o = {
        .quiet = a.quiet,
        .progress_bar = isatty(STDERR_FILENO) == 1,
        .self_exe = self ? self : "ostel",
        .wait_lock = a.wait,
        .write_reports = write_study_reports,
        .run_serve = ostel_serve_study_run,     /* a serving study's cells (serve/serve_study.c) */
        .run_serve_arg = &models,               /* what they keep of each model */
        .run_quality = ostel_quality_study_run, /* its quality passes (quality/quality_study.c) */
    };
    if (spec.serve)
        ostel_platform_fd_limit_raise(); /* before the servers start: they inherit it */
    const struct ostel_study_shard_env env = {
        getenv("SLURM_ARRAY_TASK_ID"), getenv("SLURM_ARRAY_TASK_MIN"),
        getenv("SLURM_ARRAY_TASK_STEP"), getenv("SLURM_ARRAY_TASK_COUNT"),
        getenv("JOB_COMPLETION_INDEX")};
    const char *source;
    if (ostel_study_shard_resolve(a.shard, a.shards, &env, &o.shard, &o.shards, &source, err,
                                  sizeof(err)) != 0) {
        ostel_error("study: %s", err);
        goto out;
    }
    if (o.shards > 1 && spec.quality) {
        /* every shard would run the base pass and write its own logits file, and each would
         * compare only the models it holds: the passes belong to one machine */
        ostel_error("study: --quality cannot run in a sharded study (shard %d of %d, from %s): run "
                    "the shards without it, then `ostel quality` (or the study with --quality and "
                    "no --shard) on one machine",
                    o.shard, o.shards, source);
        goto out;
    }
    if (o.shards > 0 && strcmp(source, "--shard") != 0 && !a.quiet)
        fprintf(stderr, "study: shard %d of %d from %s\n", o.shard, o.shards, source);
    if ((a.metrics_listen || a.metrics_textfile) &&
        !(o.prom = ostel_prom_start(a.metrics_listen, a.metrics_textfile)))
        goto out;
    exit_code = ostel_study_execute(&spec, &o);
    ostel_prom_stop(o.prom);
out:
    ostel_serve_study_models_free(&models);
    ostel_study_spec_free(&spec);
    free_args(&a);
    ostel_args_free(&pos);
    return exit_code;
}
