/*
 * cmd_study: `ostel study [STUDY.ini] [options] [-- llama.cpp args]` — the whole study as one
 * command (docs/study.md). Options override the file's keys.
 */
#include "cmd/cmd.h"
#include "run/study.h"
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
    OPT_NAME,
    OPT_NO_WARMUP,
    OPT_PROMPT,
    OPT_PROMPT_FILE,
    OPT_SCENARIO,
    OPT_SEED,
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
    {'m', "models", "LIST", NULL, "GGUF models, comma-separated"},
    {OPT_NAME, "name", "NAME", NULL, "the study's name"},
    {OPT_NO_WARMUP, "no-warmup", NULL, NULL, "skip the uncounted warm-up run of each model"},
    {OPT_PROMPT, "prompt", "TEXT", NULL, "prompt text (default: ostel's fixed paragraph)"},
    {OPT_PROMPT_FILE, "prompt-file", "FILE", NULL, "read the prompt from FILE"},
    {'q', "quiet", NULL, NULL, "print nothing but errors and the report's path"},
    {'r', "repetitions", "N", NULL, "measured runs of each combination (default 3)"},
    {OPT_SCENARIO, "scenario", "LIST", NULL,
     "background: none, mem:SIZE|PCT%|PCT%avail|avail-SIZE, cpu:N (join with +), cmd:PROG ARGS"},
    {OPT_SEED, "seed", "N", NULL, "llama.cpp sampling seed (default 42)"},
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
    struct ostel_study_options o = {a.quiet, isatty(STDERR_FILENO) == 1, self ? self : "ostel",
                                    a.wait};
    exit_code = ostel_study_execute(&spec, &o);
out:
    ostel_study_spec_free(&spec);
    free_args(&a);
    ostel_args_free(&pos);
    return exit_code;
}
