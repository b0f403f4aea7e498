/*
 * serve_study: one cell of a serving study (see serve_study.h). cmd/cmd_serve.c does the same for
 * `ostel serve`; this file keeps to what a study needs (no --url, no sweep) and shares the value
 * parsers (util/optval.h) and the run directory's contract with it.
 */
#include "serve/serve_study.h"

#include "rundir/rundir_config.h"
#include "rundir/rundir_summary.h"
#include "serve/serve.h"
#include "util/fileio.h"
#include "util/optval.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_SLO "ttft=500ms,itl=50ms,e2e=10s"

/* A free TCP port on 127.0.0.1 (the kernel's choice; the server binds it a moment later). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/*
 * The load's parameters from the spec's [serve] keys (validated by study_spec.c, so each parses).
 * The prompts' nonce is the study's seed: every cell sends the same prompts (each unique within
 * the cell, and every cell has a fresh server, so no prompt cache carries over), so that the
 * models are compared on one set of prompts. *levels is owned by the caller.
 */
static void params_from_spec(const struct ostel_study_spec *s, bool warmup,
                             struct ostel_serve_params *p, double **levels)
{
    *p = ostel_serve_default_params();
    bool rate = s->serve_rate != NULL && !warmup;
    size_t n = 0;
    if (warmup ||
        !ostel_parse_levels(rate ? s->serve_rate : s->serve_concurrency, !rate, levels, &n)) {
        *levels = ostel_xrealloc(*levels, sizeof(double));
        (*levels)[0] = 1;
        n = 1;
    }
    p->mode = rate ? OSTEL_SERVE_RATE : OSTEL_SERVE_CONCURRENCY;
    p->levels = *levels;
    p->n_levels = n;
    p->poisson = !s->serve_arrivals || strcmp(s->serve_arrivals, "constant") != 0;
    p->seed = (uint64_t)s->seed;
    p->duration_s = (double)s->serve_duration_ns / 1e9;
    p->requests = (int)s->serve_requests;
    p->warmup = (int)s->serve_warmup;
    ostel_parse_length(s->serve_prompt_tokens ? s->serve_prompt_tokens : "512", &p->prompt_tokens,
                       &p->prompt_sd, &p->prompt_max);
    ostel_parse_length(s->serve_output_tokens ? s->serve_output_tokens : "256", &p->output_tokens,
                       &p->output_sd, &p->output_max);
    ostel_parse_slo(s->serve_slo ? s->serve_slo : DEFAULT_SLO, &p->slo_ttft_ms, &p->slo_itl_ms,
                    &p->slo_e2e_ms);
    p->prompt_file = s->prompt_file;
    p->prompt_nonce_set = true;
    p->prompt_nonce = (uint64_t)s->seed & ((1ull << 40) - 1);
    p->timeout_s = (double)s->serve_timeout_ns / 1e9;
    p->scrape_interval_ns = s->interval_ns * 10;
    p->quiet = true;
    if (warmup) { /* the model read in and every kernel run once: one short request */
        p->duration_s = 0;
        p->requests = 1;
        p->warmup = 0;
        p->output_sd = p->output_max = 0;
        if (p->output_tokens > 16)
            p->output_tokens = 16;
    }
}

struct cell {
    const char *url;
    struct ostel_serve_params *p;
    bool ready;
    char error[300];
    struct ostel_serve_outcome out;
};

static int cell_during(void *arg, pid_t pid, const _Atomic int *stop)
{
    struct cell *c = arg;
    (void)pid;
    if (ostel_serve_wait_health(c->url, 300.0, stop, NULL, NULL, c->error, sizeof(c->error)) != 0)
        return OSTEL_ERR;
    c->ready = true;
    c->p->server_managed = true;
    if (ostel_serve_run(c->p, stop, &c->out) != 0) {
        snprintf(c->error, sizeof(c->error), "%s", c->out.error);
        return OSTEL_ERR;
    }
    return OSTEL_OK;
}

static bool some_level_completed(const struct ostel_serve_outcome *o)
{
    const cJSON *lv = o->json ? cJSON_GetObjectItem(o->json, "levels") : NULL, *l;
    cJSON_ArrayForEach(l, lv)
    {
        const cJSON *c = cJSON_GetObjectItem(l, "completed");
        if (cJSON_IsNumber(c) && c->valuedouble > 0)
            return true;
    }
    return false;
}

/* config.txt's serve_* lines, as cmd_serve.c writes them (docs/serve.md). */
static void config_lines(struct ostel_buf *b, const struct ostel_serve_params *p,
                         const struct ostel_study_spec *s, const char *url)
{
    ostel_config_line(b, "serve_url", url);
    ostel_config_line(b, "serve_mode", p->mode == OSTEL_SERVE_RATE ? "rate" : "concurrency");
    ostel_buf_puts(b, "serve_levels=");
    for (size_t i = 0; i < p->n_levels; i++)
        ostel_buf_printf(b, "%s%g", i ? "," : "", p->levels[i]);
    ostel_buf_printf(b, "\nserve_prompt_tokens=%d%c%d\nserve_output_tokens=%d%c%d\n",
                     p->prompt_tokens, p->prompt_max ? '-' : ':',
                     p->prompt_max ? p->prompt_max : p->prompt_sd, p->output_tokens,
                     p->output_max ? '-' : ':', p->output_max ? p->output_max : p->output_sd);
    ostel_buf_printf(b,
                     "serve_requests=%d\nserve_warmup=%d\nserve_duration_s=%g\nserve_seed=%llu\n",
                     p->requests, p->warmup, p->duration_s, (unsigned long long)p->seed);
    ostel_buf_printf(b, "serve_unique_prompts=%d\nserve_parallel=", p->reuse_prompts ? 0 : 1);
    if (s->serve_parallel > 0)
        ostel_buf_printf(b, "%lld", s->serve_parallel);
    ostel_buf_printf(b, "\nserve_utf8_only=%d\nserve_banned_tokens=%zu\n", p->utf8_only ? 1 : 0,
                     p->n_banned_tokens);
}

/* summary.json: the runner's summary (its result, not read back) with the load's results as
 * "serve" and the final status. Returns 0 or an errno. */
static int write_summary(const char *dir, const struct ostel_summary *sum, const cJSON *serve_json,
                         const char *status, const char *error)
{
    cJSON *root = sum ? ostel_summary_to_json(sum) : NULL;
    if (!root)
        root = cJSON_CreateObject();
    cJSON *s = serve_json ? cJSON_Duplicate(serve_json, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(s, "error", *error ? cJSON_CreateString(error) : cJSON_CreateNull());
    cJSON_DeleteItemFromObject(root, "serve");
    cJSON_AddItemToObject(root, "serve", s);
    cJSON *run = cJSON_GetObjectItem(root, "run");
    if (!cJSON_IsObject(run))
        run = cJSON_AddObjectToObject(root, "run");
    cJSON_DeleteItemFromObject(run, "status");
    cJSON_AddStringToObject(run, "status", status);
    if (*error) {
        cJSON_DeleteItemFromObject(run, "error");
        cJSON_AddStringToObject(run, "error", error);
    }
    int e = ostel_summary_write_json(dir, root);
    cJSON_Delete(root);
    return e;
}

/* config.txt as the runner wrote it, less its status, error and serve_ lines, then the load's lines
 * and the final status (the last lines: a study reads them). Returns 0 or an errno. */
static int write_config(const char *dir, const struct ostel_serve_params *p,
                        const struct ostel_study_spec *s, const char *url, const char *status,
                        const char *error)
{
    struct ostel_buf in, b;
    ostel_buf_init(&in, 16u << 20);
    ostel_buf_init(&b, 0);
    int e = ostel_config_read(dir, 16u << 20, &in) == 0 ? 0 : EIO;
    struct ostel_str rest = ostel_str_make(in.data ? in.data : "", in.len), key, val;
    while (!e && ostel_config_next(&rest, &key, &val)) {
        if (ostel_str_eq(key, "status") || ostel_str_eq(key, "error") ||
            ostel_str_starts_with(key, "serve_"))
            continue;
        ostel_buf_append(&b, key.p, key.n);
        ostel_buf_putc(&b, '=');
        ostel_buf_append(&b, val.p, val.n);
        ostel_buf_putc(&b, '\n');
    }
    config_lines(&b, p, s, url);
    ostel_config_line(&b, "status", status);
    if (*error)
        ostel_config_line(&b, "error", error);
    if (!e)
        e = ostel_config_write(dir, b.data ? b.data : "", b.len);
    ostel_buf_free(&in);
    ostel_buf_free(&b);
    return e;
}

/* After the runner: the level column, the verdict, summary.json, then config.txt. */
static void finish(const struct ostel_study_spec *s, const char *dir, struct cell *c,
                   const char *url, struct ostel_run_result *res)
{
    if (res->write_error[0]) /* the study keeps nothing of this cell */
        return;
    int le = ostel_serve_label_metrics(dir, &c->out);
    if (le) {
        ostel_write_error_text(res->write_error, sizeof(res->write_error), le, "metrics.csv");
        res->write_errno = le;
        return;
    }
    bool interrupted = res->status == OSTEL_RUN_INTERRUPTED;
    char err[400] = "";
    if (!c->ready && !interrupted)
        snprintf(err, sizeof(err), "llama-server did not become ready (%s; run status %s)",
                 c->error[0] ? c->error : "it exited", ostel_run_status_name(res->status));
    else if (res->status != OSTEL_RUN_OK && !interrupted)
        snprintf(err, sizeof(err), "llama-server ended during the load (run status %s)",
                 ostel_run_status_name(res->status));
    else if (c->error[0])
        snprintf(err, sizeof(err), "%s", c->error);
    else if (!interrupted && !some_level_completed(&c->out))
        snprintf(err, sizeof(err), "no level completed a request");
    if (err[0] && res->status == OSTEL_RUN_OK)
        res->status = OSTEL_RUN_FAILED;
    const char *status = ostel_run_status_name(res->status);
    int e = write_summary(dir, res->summary, c->out.json, status, err);
    const char *file = "summary.json";
    if (!e) {
        e = write_config(dir, c->p, s, url, status, err);
        file = "config.txt";
    }
    if (e) {
        ostel_write_error_text(res->write_error, sizeof(res->write_error), e, file);
        res->write_errno = e;
    }
}

int ostel_serve_study_run(const struct ostel_study_spec *s, const char *server,
                          const struct ostel_run_spec *rs, bool warmup,
                          struct ostel_run_result *res)
{
    struct ostel_serve_params p;
    double *levels = NULL;
    params_from_spec(s, warmup, &p, &levels);
    int32_t *banned = NULL; /* an ostel synth model: its tokens that are not UTF-8 (serve.h) */
    if (ostel_serve_resolve_utf8(-1, rs->model, &p, &banned, NULL) != OSTEL_OK) {
        free(levels);
        return OSTEL_ERR;
    }
    int port = free_port();
    if (port <= 0) {
        free(levels);
        free(banned);
        return ostel_error("study: no free port on 127.0.0.1 for llama-server");
    }
    char *url = ostel_xasprintf("http://127.0.0.1:%d", port);
    p.url = url;
    p.dir = rs->dir;
    /* llama-server -m MODEL --host 127.0.0.1 --port P -c CTX [-np N] --metrics [llama_args...] */
    size_t k = 0;
    char **argv = ostel_xcalloc(16 + s->llama_args.n, sizeof(char *));
    argv[k++] = ostel_xstrdup(server);
    argv[k++] = ostel_xstrdup("-m");
    argv[k++] = ostel_xstrdup(rs->model);
    argv[k++] = ostel_xstrdup("--host");
    argv[k++] = ostel_xstrdup("127.0.0.1");
    argv[k++] = ostel_xstrdup("--port");
    argv[k++] = ostel_xasprintf("%d", port);
    argv[k++] = ostel_xstrdup("-c");
    argv[k++] = ostel_xasprintf("%lld", rs->ctx);
    if (s->serve_parallel > 0) {
        argv[k++] = ostel_xstrdup("-np");
        argv[k++] = ostel_xasprintf("%lld", s->serve_parallel);
    }
    argv[k++] = ostel_xstrdup("--metrics");
    if (!ostel_serve_args_set_verbosity(s->llama_args.v, s->llama_args.n)) {
        argv[k++] = ostel_xstrdup("-lv");
        argv[k++] = ostel_xstrdup("4");
    }
    for (size_t i = 0; i < s->llama_args.n; i++)
        argv[k++] = ostel_xstrdup(s->llama_args.v[i]);

    struct cell c;
    memset(&c, 0, sizeof(c));
    c.url = url;
    c.p = &p;
    struct ostel_run_spec spec = *rs;
    spec.argv = argv;
    spec.tool = "llama-server";
    spec.gen = -1;
    spec.prompt_desc = s->prompt_file ? s->prompt_file : "ostel serve built-in text";
    spec.during = cell_during;
    spec.during_arg = &c;
    int rc = ostel_runner_run(&spec, res);
    if (rc == 0)
        finish(s, rs->dir, &c, url, res);
    ostel_serve_outcome_free(&c.out);
    for (size_t i = 0; i < k; i++)
        free(argv[i]);
    free(argv);
    free(url);
    free(levels);
    free(banned);
    return rc;
}
