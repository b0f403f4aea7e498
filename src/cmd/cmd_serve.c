/*
 * cmd_serve: `ostel serve` — llama-server under concurrent load, measured from the client and the
 * machine at once (docs/serve.md).
 *
 *   ostel serve -m MODEL [-c CTX] [--parallel N] [load options] [-- extra llama-server args]
 *   ostel serve --url http://127.0.0.1:8080 [--pid PID] [load options]
 *
 * By default it starts llama-server itself on 127.0.0.1 and a free port, as the child of an
 * ordinary run (src/run/runner.c: the server's process tree sampled, its log captured), and runs
 * the load on the runner's `during` thread; when the load is done the runner stops the server. With
 * --url it loads a server that is already running and samples --pid's tree, or ostel's own process
 * (the client) and the system. It only ever sends to the URL given or to the server it started.
 */
#include "cmd/cmd.h"
#include "cmd/run_args.h"
#include "llama/gguf_facts.h"
#include "llama/llama_tools.h"
#include "platform/platform.h"
#include "run/aggregate.h"
#include "rundir/rundir_metrics.h"
#include "run/prom.h"
#include "run/runner.h"
#include "run/sampler.h"
#include "rundir/rundir_config.h"
#include "serve/serve.h"
#include "serve/serve_server.h"
#include "util/fileio.h"
#include "util/opt.h"
#include "util/optval.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_ARRIVALS = 1000,
    OPT_CONCURRENCY,
    OPT_DURATION,
    OPT_INTERVAL,
    OPT_LLAMA_BIN,
    OPT_MAX_ERRORS,
    OPT_METRICS_LISTEN,
    OPT_METRICS_TEXTFILE,
    OPT_NO_SAT,
    OPT_OUTPUT_TOKENS,
    OPT_PARALLEL,
    OPT_PID,
    OPT_PROMPT_NONCE,
    OPT_PROMPT_TOKENS,
    OPT_RATE,
    OPT_READY_TIMEOUT,
    OPT_REQUESTS,
    OPT_REUSE,
    OPT_RUNS_DIR,
    OPT_SAVE_TOKENS,
    OPT_SEED,
    OPT_SLO,
    OPT_SWEEP,
    OPT_SWEEP_CONC,
    OPT_TIMEOUT,
    OPT_URL,
    OPT_UTF8_ONLY,
    OPT_VOCAB,
    OPT_WARMUP,
};

/* Sorted by long name. */
static const struct ostel_option serve_options[] = {
    {OPT_ARRIVALS, "arrivals", "KIND", NULL, "open loop: poisson (default) or constant"},
    {OPT_CONCURRENCY, "concurrency", "LIST", NULL, "closed loop at these concurrencies: 1,2,4"},
    {'c', "ctx-size", "N", "OSTEL_CTX", "context size given to llama-server (default 4096)"},
    {OPT_DURATION, "duration", "DUR", NULL, "measure each level for DUR instead of --requests"},
    {OPT_INTERVAL, "interval", "DUR", "OSTEL_INTERVAL",
     "sampling interval (default 100ms); /metrics is scraped every 10 intervals"},
    {OPT_LLAMA_BIN, "llama-bin", "DIR", "OSTEL_LLAMA_BIN",
     "directory of llama.cpp's programs (default: the pinned build, then PATH)"},
    {OPT_MAX_ERRORS, "max-error-rate", "X", NULL,
     "stop a level when more than this share of its requests failed (default 0.5)"},
    {OPT_METRICS_LISTEN, "metrics-listen", "HOST:PORT", "OSTEL_METRICS_LISTEN",
     "serve live telemetry for Prometheus on a loopback address (e.g. 127.0.0.1:9464)"},
    {OPT_METRICS_TEXTFILE, "metrics-textfile", "FILE", "OSTEL_METRICS_TEXTFILE",
     "write the telemetry for node_exporter's textfile collector at the end"},
    {'m', "model", "FILE", "OSTEL_MODEL", "GGUF model for the llama-server ostel starts"},
    {OPT_NO_SAT, "no-saturation-stop", NULL, NULL,
     "keep an open-loop level going when its backlog grows without bound"},
    {'o', "out", "DIR", NULL, "run directory (default: RUNS_DIR/<UTC time>-<tag>)"},
    {OPT_OUTPUT_TOKENS, "output-tokens", "LEN", NULL,
     "tokens generated: N, N:SD (normal) or MIN-MAX (uniform; default 256)"},
    {OPT_PARALLEL, "parallel", "N", NULL, "llama-server slots (-np; default: the server's own)"},
    {OPT_PID, "pid", "PID", NULL, "with --url: watch this process tree (the server's)"},
    {'f', "prompt-file", "FILE", NULL, "cut prompts from this text (default: a built-in text)"},
    {OPT_PROMPT_NONCE, "prompt-nonce", "N", NULL,
     "prompts' nonce (default: per run); an earlier run's sends its prompts"},
    {OPT_PROMPT_TOKENS, "prompt-tokens", "LEN", NULL,
     "prompt tokens: N, N:SD (normal) or MIN-MAX (uniform; default 512)"},
    {'q', "quiet", NULL, NULL, "print nothing but errors"},
    {OPT_RATE, "rate", "LIST", NULL, "open loop at these request rates (req/s): 0.5,1,2"},
    {OPT_READY_TIMEOUT, "ready-timeout", "DUR", NULL,
     "how long the server may take to answer /health (default 5m)"},
    {OPT_REQUESTS, "requests", "N", NULL, "measured requests per level (default 32)"},
    {OPT_REUSE, "reuse-prompts", NULL, NULL,
     "send the same prompt every time (measures the prompt cache)"},
    {OPT_RUNS_DIR, "runs-dir", "DIR", "OSTEL_RUNS_DIR", "where run directories go (default: runs)"},
    {OPT_SAVE_TOKENS, "save-tokens", NULL, NULL,
     "write tokens.csv: every token chunk's arrival time and text"},
    {OPT_SEED, "seed", "N", NULL, "seed of lengths and arrivals (default 42)"},
    {OPT_SLO, "slo", "SPEC", NULL, "goodput bounds (default ttft=500ms,itl=50ms,e2e=10s)"},
    {OPT_SWEEP, "sweep", "N", NULL,
     "N levels: concurrency 1, the saturating concurrency, then rates between"},
    {OPT_SWEEP_CONC, "sweep-concurrency", "N", NULL, "the sweep's saturating level (default 16)"},
    {'t', "tag", "TAG", "OSTEL_TAG", "label of the run (default serve)"},
    {OPT_TIMEOUT, "timeout", "DUR", NULL, "per-request timeout (default 10m)"},
    {OPT_URL, "url", "URL", NULL, "load this running server instead of starting one"},
    {OPT_UTF8_ONLY, "utf8-only", "WHEN", NULL,
     "ban tokens that are not UTF-8 alone: auto (default; on for ostel synth), on, off"},
    {'v', "verbose", NULL, "OSTEL_VERBOSE", "echo the server's output live"},
    {OPT_VOCAB, "vocab", "FILE", NULL,
     "with --url: the GGUF of the server's vocabulary, for --utf8-only"},
    {OPT_WARMUP, "warmup", "N", NULL, "uncounted requests at the start of each level (default 2)"},
};

static const struct ostel_command_help serve_help = {
    "serve",
    "-m MODEL [options] [-- llama-server args]\n"
    "       ostel serve --url URL [--pid PID] [options]",
    "Loads llama-server with concurrent streaming requests (closed loop at concurrencies, open "
    "loop\n"
    "at rates, or a sweep) and measures every request from the client (TTFT, ITL, TPOT, E2E) "
    "while\n"
    "sampling the server's process tree and the system. Writes a run directory with requests.csv,\n"
    "server_metrics.csv, metrics.csv (with a level column), llama_output.log, config.txt and\n"
    "summary.json (its \"serve\" object holds each level's results; docs/serve.md).",
    "exit status: 0 the load ran, 1 the server failed or no level completed a request, 2 usage\n"
    "error, 130/143 interrupted (what was measured is kept, the server stopped).",
};

struct serve_args {
    struct ostel_serve_params p;
    char *model, *url, *tag, *out, *runs_dir, *llama_bin, *prompt_file;
    char *metrics_listen, *metrics_textfile; /* the Prometheus exporter (run/prom.h) */
    struct ostel_prom *prom;
    long long ctx, parallel, pid;
    double *levels;
    size_t n_levels;
    bool have_conc, have_rate, have_sweep;
    uint64_t interval_ns, ready_timeout_ns;
    bool verbose;
    char *vocab;         /* --vocab: with --url, the GGUF of the server's vocabulary */
    int utf8_only;       /* --utf8-only: -1 auto, 0 off, 1 on */
    int32_t *banned_ids; /* the tokens the requests ban (a.p.banned_tokens), owned */
    /* the model's header facts from resolve_utf8_only's read, for the runner (model_file NULL:
     * not read; the runner reads it), owned */
    struct ostel_gguf_run_facts model_facts;
};

static void replace(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? ostel_xstrdup(v) : NULL;
}

/* An option group's answer for an option that is not in its group. */
enum { OPTION_NOT_MINE = 1 };

/* The load's levels: closed or open loop, at which concurrencies or rates, or a sweep. */
static int on_level_option(struct serve_args *a, int id, const char *arg)
{
    int64_t v;
    switch (id) {
    case OPT_ARRIVALS:
        if (strcmp(arg, "poisson") && strcmp(arg, "constant"))
            return ostel_error("serve: arrivals must be poisson or constant, got '%s'", arg);
        a->p.poisson = strcmp(arg, "poisson") == 0;
        return 0;
    case OPT_CONCURRENCY:
        if (!ostel_parse_levels(arg, true, &a->levels, &a->n_levels))
            return ostel_error("serve: concurrency must be a list of whole numbers from 1 (1,2,4),"
                               " got '%s'",
                               arg);
        a->have_conc = true;
        a->have_rate = false;
        return 0;
    case OPT_RATE:
        if (!ostel_parse_levels(arg, false, &a->levels, &a->n_levels))
            return ostel_error("serve: rate must be a list of positive requests/s (0.5,1,2), "
                               "got '%s'",
                               arg);
        a->have_rate = true;
        a->have_conc = false;
        return 0;
    case OPT_SWEEP:
        if (!ostel_parse_i64(arg, 3, 100, &v))
            return ostel_error("serve: sweep must be a number of levels from 3 to 100, got '%s'",
                               arg);
        a->p.sweep_points = (int)v;
        a->have_sweep = true;
        return 0;
    case OPT_SWEEP_CONC:
        if (!ostel_parse_i64(arg, 2, 100000, &v))
            return ostel_error("serve: sweep-concurrency must be from 2, got '%s'", arg);
        a->p.sweep_concurrency = (int)v;
        return 0;
    }
    return OPTION_NOT_MINE;
}

/* Durations: each level's, the server's start, a request's, the sampling interval. */
static int on_duration_option(struct serve_args *a, int id, const char *arg)
{
    uint64_t ns;
    switch (id) {
    case OPT_DURATION:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &ns) || ns == 0)
            return ostel_error("serve: duration must be a positive duration (30s), got '%s'", arg);
        a->p.duration_s = (double)ns / 1e9;
        return 0;
    case OPT_READY_TIMEOUT:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &a->ready_timeout_ns) ||
            a->ready_timeout_ns == 0)
            return ostel_error("serve: ready-timeout must be a positive duration, got '%s'", arg);
        return 0;
    case OPT_TIMEOUT:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &ns) || ns == 0)
            return ostel_error("serve: timeout must be a positive duration (30s), got '%s'", arg);
        a->p.timeout_s = (double)ns / 1e9;
        return 0;
    case OPT_INTERVAL:
        if (!ostel_parse_duration_ns(arg, 1000000ull, &a->interval_ns) ||
            a->interval_ns < 1000000ull || a->interval_ns > 3600ull * 1000000000ull)
            return ostel_error("serve: interval must be from 1ms to 1h, got '%s'", arg);
        return 0;
    }
    return OPTION_NOT_MINE;
}

/* The server's numbers (context, slots, --pid's process) and the requests': how many, their
 * lengths, prompts, seed, bounds and what stops a level. */
static int on_request_option(struct serve_args *a, int id, const char *arg)
{
    int64_t v;
    double d;
    switch (id) {
    case 'c':
        if (!ostel_parse_i64(arg, 1, 1 << 24, &v))
            return ostel_error("serve: ctx-size must be a number of tokens from 1, got '%s'", arg);
        a->ctx = v;
        return 0;
    case OPT_PARALLEL:
        if (!ostel_parse_i64(arg, 1, 4096, &v))
            return ostel_error("serve: parallel must be from 1 to 4096, got '%s'", arg);
        a->parallel = v;
        return 0;
    case OPT_PID:
        if (!ostel_parse_i64(arg, 1, INT32_MAX, &v))
            return ostel_error("serve: pid must be a process id, got '%s'", arg);
        a->pid = v;
        return 0;
    case OPT_MAX_ERRORS:
        if (!ostel_parse_f64(arg, &d) || !(d >= 0 && d <= 1))
            return ostel_error("serve: max-error-rate must be from 0 to 1, got '%s'", arg);
        a->p.max_error_rate = d;
        return 0;
    case OPT_OUTPUT_TOKENS:
        if (!ostel_parse_length(arg, &a->p.output_tokens, &a->p.output_sd, &a->p.output_max))
            return ostel_error("serve: output-tokens must be N, N:SD or MIN-MAX, got '%s'", arg);
        return 0;
    case OPT_PROMPT_TOKENS:
        if (!ostel_parse_length(arg, &a->p.prompt_tokens, &a->p.prompt_sd, &a->p.prompt_max))
            return ostel_error("serve: prompt-tokens must be N, N:SD or MIN-MAX, got '%s'", arg);
        return 0;
    case OPT_REQUESTS:
        if (!ostel_parse_i64(arg, 1, 10000000, &v))
            return ostel_error("serve: requests must be a number from 1, got '%s'", arg);
        a->p.requests = (int)v;
        return 0;
    case OPT_WARMUP:
        if (!ostel_parse_i64(arg, 0, 1000000, &v))
            return ostel_error("serve: warmup must be a number from 0, got '%s'", arg);
        a->p.warmup = (int)v;
        return 0;
    case OPT_PROMPT_NONCE:
        if (!ostel_parse_i64(arg, 0, ((int64_t)1 << 40) - 1, &v))
            return ostel_error("serve: prompt-nonce must be from 0 to 2^40 - 1, got '%s'", arg);
        a->p.prompt_nonce = (uint64_t)v;
        a->p.prompt_nonce_set = true;
        return 0;
    case OPT_SEED:
        if (!ostel_parse_i64(arg, 0, INT64_MAX, &v))
            return ostel_error("serve: seed must be a number from 0, got '%s'", arg);
        a->p.seed = (uint64_t)v;
        return 0;
    case OPT_SLO:
        if (!ostel_parse_slo(arg, &a->p.slo_ttft_ms, &a->p.slo_itl_ms, &a->p.slo_e2e_ms))
            return ostel_error("serve: slo must look like ttft=500ms,itl=50ms,e2e=10s, got '%s'",
                               arg);
        return 0;
    case OPT_NO_SAT:
        a->p.stop_on_saturation = false;
        return 0;
    case OPT_REUSE:
        a->p.reuse_prompts = true;
        return 0;
    case OPT_SAVE_TOKENS:
        a->p.save_tokens = true;
        return 0;
    }
    return OPTION_NOT_MINE;
}

/* Names (files, directories, the URL, the tag), --utf8-only and the output switches. */
static int on_name_option(struct serve_args *a, int id, const char *arg)
{
    switch (id) {
    case OPT_URL:
        replace(&a->url, arg);
        return 0;
    case OPT_UTF8_ONLY:
        if (strcmp(arg, "auto") && strcmp(arg, "on") && strcmp(arg, "off"))
            return ostel_error("serve: utf8-only must be auto, on or off, got '%s'", arg);
        a->utf8_only = !strcmp(arg, "auto") ? -1 : !strcmp(arg, "on");
        return 0;
    case OPT_VOCAB:
        replace(&a->vocab, arg);
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
    case 'f':
        replace(&a->prompt_file, arg);
        return 0;
    case 't':
        replace(&a->tag, arg);
        return 0;
    case 'q':
        a->p.quiet = true;
        return 0;
    case 'v':
        a->verbose = true;
        return 0;
    }
    return OPTION_NOT_MINE;
}

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    static int (*const groups[])(struct serve_args *, int, const char *) = {
        on_level_option, on_duration_option, on_request_option, on_name_option};
    struct serve_args *a = ctx;
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(groups); i++) {
        int rc = groups[i](a, id, arg);
        if (rc != OPTION_NOT_MINE)
            return rc;
    }
    (void)source;
    return ostel_error("serve: unhandled option");
}

/* The url must be plain http(s) to a host; anything else is refused before it is used. */
static bool url_ok(const char *u)
{
    if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\')
            return false;
    return true;
}

/* What serve_before_summary decided, for config.txt's last write (serve_before_config) and the
 * files written after the runner when it could not write them. */
struct serve_ctx {
    const char *dir;
    const struct serve_args *a;           /* the load's parameters, for config.txt */
    struct ostel_serve_server_result *sr; /* the server and its load (serve_server.h) */
    bool judged;                          /* it ran */
    bool labelled;                        /* metrics.csv got its level column (label_errno) */
    int label_errno;                      /* ostel_serve_label_metrics()'s errno */
    char verdict[400];                    /* serve_before_config's error= (serve_verdict) */
    bool write_error_then;                /* the runner had a write error by then */
    char outcome[400];                    /* ostel_serve_server_error()'s text then */
    struct cJSON *summary; /* the summary as the runner was to write it (owned), for a fallback */
};

/* URL mode's signal flag (the runner keeps its own in the default mode). */
static _Atomic int g_url_stop;
static volatile sig_atomic_t g_url_signal;

static void on_url_signal(int sig)
{
    g_url_signal = sig;
    atomic_store(&g_url_stop, 1);
}

/* err, or err + "; " + what when err already says something */
static void add_reason(char *err, size_t err_size, const char *what)
{
    size_t l = strlen(err);
    snprintf(err + l, err_size - l, "%s%s", l ? "; " : "", what);
}

/*
 * The last resort when an atomic write failed for want of room (a full disk, a file-size limit):
 * the old file truncated and written over in place, which reuses its blocks. A reader may then see
 * part of it for a moment, but never the old status once it is done; when even that fails the
 * file is removed, so no stale status ("running", "ok") is left beside a failed run.
 */
static void write_in_place(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    if (fd >= 0) {
        ok = ok && (fsync(fd) == 0 || errno == EINVAL);
        ok = close(fd) == 0 && ok;
    }
    if (!ok)
        (void)unlink(path);
}

/*
 * Writes config.txt atomically (in place as the last resort, write_in_place): base (the lines
 * before the load's; NULL = the runner's config.txt as it stands, its status=, error= and serve_
 * lines left out), the load's lines, then status= and, when set, error=. Returns 0 or the errno of
 * the atomic write's failure (prints nothing).
 */
static int write_config(const char *dir, const struct serve_args *a, const char *url,
                        const char *base, const char *status, const char *error)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    /* a runner's config.txt that cannot be read leaves the load's lines and the status */
    (void)ostel_serve_config_text(dir, base, &a->p, a->parallel, url, status, error, &b);
    int e = ostel_config_write(dir, b.data ? b.data : "", b.len);
    if (e) {
        char *path = ostel_xasprintf("%s/config.txt", dir);
        write_in_place(path, b.data ? b.data : "", b.len);
        free(path);
    }
    ostel_buf_free(&b);
    return e;
}

/* summary.json's "serve": the load's results (serve_json, NULL = none) and its error. */
static cJSON *serve_section(const cJSON *serve_json, const char *serve_error)
{
    cJSON *s = serve_json ? cJSON_Duplicate(serve_json, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(s, "error",
                          serve_error && *serve_error ? cJSON_CreateString(serve_error)
                                                      : cJSON_CreateNull());
    return s;
}

/*
 * Writes summary.json atomically: root (owned: the runner's summary as a tree, or --url mode's)
 * with the load's results as "serve", run.status set to status and, when set, run.error; with
 * last_resort, in place when that fails (write_in_place). Returns 0 or the errno of the atomic
 * write's failure (prints nothing).
 */
static int write_summary(const char *dir, cJSON *root, const cJSON *serve_json,
                         const char *serve_error, const char *status, const char *run_error,
                         bool last_resort)
{
    if (!root) /* the runner left no summary */
        root = cJSON_CreateObject();
    cJSON_DeleteItemFromObject(root, "serve");
    cJSON_AddItemToObject(root, "serve", serve_section(serve_json, serve_error));
    cJSON *run = cJSON_GetObjectItem(root, "run");
    if (!cJSON_IsObject(run))
        run = cJSON_AddObjectToObject(root, "run");
    cJSON_DeleteItemFromObject(run, "status");
    cJSON_AddStringToObject(run, "status", status);
    if (run_error && *run_error) {
        cJSON_DeleteItemFromObject(run, "error");
        cJSON_AddStringToObject(run, "error", run_error);
    }
    int e = ostel_summary_write_json(dir, root);
    if (e && last_resort) {
        size_t n = 0;
        char *json = ostel_summary_json_text(root, &n);
        char *path = ostel_xasprintf("%s/summary.json", dir);
        write_in_place(path, json, n);
        free(path);
        free(json);
    }
    cJSON_Delete(root);
    return e;
}

/*
 * The run's last word where the runner did not write it (--url, or a runner whose write of
 * summary.json or config.txt failed): summary.json, then config.txt (whose status a study reads),
 * each written atomically and checked. A
 * write that fails makes the run failed with the reason (in err, which is empty or already holds
 * the load's error), recorded in whichever file can still be written: a summary.json too big for
 * the disk is written again without the levels, and each file is written in place or removed as
 * the last resort (write_in_place), so that no stale "ok" or "running" stays beside a failed run.
 * *status is updated. Returns 0, or OSTEL_ERR when a file could not be written.
 */
static int finish_files(const char *dir, const struct serve_args *a, const char *url,
                        const char *config_base, cJSON *root, const cJSON *serve_json,
                        const char **status, char *err, size_t err_size)
{
    char serve_err[400], what[200];
    snprintf(serve_err, sizeof(serve_err), "%s", err);
    cJSON *copy1 = root ? cJSON_Duplicate(root, 1) : NULL;
    cJSON *copy2 = root ? cJSON_Duplicate(root, 1) : NULL;
    int se = write_summary(dir, root, serve_json, serve_err, *status, err, false);
    if (se) {
        *status = "failed";
        ostel_write_error_text(what, sizeof(what), se, "summary.json");
        if (!strstr(err, what)) /* the runner's own attempt may have said so already */
            add_reason(err, err_size, what);
        (void)write_summary(dir, copy1, NULL, serve_err, *status, err, true);
        copy1 = NULL; /* write_summary took it */
    }
    int ce = write_config(dir, a, url, config_base, *status, err);
    if (ce) {
        *status = "failed";
        ostel_write_error_text(what, sizeof(what), ce, "config.txt");
        add_reason(err, err_size, what);
        if (!se) { /* summary.json must not say ok beside no config.txt */
            (void)write_summary(dir, copy2, serve_json, serve_err, *status, err, true);
            copy2 = NULL;
        }
    }
    cJSON_Delete(copy1);
    cJSON_Delete(copy2);
    return se || ce ? OSTEL_ERR : OSTEL_OK;
}

static void print_log_tail(const char *dir)
{
    char *path = ostel_xasprintf("%s/llama_output.log", dir);
    struct ostel_buf b;
    ostel_buf_init(&b, 64u << 20);
    if (ostel_file_read_all(path, 64u << 20, &b) == 0 && b.len) {
        size_t start = b.len, lines = 0;
        while (start > 0 && lines < 6)
            if (b.data[--start] == '\n' && start + 1 < b.len)
                lines++;
        fprintf(stderr, "ostel serve: the server's last lines (%s):\n", path);
        for (size_t i = start; i < b.len; i++) {
            unsigned char ch = (unsigned char)b.data[i];
            fputc(ch < 0x20 && ch != '\n' && ch != '\t' ? '?' : ch, stderr);
        }
    }
    ostel_buf_free(&b);
    free(path);
}

/* --utf8-only (serve.h: ostel_serve_resolve_utf8): the model's GGUF, or --vocab's with --url. */
static int resolve_utf8_only(struct serve_args *a)
{
    return ostel_serve_resolve_utf8(a->utf8_only, a->url ? a->vocab : a->model, &a->p,
                                    &a->banned_ids, a->url ? NULL : &a->model_facts, NULL);
}

/* What --url mode's load and sampling left, for its run directory's last files. */
struct url_run {
    pid_t watched;                   /* --pid's process, or ostel's own */
    struct timespec t0, t1;          /* the sampling's start and end (realtime) */
    struct ostel_serve_outcome out;  /* the load's (owned) */
    uint64_t samples;                /* the sampler's rows */
    struct ostel_metrics_table rows; /* the sampler's, for the level column (owned) */
    bool rows_complete;              /* rows holds every row it wrote */
    int werr;                        /* metrics.csv's first write errno, 0 none */
    char err[300];                   /* the run's error, "" none */
};

/* Creates dir's metrics.csv and writes its header (its errno into *werr); returns the descriptor,
 * or OSTEL_ERR after printing why. */
static int url_open_metrics(const char *dir, int *werr)
{
    char *mpath = ostel_xasprintf("%s/metrics.csv", dir);
    int csv_fd = open(mpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    free(mpath);
    if (csv_fd < 0)
        return ostel_error("cannot create files in '%s': %s", dir, strerror(errno));
    char header[512];
    size_t hl = ostel_metrics_format_header(header, sizeof(header));
    *werr = ostel_fd_write_all_errno(csv_fd, header, hl);
    return csv_fd;
}

/* The load, once the server answers /health; its error into u->err. */
static void url_load(struct serve_args *a, struct url_run *u)
{
    int rc = ostel_serve_wait_health(a->url, (double)a->ready_timeout_ns / 1e9, &g_url_stop, NULL,
                                     NULL, u->err, sizeof(u->err));
    if (rc == 0) {
        rc = ostel_serve_run(&a->p, &g_url_stop, &u->out);
        if (rc != 0)
            snprintf(u->err, sizeof(u->err), "%s", u->out.error);
    } else {
        memset(&u->out, 0, sizeof(u->out));
    }
}

/* The load with SIGINT and SIGTERM caught and u->watched's tree sampled into csv_fd, which is
 * closed after it. */
static void url_measure(struct serve_args *a, const char *dir, int csv_fd, struct url_run *u)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_url_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGPIPE, SIG_IGN);
    clock_gettime(CLOCK_REALTIME, &u->t0);
    const char *slash = strrchr(dir, '/');
    ostel_prom_run_begin(a->prom, slash && slash[1] ? slash + 1 : dir, a->tag, NULL);
    struct ostel_sampler *s = ostel_sampler_start_keep(
        u->watched, csv_fd, a->interval_ns, a->prom ? ostel_prom_tap : NULL, a->prom, true);
    if (!s)
        ostel_warn("the load goes on without telemetry");
    url_load(a, u);
    if (s) {
        int64_t kills = -1;
        int se = 0;
        u->samples = ostel_sampler_finish_rows(s, &kills, NULL, &se, &u->rows, &u->rows_complete);
        u->werr = u->werr ? u->werr : se;
    }
    if (fsync(csv_fd) != 0 && errno != EINVAL && !u->werr)
        u->werr = errno;
    if (close(csv_fd) != 0 && !u->werr)
        u->werr = errno;
    clock_gettime(CLOCK_REALTIME, &u->t1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

/* metrics.csv's level column; a failed write or label is the run's error unless the load's came
 * first. */
static void url_label(const char *dir, struct url_run *u)
{
    /* the rows as the file holds them; read back only where the sampler could not keep them all
     * (out of memory) or a write failed (the file then lacks some) */
    int le =
        ostel_serve_label_metrics(dir, u->rows_complete && !u->werr ? &u->rows : NULL, &u->out);
    ostel_metrics_table_free(&u->rows);
    if ((u->werr || le) && !u->err[0]) /* the load's own error, if any, came first */
        ostel_write_error_text(u->err, sizeof(u->err), u->werr ? u->werr : le, "metrics.csv");
}

/* config.txt's lines before the load's, for a run that ostel did not start. */
static void url_config_base(struct ostel_buf *base, const struct serve_args *a, const char *cmdline,
                            pid_t watched)
{
    ostel_config_line(base, OSTEL_CFG_TAG, a->tag);
    ostel_config_line(base, OSTEL_CFG_TOOL, "llama-server");
    ostel_config_line(base, OSTEL_CFG_MODEL, NULL);
    ostel_config_line(base, OSTEL_CFG_CTX, NULL);
    ostel_config_line(base, OSTEL_CFG_GEN, NULL);
    ostel_config_line(base, OSTEL_CFG_OSTEL_COMMAND, cmdline);
    ostel_config_line(base, OSTEL_CFG_OSTEL_VERSION, OSTEL_VERSION);
    ostel_config_linef(base, OSTEL_CFG_INTERVAL_MS, "%.3f", (double)a->interval_ns / 1e6);
    ostel_config_num(base, OSTEL_CFG_WATCHED_PID, (long long)watched, true);
}

/* The struct's summary of a process ostel did not start (rundir_summary.h: external), as the
 * tree that finish_files writes (owned by the caller). */
static cJSON *url_summary(const struct serve_args *a, const struct url_run *u, const char *status)
{
    double st = (double)u->t0.tv_sec + u->t0.tv_nsec / 1e9,
           et = (double)u->t1.tv_sec + u->t1.tv_nsec / 1e9;
    struct ostel_summary sum;
    ostel_summary_init(&sum);
    sum.external = true;
    ostel_summary_set_str(&sum.ostel_version, OSTEL_VERSION);
    char id[40];
    snprintf(id, sizeof(id), "%08lx%08lx%08x", (unsigned long)u->t0.tv_sec,
             (unsigned long)u->t0.tv_nsec, (unsigned)getpid());
    ostel_summary_set_str(&sum.run.run_id, id);
    ostel_summary_set_str(&sum.run.tag, a->tag);
    ostel_summary_set_str(&sum.run.status, status);
    sum.run.start_ts_s = st;
    sum.run.end_ts_s = et;
    sum.run.wall_s = et - st;
    ostel_summary_set_str(&sum.run.tool, "llama-server");
    sum.run.samples = (long long)u->samples;
    sum.run.watched_pid = (long long)u->watched;
    cJSON *root = ostel_summary_to_json(&sum);
    ostel_summary_free(&sum);
    return root;
}

/* --url: the load against a running server, sampling --pid's tree or ostel's own process. */
static int serve_url(struct serve_args *a, const char *dir, const char *cmdline)
{
    struct url_run u;
    memset(&u, 0, sizeof(u));
    int csv_fd = url_open_metrics(dir, &u.werr);
    if (csv_fd < 0)
        return OSTEL_ERR;
    u.watched = a->pid > 0 ? (pid_t)a->pid : getpid();
    url_measure(a, dir, csv_fd, &u);
    url_label(dir, &u);

    /* config.txt and summary.json of a run that ostel did not start */
    int ok = ostel_serve_levels_completed(&u.out);
    if (!u.err[0] && !g_url_signal && !ok)
        snprintf(u.err, sizeof(u.err), "no level completed a request");
    const char *status = g_url_signal ? "interrupted" : u.err[0] ? "failed" : "ok";
    struct ostel_buf base;
    ostel_buf_init(&base, 0);
    url_config_base(&base, a, cmdline, u.watched);
    cJSON *root = url_summary(a, &u, status);
    int frc = finish_files(dir, a, a->url, base.data ? base.data : "", root, u.out.json, &status,
                           u.err, sizeof(u.err));
    ostel_buf_free(&base);
    ostel_prom_run_end(a->prom, status);
    ostel_serve_outcome_free(&u.out);
    if (u.err[0])
        ostel_error("serve: %s", u.err);
    if (!a->p.quiet)
        fprintf(stderr, "ostel serve: %s: %s\n", status, dir);
    if (g_url_signal && frc == 0)
        return 128 + g_url_signal;
    return !u.err[0] ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}

/* Checks the parsed options and fills in their defaults; prints the first problem (OSTEL_ERR). */
static int settle_args(struct serve_args *a, const struct ostel_args *pa)
{
    if (pa->npos > 0)
        return ostel_error("serve: unexpected argument '%s'", pa->pos[0]);
    if (!a->tag)
        a->tag = ostel_xstrdup("serve");
    if (a->have_sweep && (a->have_conc || a->have_rate))
        return ostel_error(
            "serve: --sweep decides its own levels; leave out --concurrency and --rate");
    if (!a->have_conc && !a->have_rate && !a->have_sweep) {
        a->levels = ostel_xmalloc(sizeof(double));
        a->levels[0] = 1;
        a->n_levels = 1;
        a->have_conc = true;
    }
    a->p.mode = a->have_sweep  ? OSTEL_SERVE_SWEEP
                : a->have_rate ? OSTEL_SERVE_RATE
                               : OSTEL_SERVE_CONCURRENCY;
    a->p.levels = a->levels;
    a->p.n_levels = a->n_levels;
    a->p.prompt_file = a->prompt_file;
    a->p.scrape_interval_ns = a->interval_ns * 10;
    if (a->url && (a->model || pa->dashdash))
        return ostel_error("serve: --url loads a running server; -m and llama-server arguments "
                           "are for the server ostel starts");
    if (!a->url && !a->model)
        return ostel_error("serve: give -m MODEL (ostel starts llama-server) or --url URL");
    /* ostel picks the address and waits for /health there: a second --port or --host after --
     * would move the server (llama-server takes the last) and the wait would time out */
    for (int i = 0; i < pa->nrest; i++) {
        const char *r = pa->rest[i];
        if (!strcmp(r, "--port") || !strncmp(r, "--port=", 7) || !strcmp(r, "--host") ||
            !strncmp(r, "--host=", 7))
            return ostel_error(
                "serve: '%.40s' after --: ostel starts llama-server on 127.0.0.1 and a free "
                "port of its own; use --url to load a server listening elsewhere",
                r);
    }
    if (a->pid && !a->url)
        return ostel_error("serve: --pid is for --url (ostel watches the server it starts itself)");
    if (a->vocab && !a->url)
        return ostel_error(
            "serve: --vocab is for --url (the model given with -m is the vocabulary)");
    if (a->url && a->utf8_only == 1 && !a->vocab)
        return ostel_error("serve: --utf8-only on with --url needs --vocab FILE, the GGUF of the "
                           "server's model (or of its vocabulary)");
    if (a->vocab && !ostel_is_file(a->vocab))
        return ostel_error("serve: vocabulary '%s' not found", a->vocab);
    if (a->url) {
        size_t n = strlen(a->url);
        while (n && a->url[n - 1] == '/')
            a->url[--n] = '\0';
        if (!url_ok(a->url))
            return ostel_error("serve: --url must be http://HOST[:PORT], got '%s'", a->url);
    }
    if (a->prompt_file && !ostel_is_file(a->prompt_file))
        return ostel_error("serve: prompt file '%s' not found", a->prompt_file);
    if (a->model && !ostel_is_file(a->model))
        return ostel_error("serve: model '%s' not found", a->model);
    return resolve_utf8_only(a);
}

/*
 * The runner's before_summary (runner.h): metrics.csv gets its level column and each level its
 * telemetry, the run is judged, and the load's results go into summary.json's one write as
 * "serve", with the verdict in run.status and run.error. A copy of that summary is kept for the
 * fallback when the runner cannot write it (finish_files).
 */
static void serve_before_summary(void *arg, struct ostel_summary *sum,
                                 const struct ostel_run_result *res)
{
    struct serve_ctx *sc = arg;
    sc->judged = true;
    sc->labelled = true;
    sc->label_errno = ostel_serve_label_metrics(sc->dir, res->rows, &sc->sr->out);
    sc->write_error_then = res->write_error[0] != '\0';
    ostel_serve_server_error(sc->sr, res, sc->label_errno, sc->outcome, sizeof(sc->outcome));
    const char *status = ostel_run_status_name(res->status);
    if (sc->outcome[0] && res->status == OSTEL_RUN_OK)
        status = "failed";
    ostel_summary_set_section(sum, "serve", serve_section(sc->sr->out.json, sc->outcome));
    ostel_summary_set_str(&sum->run.status, status);
    if (sc->outcome[0])
        ostel_summary_set_str(&sum->run.error, sc->outcome);
    sc->summary = ostel_summary_to_json(sum);
}

/* The run's error, into err ("" when none): serve_before_summary's verdict with a write that failed
 * after it, or when it did not run, the server's and the load's outcome (metrics.csv labelled
 * once). */
static void serve_verdict(struct serve_ctx *sc, const struct ostel_run_result *res, char *err,
                          size_t err_size)
{
    if (sc->judged) {
        snprintf(err, err_size, "%s", sc->outcome);
        if (!sc->write_error_then && res->write_error[0] && !strstr(err, res->write_error))
            add_reason(err, err_size, res->write_error);
        return;
    }
    if (!sc->labelled) {
        sc->label_errno = ostel_serve_label_metrics(sc->dir, res->rows, &sc->sr->out);
        sc->labelled = true;
    }
    ostel_serve_server_error(sc->sr, res, sc->label_errno, err, err_size);
}

/*
 * The runner's before_config (runner.h): the load's serve_* lines, then the verdict as status= and
 * error=, in config.txt's one last write (docs/serve.md), after summary.json's.
 */
static void serve_before_config(void *arg, struct ostel_buf *config,
                                const struct ostel_run_result *res, const char **status,
                                const char **error)
{
    struct serve_ctx *sc = arg;
    ostel_serve_config_lines(config, &sc->a->p, sc->a->parallel, sc->sr->url);
    serve_verdict(sc, res, sc->verdict, sizeof(sc->verdict));
    if (sc->verdict[0] && res->status == OSTEL_RUN_OK)
        *status = "failed";
    *error = sc->verdict;
}

/* ostel serve -m: llama-server started on a free port as the child of an ordinary run, the load
 * on the runner's during thread (serve_server.h); then the run directory completed. Returns the
 * exit code. */
static int serve_started(struct serve_args *a, const struct ostel_args *pa, const char *server,
                         const char *dir, const char *cmdline)
{
    int port = ostel_serve_free_port();
    if (port <= 0)
        return ostel_error("serve: no free port on 127.0.0.1"), OSTEL_EXIT_FAIL;
    struct ostel_serve_server srv = {.path = server,
                                     .port = port,
                                     .parallel = a->parallel,
                                     .extra = pa->rest,
                                     .n_extra = (size_t)pa->nrest,
                                     .ready_timeout_s = (double)a->ready_timeout_ns / 1e9};
    struct ostel_run_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.dir = dir;
    spec.tag = a->tag;
    spec.model = a->model;
    spec.model_facts = a->model_facts.model_file ? &a->model_facts : NULL;
    spec.ctx = a->ctx;
    spec.scenario = "none";
    spec.llama_bin = a->llama_bin ? a->llama_bin : getenv("OSTEL_LLAMA_BIN");
    spec.ostel_cmdline = cmdline;
    spec.interval_ns = a->interval_ns;
    spec.verbose = a->verbose;
    spec.quiet = a->p.quiet;
    spec.prom = a->prom;
    struct ostel_serve_server_result sr;
    struct serve_ctx sc = {.dir = dir, .a = a, .sr = &sr};
    spec.before_summary = serve_before_summary;
    spec.before_summary_arg = &sc;
    spec.before_config = serve_before_config;
    spec.before_config_arg = &sc;
    if (!a->p.quiet)
        fprintf(stderr, "ostel serve: starting llama-server on http://127.0.0.1:%d\n", port);
    struct ostel_run_result res;
    int exit_code = OSTEL_EXIT_FAIL;
    if (ostel_serve_server_run(&srv, &spec, &a->p, &res, &sr) != 0)
        goto out;
    bool server_failed = res.status != OSTEL_RUN_OK && res.status != OSTEL_RUN_INTERRUPTED;
    bool interrupted = res.status == OSTEL_RUN_INTERRUPTED;
    char err[400];
    serve_verdict(&sc, &res, err, sizeof(err)); /* with a config.txt write that failed */
    /* the runner's status, unless the load failed in a run the runner saw go well */
    const char *status = ostel_run_status_name(res.status);
    if (err[0] && res.status == OSTEL_RUN_OK)
        status = "failed";
    /* the runner wrote summary.json (with "serve") and then config.txt (with the serve_* lines
     * and the verdict: serve_before_config) unless one failed: then it left no summary, and the
     * one it was to write is written here as the fallback, config.txt after it */
    bool written = res.summary != NULL;
    cJSON *root = sc.summary;
    sc.summary = NULL;
    ostel_run_result_free(&res);
    int frc = 0;
    if (written)
        cJSON_Delete(root);
    else
        frc = finish_files(dir, a, sr.url, NULL, root, sr.out.json, &status, err, sizeof(err));
    if (err[0]) {
        ostel_error("serve: %s", err);
        if (!sr.ready || server_failed)
            print_log_tail(dir);
    }
    if (!a->p.quiet)
        fprintf(stderr, "ostel serve: %s: %s\n", status, dir);
    if (interrupted && frc == 0)
        exit_code = 128 + (res.ostel_signal ? res.ostel_signal : SIGINT);
    else
        exit_code = !err[0] ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
out:
    cJSON_Delete(sc.summary);
    ostel_serve_server_result_free(&sr);
    a->p.url = NULL;
    return exit_code;
}

static void serve_args_free(struct serve_args *a)
{
    free(a->model);
    free(a->url);
    free(a->tag);
    free(a->out);
    free(a->runs_dir);
    free(a->llama_bin);
    free(a->prompt_file);
    free(a->metrics_listen);
    free(a->metrics_textfile);
    free(a->levels);
    free(a->vocab);
    free(a->banned_ids);
    ostel_gguf_run_facts_free(&a->model_facts);
}

int ostel_cmd_serve(int argc, char **argv)
{
    struct serve_args a;
    memset(&a, 0, sizeof(a));
    a.p = ostel_serve_default_params();
    a.interval_ns = 100000000ull;
    a.ready_timeout_ns = 300ull * 1000000000ull;
    a.ctx = 4096;
    a.utf8_only = -1;
    struct ostel_args pa;
    int prc = ostel_options_parse_mixed(&serve_help, serve_options, OSTEL_ARRAY_LEN(serve_options),
                                        argc, argv, on_option, &a, &pa);
    if (prc != OSTEL_OPT_DONE) {
        serve_args_free(&a);
        return prc == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    }
    int exit_code = OSTEL_EXIT_USAGE;
    char *dir = NULL, *cmdline = NULL, *server = NULL;
    if (settle_args(&a, &pa) != 0)
        goto out;
    if (!a.url) {
        server = ostel_llama_find_tool(a.llama_bin, "llama-server");
        if (!server) {
            ostel_error("serve: llama-server not found; run scripts/setup.sh, or point "
                        "--llama-bin / OSTEL_LLAMA_BIN at llama.cpp's build/bin");
            goto out;
        }
    }
    if ((a.metrics_listen || a.metrics_textfile) &&
        !(a.prom = ostel_prom_start(a.metrics_listen, a.metrics_textfile)))
        goto out;
    ostel_platform_fd_limit_raise(); /* before the server starts: it inherits the limit */
    dir = ostel_run_args_dir_name(a.out, a.runs_dir, a.tag);
    cmdline = ostel_run_args_join_cmdline(argc, argv);
    if (ostel_runner_prepare_dir(dir) != 0)
        goto out;
    a.p.dir = dir;
    if (a.url) {
        a.p.url = a.url;
        exit_code = serve_url(&a, dir, cmdline);
    } else {
        exit_code = serve_started(&a, &pa, server, dir, cmdline);
    }
out:
    ostel_args_free(&pa);
    ostel_prom_stop(a.prom);
    free(server);
    free(dir);
    free(cmdline);
    serve_args_free(&a);
    return exit_code;
}
