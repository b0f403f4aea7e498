/*
 * run_args: option table and validation of `ostel run` (see run_args.h).
 */
#include "cmd/run_args.h"

#include "llama/gguf_facts.h"
#include "llama/llama_tools.h"
#include "run/llama_cmd.h"
#include "util/fileio.h"
#include "util/names.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_GPU_INTERVAL = 999,
    OPT_INTERVAL = 1000,
    OPT_LLAMA_BIN,
    OPT_METRICS_LISTEN,
    OPT_METRICS_TEXTFILE,
    OPT_RUNS_DIR,
    OPT_SEED,
    OPT_TIMEOUT,
    OPT_TOOL,
};

/* Sorted by long name. */
static const struct ostel_option run_options[] = {
    {'c', "ctx-size", "N", "OSTEL_CTX", "context size (tokens) given to llama.cpp"},
    {OPT_GPU_INTERVAL, "gpu-interval", "DUR", "OSTEL_GPU_INTERVAL",
     "GPU sampling interval (NVML; default 100ms), or off"},
    {OPT_INTERVAL, "interval", "DUR", "OSTEL_INTERVAL",
     "sampling interval: 100ms (default), 10ms, 1s; at least 1ms"},
    {OPT_LLAMA_BIN, "llama-bin", "DIR", "OSTEL_LLAMA_BIN",
     "directory of llama.cpp's programs (default: the pinned build, then PATH)"},
    {OPT_METRICS_LISTEN, "metrics-listen", "HOST:PORT", "OSTEL_METRICS_LISTEN",
     "serve live telemetry for Prometheus on a loopback address (e.g. 127.0.0.1:9464)"},
    {OPT_METRICS_TEXTFILE, "metrics-textfile", "FILE", "OSTEL_METRICS_TEXTFILE",
     "write the telemetry for node_exporter's textfile collector at the end of the run"},
    {'m', "model", "FILE", "OSTEL_MODEL", "GGUF model to run"},
    {'n', "n-predict", "N", "OSTEL_GEN", "tokens to generate (exactly: --ignore-eos)"},
    {'o', "out", "DIR", NULL, "run directory (default: RUNS_DIR/<UTC time>-<tag>)"},
    {'p', "prompt", "TEXT", NULL, "prompt text (default: a fixed paragraph of ~120 tokens)"},
    {'f', "prompt-file", "FILE", NULL, "read the prompt from FILE"},
    {'q', "quiet", NULL, NULL, "print nothing but errors"},
    {OPT_RUNS_DIR, "runs-dir", "DIR", "OSTEL_RUNS_DIR", "where run directories go (default: runs)"},
    {OPT_SEED, "seed", "N", NULL, "llama.cpp sampling seed (default: 42)"},
    {'t', "tag", "TAG", "OSTEL_TAG", "label of the run (groups runs in reports)"},
    {OPT_TIMEOUT, "timeout", "DUR", "OSTEL_TIMEOUT", "end the child after DUR (e.g. 10m)"},
    {OPT_TOOL, "tool", "NAME", "OSTEL_TOOL", "llama-completion (default) or llama-cli"},
    {'v', "verbose", NULL, "OSTEL_VERBOSE", "echo the child's output live"},
};

static const struct ostel_command_help run_help = {
    "run",
    "-m MODEL -c CTX -n GEN -t TAG [options] [-- llama.cpp args]\n"
    "       ostel run MODEL CTX GEN TAG [options]\n"
    "       ostel run -t TAG [options] -- COMMAND [ARGS...]",
    "Runs llama.cpp once (or any command) while sampling the process tree's memory, CPU and "
    "paging\n"
    "and the system's memory pressure, and writes a run directory: llama_output.log, metrics.csv,\n"
    "config.txt and summary.json (docs/run-directory.md).",
    "exit status: 0 the run succeeded, 1 it failed (recorded all the same), 2 usage error,\n"
    "130/143 interrupted by SIGINT/SIGTERM (the child is stopped, the run directory completed).",
};

static void replace(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? ostel_xstrdup(v) : NULL;
}

/* The parse's context: the arguments, and which of MODEL CTX GEN TAG the command line named as
 * options (bits 1, 2, 4, 8), so the classic positionals cannot silently contradict them. */
struct run_parse {
    struct ostel_run_args *a;
    unsigned cli;
};

static unsigned classic_bit(int id)
{
    return id == 'm' ? 1u : id == 'c' ? 2u : id == 'n' ? 4u : id == 't' ? 8u : 0u;
}

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct run_parse *rp = ctx;
    struct ostel_run_args *a = rp->a;
    if (!source)
        rp->cli |= classic_bit(id);
    const char *what = source ? source : NULL;
    int64_t v;
    switch (id) {
    case 'c':
        if (!ostel_parse_i64(arg, 1, 1 << 24, &v))
            return ostel_error("run: %s%sctx-size must be a number of tokens from 1, got '%s'",
                               what ? what : "", what ? ": " : "", arg);
        a->ctx = v;
        return 0;
    case 'n':
        if (!ostel_parse_i64(arg, 1, 1 << 24, &v))
            return ostel_error("run: n-predict must be a number of tokens from 1, got '%s'", arg);
        a->gen = v;
        return 0;
    case OPT_SEED:
        if (!ostel_parse_i64(arg, 0, UINT32_MAX, &v))
            return ostel_error("run: seed must be a number from 0 to 4294967295, got '%s'", arg);
        a->seed = v;
        return 0;
    case OPT_INTERVAL:
        if (!ostel_parse_duration_ns(arg, 1000000ull, &a->interval_ns) ||
            a->interval_ns < 1000000ull || a->interval_ns > 3600ull * 1000000000ull)
            return ostel_error("run: interval must be from 1ms to 1h (e.g. 100ms, 1s), got '%s'",
                               arg);
        return 0;
    case OPT_GPU_INTERVAL:
        if (strcmp(arg, "off") == 0) {
            a->gpu_interval_ns = UINT64_MAX;
            return 0;
        }
        if (!ostel_parse_duration_ns(arg, 1000000ull, &a->gpu_interval_ns) ||
            a->gpu_interval_ns < 10000000ull || a->gpu_interval_ns > 3600ull * 1000000000ull)
            return ostel_error("run: gpu-interval must be from 10ms to 1h, or off, got '%s'", arg);
        return 0;
    case OPT_TIMEOUT:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &a->timeout_ns) || a->timeout_ns == 0)
            return ostel_error("run: timeout must be a positive duration (e.g. 90s, 10m), got '%s'",
                               arg);
        return 0;
    case OPT_TOOL:
        if (strcmp(arg, "llama-completion") && strcmp(arg, "llama-cli"))
            return ostel_error("run: tool must be llama-completion or llama-cli, got '%s'", arg);
        replace(&a->tool, arg);
        return 0;
    case OPT_LLAMA_BIN:
        replace(&a->llama_bin, arg);
        return 0;
    case OPT_RUNS_DIR:
        replace(&a->runs_dir, arg);
        return 0;
    case OPT_METRICS_LISTEN:
        replace(&a->metrics_listen, arg);
        return 0;
    case OPT_METRICS_TEXTFILE:
        replace(&a->metrics_textfile, arg);
        return 0;
    case 'm':
        replace(&a->model, arg);
        return 0;
    case 'o':
        replace(&a->out, arg);
        return 0;
    case 'p':
        replace(&a->prompt, arg);
        return 0;
    case 'f':
        replace(&a->prompt_file, arg);
        return 0;
    case 't':
        replace(&a->tag, arg);
        return 0;
    case 'q':
        a->quiet = true;
        return 0;
    case 'v':
        a->verbose = true;
        return 0;
    }
    return ostel_error("run: unhandled option");
}

char *ostel_run_args_dir_name(const char *out, const char *runs_dir, const char *tag)
{
    if (out)
        return ostel_xstrdup(out);
    char stamp[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    char *safe = ostel_tag_sanitize(tag);
    char *d = ostel_xasprintf("%s/%sZ-%03ld-%s", runs_dir ? runs_dir : "runs", stamp,
                              ts.tv_nsec / 1000000, safe);
    free(safe);
    return d;
}

char *ostel_run_args_join_cmdline(int argc, char **argv)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 20);
    ostel_buf_puts(&b, "ostel");
    for (int i = 0; i < argc; i++) {
        ostel_buf_putc(&b, ' ');
        ostel_buf_puts(&b, argv[i]);
    }
    return ostel_buf_detach(&b);
}

static char **copy_argv(int n, char **v)
{
    char **out = ostel_xcalloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        out[i] = ostel_xstrdup(v[i]);
    return out;
}

static void free_argv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* The harness's form MODEL CTX GEN TAG, exactly four; each may come from the environment too, but
 * not also from the command line. Returns OSTEL_OPT_DONE or, after an error, OSTEL_OPT_USAGE. */
static int apply_classic(struct run_parse *rp, char **pos, int npos)
{
    static const char *const names[] = {"MODEL", "CTX", "GEN", "TAG"};
    static const char *const opts[] = {"-m/--model", "-c/--ctx-size", "-n/--n-predict", "-t/--tag"};
    struct ostel_run_args *a = rp->a;
    if (npos < 4)
        return ostel_error("run: expected MODEL CTX GEN TAG or options (see 'ostel run --help')"),
               OSTEL_OPT_USAGE;
    if (npos > 4)
        return ostel_error("run: unexpected argument '%s'", pos[4]), OSTEL_OPT_USAGE;
    for (int i = 0; i < 4; i++)
        if (rp->cli & (1u << i))
            return ostel_error("run: %s is given twice, as '%s' and with %s", names[i], pos[i],
                               opts[i]),
                   OSTEL_OPT_USAGE;
    int64_t v;
    replace(&a->model, pos[0]);
    if (!ostel_parse_i64(pos[1], 1, 1 << 24, &v))
        return ostel_error("run: CTX must be a number of tokens, got '%s'", pos[1]),
               OSTEL_OPT_USAGE;
    a->ctx = v;
    if (!ostel_parse_i64(pos[2], 1, 1 << 24, &v))
        return ostel_error("run: GEN must be a number of tokens, got '%s'", pos[2]),
               OSTEL_OPT_USAGE;
    a->gen = v;
    replace(&a->tag, pos[3]);
    return OSTEL_OPT_DONE;
}

int ostel_run_args_parse(struct ostel_run_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    a->ctx = a->gen = -1;
    a->seed = 42;
    a->interval_ns = 100000000ull;
    struct run_parse rp = {a, 0};
    struct ostel_args pos;
    int rc = ostel_options_parse_mixed(&run_help, run_options, OSTEL_ARRAY_LEN(run_options), argc,
                                       argv, on_option, &rp, &pos);
    if (rc != OSTEL_OPT_DONE)
        return rc;
    /* Positionals: the classic MODEL CTX GEN TAG (options around them), then "--" and llama.cpp's
     * own arguments; or no positional and "--" COMMAND ARGS (or llama.cpp's arguments after -m). */
    if (pos.npos > 0)
        rc = apply_classic(&rp, pos.pos, pos.npos);
    a->child_argv = rc == OSTEL_OPT_DONE && pos.nrest > 0 ? copy_argv(pos.nrest, pos.rest) : NULL;
    ostel_args_free(&pos);
    if (rc != OSTEL_OPT_DONE)
        return rc;
    char **rest = a->child_argv;
    int nrest = 0;
    while (rest && rest[nrest])
        nrest++;

    a->command_mode = !a->model;
    if (!a->tag)
        a->tag = ostel_xstrdup(a->command_mode ? "command" : "run");
    if (a->command_mode) {
        if (nrest == 0)
            return ostel_error("run: nothing to run: give -m MODEL, or -- COMMAND (see 'ostel run "
                               "--help')"),
                   OSTEL_OPT_USAGE;
        char *path = ostel_find_executable(rest[0]);
        if (!path)
            return ostel_error("run: command '%s' not found", rest[0]), OSTEL_OPT_USAGE;
        free(a->child_argv[0]);
        a->child_argv[0] = path;
    } else {
        if (a->ctx < 0)
            a->ctx = 4096;
        if (a->gen < 0)
            a->gen = 256;
        if (!ostel_is_file(a->model))
            return ostel_error("run: model '%s' not found", a->model), OSTEL_OPT_USAGE;
        char err[256];
        if (ostel_gguf_run_facts_read(&a->model_facts, a->model, err, sizeof(err)) != OSTEL_OK)
            return ostel_error("run: '%s' is not a usable GGUF model: %s", a->model, err),
                   OSTEL_OPT_USAGE;
        if (a->prompt && a->prompt_file)
            return ostel_error("run: give --prompt or --prompt-file, not both"), OSTEL_OPT_USAGE;
        if (a->prompt_file && !ostel_is_file(a->prompt_file))
            return ostel_error("run: prompt file '%s' not found", a->prompt_file), OSTEL_OPT_USAGE;
        const char *tool = a->tool ? a->tool : "llama-completion";
        a->tool_path = ostel_llama_find_tool(a->llama_bin, tool);
        if (!a->tool_path)
            return ostel_error("run: %s not found (%s%s); run scripts/setup.sh, or point "
                               "--llama-bin / OSTEL_LLAMA_BIN at llama.cpp's build/bin",
                               tool,
                               a->llama_bin ? "looked in "
                                            : "looked in OSTEL_LLAMA_BIN, the "
                                              "pinned build and PATH",
                               a->llama_bin ? a->llama_bin : ""),
                   OSTEL_OPT_USAGE;
        if (!a->tool)
            a->tool = ostel_xstrdup(tool);
        struct ostel_run_llama_cmd lc = {a->tool_path,   a->tool, a->model,
                                         a->ctx,         a->gen,  a->prompt,
                                         a->prompt_file, a->seed, a->child_argv};
        char **llama_argv = ostel_run_llama_cmd_argv(&lc);
        free_argv(a->child_argv);
        a->child_argv = llama_argv;
    }

    a->dir = ostel_run_args_dir_name(a->out, a->runs_dir, a->tag);
    a->cmdline = ostel_run_args_join_cmdline(argc, argv);

    struct ostel_run_spec *s = &a->spec;
    s->dir = a->dir;
    s->argv = a->child_argv;
    s->tag = a->tag;
    s->tool = a->command_mode ? "command" : a->tool;
    s->model = a->model;
    s->model_facts = a->command_mode ? NULL : &a->model_facts;
    s->ctx = a->command_mode ? -1 : a->ctx;
    s->gen = a->command_mode ? -1 : a->gen;
    s->prompt_desc = a->command_mode  ? NULL
                     : a->prompt_file ? a->prompt_file
                     : a->prompt      ? "text given with --prompt"
                                      : "ostel default prompt";
    s->scenario = "none";
    s->llama_bin = a->llama_bin ? a->llama_bin : getenv("OSTEL_LLAMA_BIN");
    s->ostel_cmdline = a->cmdline;
    s->interval_ns = a->interval_ns;
    s->gpu_interval_ns = a->gpu_interval_ns;
    s->timeout_ns = a->timeout_ns;
    s->verbose = a->verbose;
    s->quiet = a->quiet;
    return OSTEL_OPT_DONE;
}

void ostel_run_args_free(struct ostel_run_args *a)
{
    free(a->model);
    free(a->tag);
    free(a->out);
    free(a->runs_dir);
    free(a->prompt);
    free(a->prompt_file);
    free(a->tool);
    free(a->llama_bin);
    free(a->metrics_listen);
    free(a->metrics_textfile);
    free_argv(a->child_argv);
    free(a->dir);
    free(a->cmdline);
    free(a->tool_path);
    free(a->llama_version);
    ostel_gguf_run_facts_free(&a->model_facts);
    memset(a, 0, sizeof(*a));
}

static double jnum(const cJSON *o, const char *path)
{
    /* path: dot-separated keys */
    char key[64];
    const char *p = path;
    while (o && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(key))
            return NAN;
        memcpy(key, p, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        p = dot ? dot + 1 : p + n;
    }
    return cJSON_IsNumber(o) ? o->valuedouble : NAN;
}

void ostel_run_args_report(const struct ostel_run_args *a, const struct ostel_run_result *res)
{
    const struct ostel_summary *sum = res->summary; /* NULL when none was left */
    const cJSON *llama = sum ? sum->llama : NULL;

    if (!a->command_mode && sum && res->status == OSTEL_RUN_OK) {
        const cJSON *bufs = cJSON_GetObjectItem(llama, "buffers");
        const cJSON *bd = cJSON_GetObjectItem(llama, "memory_breakdown");
        if (cJSON_GetArraySize(bufs) == 0 && cJSON_GetArraySize(bd) == 0)
            ostel_warn(
                "llama.cpp printed no memory lines (buffer sizes, memory breakdown) although "
                "ostel asked for them with -lv 4: this llama.cpp may print them at another "
                "verbosity; the memory half of the report will be empty");
        if (!sum->run.log_complete)
            ostel_warn("llama.cpp's output ends before its timings: its logger writes from a "
                       "thread that is not waited for at exit and lost the last lines (llama.cpp "
                       "issue 22142); run again for the timings");
        double gen = sum->run.gen_tokens;
        if (!isnan(gen) && (long long)gen != a->gen)
            ostel_warn("llama.cpp generated %.0f tokens, %lld were asked", gen, a->gen);
    }
    if (res->write_error[0]) { /* never "run ok" when the run could not be recorded */
        ostel_error("run failed: %s in '%s'", res->write_error, a->dir);
    } else if (!a->quiet) {
        double pp = jnum(llama, "timings.prompt_tps"), tg = jnum(llama, "timings.gen_tps");
        double rss = jnum(sum ? sum->telemetry : NULL, "overall.rss_peak_mib");
        fprintf(stderr, "ostel: run %s", ostel_run_status_name(res->status));
        if (res->status == OSTEL_RUN_FAILED)
            fprintf(stderr, " (exit %d)", res->exit_code);
        if (res->signal && res->status != OSTEL_RUN_INTERRUPTED)
            fprintf(stderr, " (signal %d%s)", res->signal, res->oom_killed ? ", OOM killer" : "");
        if (!isnan(pp))
            fprintf(stderr, ", prompt %.2f t/s", pp);
        if (!isnan(tg))
            fprintf(stderr, ", generation %.2f t/s", tg);
        if (!isnan(rss))
            fprintf(stderr, ", peak RSS %.0f MiB", rss);
        fprintf(stderr, ", %llu samples", (unsigned long long)res->samples);
        double own = jnum(sum ? sum->telemetry : NULL, "ostel_cpu.pct_of_core");
        if (!isnan(own))
            fprintf(stderr, " (watching took %.2f%% of a core)", own);
        fputc('\n', stderr);
        printf("%s\n", a->dir);
    }
}
