/*
 * cmd_quality: `ostel quality MODEL.gguf... --quality-text FILE [options]` — what each model's
 * quantization costs in KL divergence against a base model, every pass under telemetry
 * (docs/quality.md). The work is src/quality/; this file is options and wiring.
 */
#include "cmd/cmd.h"
#include "quality/quality.h"
#include "util/opt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_DIR = 1000,
    OPT_INTERVAL,
    OPT_KEEP_LOGITS,
    OPT_LLAMA_BIN,
    OPT_BASE,
    OPT_CHUNKS,
    OPT_FREE,
    OPT_TEXT,
    OPT_TIMEOUT,
    OPT_UBATCH,
};

/* Sorted by long name. */
static const struct ostel_option quality_options[] = {
    {'b', "batch", "N", NULL, "llama-perplexity -b for every pass (default: its own, 2048)"},
    {'c', "ctx", "N", NULL, "context of every pass (default 512); the text needs 2 of them"},
    {OPT_DIR, "dir", "DIR", NULL, "where the passes and the base logits go (default quality)"},
    {OPT_INTERVAL, "interval", "DUR", "OSTEL_INTERVAL", "sampling interval (default 100ms)"},
    {OPT_KEEP_LOGITS, "keep-logits", NULL, NULL, "keep the base logits file at the end"},
    {OPT_LLAMA_BIN, "llama-bin", "DIR", "OSTEL_LLAMA_BIN", "directory of llama.cpp's programs"},
    {OPT_BASE, "quality-base", "MODEL", NULL,
     "the reference (default: the highest-precision model given)"},
    {OPT_CHUNKS, "quality-chunks", "N", NULL,
     "evaluate at most N chunks of the text (bounds "
     "time and the logits file)"},
    {OPT_FREE, "quality-free-bytes", "SIZE", "OSTEL_QUALITY_FREE_BYTES",
     "pretend the directory has SIZE free (tests the disk-space check)"},
    {OPT_TEXT, "quality-text", "FILE", NULL, "the evaluation text (required; never downloaded)"},
    {'q', "quiet", NULL, NULL, "print nothing but errors and the table"},
    {'t', "tags", "LIST", NULL, "one label per model (default: file names)"},
    {OPT_TIMEOUT, "timeout", "DUR", NULL, "per-pass time limit (default none)"},
    {OPT_UBATCH, "ubatch", "N", NULL, "llama-perplexity -ub for every pass (default: its own)"},
};

static const struct ostel_command_help quality_help = {
    "quality",
    "MODEL.gguf... --quality-text FILE [--quality-base MODEL] [-c 512] [-b N] [--ubatch N]\n"
    "       [--quality-chunks N] [--keep-logits] [--dir DIR]",
    "Measures what each model's quantization does to its output: llama-perplexity stores the base\n"
    "model's logits once (--kl-divergence-base), then compares every other model with them\n"
    "(--kl-divergence): mean KLD, KLD p99 and max, same top token %, RMS Δp, PPL and its ratio.\n"
    "Each pass is a run directory under telemetry in DIR; `ostel report DIR` and `ostel db "
    "import`\n"
    "read them. Re-running resumes; the base logits are reused and removed at the end.",
    "The logits file holds n_vocab × scored tokens × 2 bytes; its size is computed and checked\n"
    "against the free space before anything runs. exit status: 0 every model measured, 1 a pass\n"
    "was refused or failed, 2 usage, 130/143 interrupted (run again to resume)."};

struct quality_args {
    struct ostel_quality_spec spec;
    char *tags_text;
    char **tags;
    size_t ntags;
};

static int parse_count(const char *arg, const char *what, long long min, long long *out)
{
    int64_t v;
    if (!ostel_parse_i64(arg, min, 1 << 24, &v))
        return ostel_error("quality: --%s: '%s' is not a number from %lld", what, arg, min);
    *out = v;
    return 0;
}

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    (void)source;
    struct quality_args *a = ctx;
    struct ostel_quality_spec *s = &a->spec;
    uint64_t u;
    switch (id) {
    case 'b':
        return parse_count(arg, "batch", 1, &s->batch);
    case 'c':
        return parse_count(arg, "ctx", 16, &s->ctx);
    case OPT_DIR:
        s->dir = arg;
        return 0;
    case OPT_INTERVAL:
        if (!ostel_parse_duration_ns(arg, 1000000ull, &u) || u == 0)
            return ostel_error("quality: --interval: '%s' is not a duration", arg);
        s->interval_ns = u;
        return 0;
    case OPT_KEEP_LOGITS:
        s->keep_logits = true;
        return 0;
    case OPT_LLAMA_BIN:
        s->llama_bin = arg;
        return 0;
    case 'q':
        s->quiet = true;
        return 0;
    case OPT_BASE:
        s->base = arg;
        return 0;
    case OPT_CHUNKS:
        return parse_count(arg, "quality-chunks", 1, &s->chunks);
    case OPT_FREE:
        if (!ostel_parse_size_bytes(arg, &u) || u == 0)
            return ostel_error("quality: --quality-free-bytes: '%s' is not a size", arg);
        s->free_bytes = u;
        return 0;
    case OPT_TEXT:
        s->text = arg;
        return 0;
    case 't':
        free(a->tags_text);
        a->tags_text = ostel_xstrdup(arg);
        return 0;
    case OPT_TIMEOUT:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &u))
            return ostel_error("quality: --timeout: '%s' is not a duration", arg);
        s->timeout_ns = u;
        return 0;
    case OPT_UBATCH:
        return parse_count(arg, "ubatch", 1, &s->ubatch);
    default:
        return 1;
    }
}

int ostel_cmd_quality(int argc, char **argv)
{
    struct quality_args a;
    memset(&a, 0, sizeof(a));
    a.spec.ctx = 512;
    a.spec.dir = "quality";
    a.spec.table = true;
    a.spec.ostel_cmdline = "ostel quality";
    struct ostel_args pos;
    int rc =
        ostel_options_parse_mixed(&quality_help, quality_options, OSTEL_ARRAY_LEN(quality_options),
                                  argc, argv, on_option, &a, &pos);
    if (rc != OSTEL_OPT_DONE) {
        free(a.tags_text);
        return rc == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    }
    int exit_code = OSTEL_EXIT_USAGE;
    if (pos.nrest > 0) {
        ostel_error("quality: no llama.cpp arguments are passed on: every pass must run alike");
        goto out;
    }
    if (pos.npos == 0) {
        ostel_error("quality: no models given (ostel quality --help)");
        goto out;
    }
    if (a.tags_text) {
        for (char *t = strtok(a.tags_text, ","); t; t = strtok(NULL, ",")) {
            a.tags = ostel_xrealloc(a.tags, (a.ntags + 1) * sizeof(char *));
            a.tags[a.ntags++] = t;
        }
        if (a.ntags != (size_t)pos.npos) {
            ostel_error("quality: %zu tags for %d models", a.ntags, pos.npos);
            goto out;
        }
    }
    a.spec.models = (const char *const *)pos.pos;
    a.spec.n_models = (size_t)pos.npos;
    a.spec.tags = (const char *const *)a.tags;
    a.spec.progress_bar = isatty(STDERR_FILENO) == 1;
    exit_code = ostel_quality_execute(&a.spec);
out:
    free(a.tags);
    free(a.tags_text);
    ostel_args_free(&pos);
    return exit_code;
}
