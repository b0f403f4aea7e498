/*
 * cmd_study: `ostel study [STUDY.ini] [options] [-- llama.cpp args]` — the whole study as one
 * command (docs/study.md). Options override the file's keys.
 */
#include "cmd/cmd.h"
#include "run/prom.h"
#include "run/study.h"
#include "run/study_shard.h"
#include "util/opt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_COOLDOWN = 1000,
    OPT_COOLDOWN_MAX,
    OPT_DB,
    OPT_DIR,
    OPT_HOG_CYCLE,
    OPT_INTERVAL,
    OPT_LLAMA_BIN,
    OPT_METRICS_LISTEN,
    OPT_METRICS_TEXTFILE,
    OPT_NAME,
    OPT_NO_WARMUP,
    OPT_PROMPT,
    OPT_PROMPT_FILE,
    OPT_QUALITY,
    OPT_QUALITY_BASE,
    OPT_QUALITY_CHUNKS,
    OPT_QUALITY_CTX,
    OPT_QUALITY_TEXT,
    OPT_SCENARIO,
    OPT_SEED,
    OPT_SHARD,
    OPT_SHARDS,
    OPT_TIMEOUT,
    OPT_TOOL,
    OPT_WAIT,
};

/* Sorted by long name; each maps to a study-file key. */
static const struct ostel_option study_options[] = {
    {OPT_COOLDOWN, "cooldown", "auto|DUR", NULL,
     "pause between runs: auto (until memory is back, default) or a fixed time"},
    {OPT_COOLDOWN_MAX, "cooldown-max", "DUR", NULL, "longest adaptive cool-down (default 30s)"},
    {'c', "ctx", "LIST", NULL, "context sizes, comma-separated (default 4096)"},
    {OPT_DB, "db", "FILE", "OSTEL_DB", "results database (default DIR/ostel.db)"},
    {OPT_DIR, "dir", "DIR", NULL, "study directory (default studies/NAME)"},
    {'n', "gen", "LIST", NULL, "tokens to generate, comma-separated (default 256)"},
    {OPT_HOG_CYCLE, "hog-cycle", "DUR", NULL,
     "memory scenarios re-write every page once per DUR (default 5s; longer = less CPU)"},
    {OPT_INTERVAL, "interval", "DUR", "OSTEL_INTERVAL", "sampling interval (default 100ms)"},
    {OPT_LLAMA_BIN, "llama-bin", "DIR", "OSTEL_LLAMA_BIN", "directory of llama.cpp's programs"},
    {OPT_METRICS_LISTEN, "metrics-listen", "HOST:PORT", "OSTEL_METRICS_LISTEN",
     "serve live telemetry for Prometheus on a loopback address (e.g. 127.0.0.1:9464)"},
    {OPT_METRICS_TEXTFILE, "metrics-textfile", "FILE", "OSTEL_METRICS_TEXTFILE",
     "write the telemetry for node_exporter's textfile collector after every run"},
    {'m', "models", "LIST", NULL, "GGUF models, comma-separated"},
    {OPT_NAME, "name", "NAME", NULL, "the study's name"},
    {OPT_NO_WARMUP, "no-warmup", NULL, NULL, "skip the uncounted warm-up run of each model"},
    {OPT_PROMPT, "prompt", "TEXT", NULL, "prompt text (default: ostel's fixed paragraph)"},
    {OPT_PROMPT_FILE, "prompt-file", "FILE", NULL, "read the prompt from FILE"},
    {OPT_QUALITY, "quality", NULL, NULL,
     "after the runs, KL divergence of each model against a base (docs/quality.md)"},
    {OPT_QUALITY_BASE, "quality-base", "MODEL", NULL,
     "the quality reference (default: the highest-precision model)"},
    {OPT_QUALITY_CHUNKS, "quality-chunks", "N", NULL, "evaluate at most N chunks of the text"},
    {OPT_QUALITY_CTX, "quality-ctx", "N", NULL, "context of the quality passes (default 512)"},
    {OPT_QUALITY_TEXT, "quality-text", "FILE", NULL, "the quality passes' text (never downloaded)"},
    {'q', "quiet", NULL, NULL, "print nothing but errors and the report's path"},
    {'r', "repetitions", "N", NULL, "measured runs of each combination (default 3)"},
    {OPT_SCENARIO, "scenario", "LIST", NULL,
     "background: none, mem:SIZE|PCT%|PCT%avail|avail-SIZE, cpu:N (join with +), cmd:PROG ARGS"},
    {OPT_SEED, "seed", "N", NULL, "llama.cpp sampling seed (default 42)"},
    {OPT_SHARD, "shard", "K/N", NULL,
     "run only the K-th (0-based) of N slices of the matrix (default: a Slurm array's task)"},
    {OPT_SHARDS, "shards", "N", NULL,
     "slices in all; the index comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID"},
    {'t', "tags", "LIST", NULL, "one label per model (default: file names)"},
    {OPT_TIMEOUT, "timeout", "DUR", NULL, "per-run time limit (default 30m)"},
    {OPT_TOOL, "tool", "NAME", NULL, "llama-completion (default) or llama-cli"},
    {OPT_WAIT, "wait", NULL, NULL,
     "wait for another study of the same directory to end (default: refuse at once)"},
};

static const char *key_of(int id)
{
    switch (id) {
    case OPT_COOLDOWN: return "cooldown";
    case OPT_COOLDOWN_MAX: return "cooldown_max";
    case 'c': return "ctx";
    case OPT_DB: return "db";
    case OPT_DIR: return "dir";
    case 'n': return "gen";
    case OPT_HOG_CYCLE: return "hog_cycle";
    case OPT_INTERVAL: return "interval";
    case OPT_LLAMA_BIN: return "llama_bin";
    case 'm': return "models";
    case OPT_NAME: return "name";
    case OPT_PROMPT: return "prompt";
    case OPT_PROMPT_FILE: return "prompt_file";
    case OPT_QUALITY: return "quality";
    case OPT_QUALITY_BASE: return "quality_base";
    case OPT_QUALITY_CHUNKS: return "quality_chunks";
    case OPT_QUALITY_CTX: return "quality_ctx";
    case OPT_QUALITY_TEXT: return "quality_text";
    case 'r': return "repetitions";
    case OPT_SCENARIO: return "scenarios";
    case OPT_SEED: return "seed";
    case 't': return "tags";
    case OPT_TIMEOUT: return "timeout";
    case OPT_TOOL: return "tool";
    default: return NULL;
    }
}

static const struct ostel_command_help study_help = {
    "study",
    "[STUDY.ini] [-m A.gguf,B.gguf] [-c 4096] [-n 256] [-r 3] [--scenario none,mem:70%] [options]\n"
    "       [-- llama.cpp args]",
    "Runs the cross product of models × contexts × generation lengths × background scenarios ×\n"
    "repetitions under telemetry, stores every run in SQLite, and writes report.md and report.html\n"
    "into the study directory. Re-running the same command resumes: complete runs are skipped.",
    "Study files are INI with one [study] section; see docs/study.md and docs/example-study.ini.\n"
    "exit status: 0 all runs done (each run's own outcome is in the report), 1 error, 2 usage,\n"
    "130/143 interrupted (run the command again to resume)."};

struct pending {
    int id;
    char *arg;
};

struct study_args {
    struct pending *p;
    size_t n;
    bool quiet, no_warmup, wait;
    const char *shard; /* --shard K/N (borrowed from argv) */
    const char *metrics_listen, *metrics_textfile; /* borrowed */
    long shards;       /* --shards N; 0 = not given, -1 = not a number */
};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    (void)source;
    struct study_args *a = ctx;
    if (id == 'q') {
        a->quiet = true;
        return 0;
    }
    if (id == OPT_QUALITY)
        arg = "on";
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
    a->p[a->n].id = id;
    a->p[a->n].arg = ostel_xstrdup(arg);
    a->n++;
    return 0;
}

static void free_args(struct study_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i].arg);
    free(a->p);
}

int cmd_study(int argc, char **argv)
{
    struct study_args a = {0};
    struct ostel_args pos;
    int rc = ostel_options_parse_mixed(&study_help, study_options, OSTEL_ARRAY_LEN(study_options),
                                       argc, argv, on_option, &a, &pos);
    if (rc != OSTEL_OPT_DONE) {
        free_args(&a);
        return rc == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    }
    struct ostel_study_spec spec;
    ostel_study_spec_init(&spec);
    int exit_code = OSTEL_EXIT_USAGE;
    if (pos.npos > 1) {
        ostel_error("study: unexpected argument '%s'", pos.pos[1]);
        goto out;
    }
    if (pos.npos == 1 && ostel_study_spec_read_file(&spec, pos.pos[0]) != 0)
        goto out;
    char err[400];
    for (size_t i = 0; i < a.n; i++)
        if (ostel_study_spec_set(&spec, key_of(a.p[i].id), a.p[i].arg, err, sizeof(err)) != 0) {
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
    struct ostel_study_options o = {a.quiet, isatty(STDERR_FILENO) == 1, self ? self : "ostel", 0,
                                    0, NULL, a.wait};
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
    if (o.shards > 0 && strcmp(source, "--shard") != 0 && !a.quiet)
        fprintf(stderr, "study: shard %d of %d from %s\n", o.shard, o.shards, source);
    if ((a.metrics_listen || a.metrics_textfile) &&
        !(o.prom = ostel_prom_start(a.metrics_listen, a.metrics_textfile)))
        goto out;
    exit_code = ostel_study_execute(&spec, &o);
    ostel_prom_stop(o.prom);
out:
    ostel_study_spec_free(&spec);
    free_args(&a);
    ostel_args_free(&pos);
    return exit_code;
}
