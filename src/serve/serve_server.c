/*
 * serve_server: llama-server under the runner with the load beside it (see serve_server.h), one
 * copy for `ostel serve -m` and a serving study's cell.
 */
#include "serve/serve_server.h"

#include "rundir/rundir_config.h"
#include "util/fileio.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ostel_serve_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* SOCK_CLOEXEC is Linux's; macOS has only fcntl */
    if (fd < 0)
        return OSTEL_ERR;
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int port = OSTEL_ERR;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

char **ostel_serve_server_argv(const struct ostel_serve_server *srv, const char *model,
                               long long ctx)
{
    size_t k = 0;
    char **v = ostel_xcalloc(16 + srv->n_extra, sizeof(char *));
    v[k++] = ostel_xstrdup(srv->path);
    v[k++] = ostel_xstrdup("-m");
    v[k++] = ostel_xstrdup(model);
    v[k++] = ostel_xstrdup("--host");
    v[k++] = ostel_xstrdup("127.0.0.1");
    v[k++] = ostel_xstrdup("--port");
    v[k++] = ostel_xasprintf("%d", srv->port);
    v[k++] = ostel_xstrdup("-c");
    v[k++] = ostel_xasprintf("%lld", ctx);
    if (srv->parallel > 0) {
        v[k++] = ostel_xstrdup("-np");
        v[k++] = ostel_xasprintf("%lld", srv->parallel);
    }
    v[k++] = ostel_xstrdup("--metrics");
    if (!ostel_serve_args_set_verbosity(srv->extra, srv->n_extra)) {
        v[k++] = ostel_xstrdup("-lv");
        v[k++] = ostel_xstrdup("4");
    }
    for (size_t i = 0; i < srv->n_extra; i++)
        v[k++] = ostel_xstrdup(srv->extra[i]);
    return v;
}

void ostel_serve_server_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

void ostel_serve_server_result_free(struct ostel_serve_server_result *r)
{
    ostel_serve_outcome_free(&r->out);
}

struct during_ctx {
    const struct ostel_serve_server *srv;
    struct ostel_serve_params *p;
    struct ostel_serve_server_result *r;
};

static int server_during(void *arg, pid_t pid, const _Atomic int *stop)
{
    struct during_ctx *c = arg;
    struct ostel_serve_server_result *r = c->r;
    (void)pid;
    if (ostel_serve_wait_health(r->url, c->srv->ready_timeout_s, stop, NULL, NULL, r->error,
                                sizeof(r->error)) != 0)
        return OSTEL_ERR;
    r->ready = true;
    c->p->server_managed = true;
    if (ostel_serve_run(c->p, stop, &r->out) != 0) {
        snprintf(r->error, sizeof(r->error), "%s", r->out.error);
        return OSTEL_ERR;
    }
    return OSTEL_OK;
}

int ostel_serve_server_run(const struct ostel_serve_server *srv, const struct ostel_run_spec *rs,
                           struct ostel_serve_params *p, struct ostel_run_result *res,
                           struct ostel_serve_server_result *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", srv->port);
    p->url = r->url;
    char **argv = ostel_serve_server_argv(srv, rs->model, rs->ctx);
    struct during_ctx c = {srv, p, r};
    struct ostel_run_spec spec = *rs;
    spec.argv = argv;
    spec.tool = "llama-server";
    spec.gen = -1;
    spec.prompt_desc = p->prompt_file ? p->prompt_file : "ostel serve built-in text";
    spec.during = server_during;
    spec.during_arg = &c;
    spec.keep_rows = true; /* res->rows: the levels are labelled on them */
    int rc = ostel_runner_run(&spec, res);
    ostel_serve_server_argv_free(argv);
    return rc;
}

int ostel_serve_levels_completed(const struct ostel_serve_outcome *o)
{
    const cJSON *lv = o->json ? cJSON_GetObjectItem(o->json, "levels") : NULL, *l;
    int n = 0;
    cJSON_ArrayForEach(l, lv)
    {
        const cJSON *c = cJSON_GetObjectItem(l, "completed");
        if (cJSON_IsNumber(c) && c->valuedouble > 0)
            n++;
    }
    return n;
}

void ostel_serve_server_error(const struct ostel_serve_server_result *r,
                              const struct ostel_run_result *res, int le, char *err,
                              size_t err_size)
{
    bool server_failed = res->status != OSTEL_RUN_OK && res->status != OSTEL_RUN_INTERRUPTED;
    bool interrupted = res->status == OSTEL_RUN_INTERRUPTED;
    err[0] = '\0';
    if (res->write_error[0]) /* the runner could not write one of its artifacts */
        snprintf(err, err_size, "%s", res->write_error);
    else if (!r->ready && !interrupted)
        snprintf(err, err_size, "llama-server did not become ready (%s; run status %s)",
                 r->error[0] ? r->error : "it exited", ostel_run_status_name(res->status));
    else if (server_failed)
        snprintf(err, err_size, "llama-server ended during the load (run status %s)",
                 ostel_run_status_name(res->status));
    else if (r->error[0])
        snprintf(err, err_size, "%s", r->error);
    else if (le)
        ostel_write_error_text(err, err_size, le, "metrics.csv");
    else if (!interrupted && !ostel_serve_levels_completed(&r->out))
        snprintf(err, err_size, "no level completed a request");
    if (res->write_error[0] && r->error[0] && !strstr(err, r->error)) {
        size_t l = strlen(err); /* the load's own failure too */
        snprintf(err + l, err_size - l, "%s%s", l ? "; " : "", r->error);
    }
}

void ostel_serve_config_lines(struct ostel_buf *b, const struct ostel_serve_params *p,
                              long long parallel, const char *url)
{
    ostel_config_line(b, OSTEL_CFG_SERVE_URL, url);
    ostel_config_line(b, OSTEL_CFG_SERVE_MODE,
                      p->mode == OSTEL_SERVE_SWEEP  ? "sweep"
                      : p->mode == OSTEL_SERVE_RATE ? "rate"
                                                    : "concurrency");
    struct ostel_buf levels;
    ostel_buf_init(&levels, 0);
    for (size_t i = 0; i < p->n_levels; i++)
        ostel_buf_printf(&levels, "%s%g", i ? "," : "", p->levels[i]);
    ostel_config_line(b, OSTEL_CFG_SERVE_LEVELS, levels.data);
    ostel_buf_free(&levels);
    /* N:SD, or MIN-MAX when uniform */
    ostel_config_linef(b, OSTEL_CFG_SERVE_PROMPT_TOKENS, "%d%c%d", p->prompt_tokens,
                       p->prompt_max ? '-' : ':', p->prompt_max ? p->prompt_max : p->prompt_sd);
    ostel_config_linef(b, OSTEL_CFG_SERVE_OUTPUT_TOKENS, "%d%c%d", p->output_tokens,
                       p->output_max ? '-' : ':', p->output_max ? p->output_max : p->output_sd);
    ostel_config_num(b, OSTEL_CFG_SERVE_REQUESTS, p->requests, true);
    ostel_config_num(b, OSTEL_CFG_SERVE_WARMUP, p->warmup, true);
    ostel_config_linef(b, OSTEL_CFG_SERVE_DURATION_S, "%g", p->duration_s);
    ostel_config_linef(b, OSTEL_CFG_SERVE_SEED, "%llu", (unsigned long long)p->seed);
    ostel_config_num(b, OSTEL_CFG_SERVE_UNIQUE_PROMPTS, p->reuse_prompts ? 0 : 1, true);
    ostel_config_num(b, OSTEL_CFG_SERVE_PARALLEL, parallel, parallel > 0);
    ostel_config_num(b, OSTEL_CFG_SERVE_UTF8_ONLY, p->utf8_only ? 1 : 0, true);
    ostel_config_linef(b, OSTEL_CFG_SERVE_BANNED_TOKENS, "%zu", p->n_banned_tokens);
}

int ostel_serve_config_text(const char *dir, const char *base, const struct ostel_serve_params *p,
                            long long parallel, const char *url, const char *status,
                            const char *error, struct ostel_buf *b)
{
    int e = 0;
    if (base) {
        ostel_buf_puts(b, base);
    } else {
        struct ostel_buf in;
        ostel_buf_init(&in, 16u << 20);
        if (ostel_config_read(dir, 16u << 20, &in) == 0) {
            struct ostel_str rest = ostel_str_make(in.data ? in.data : "", in.len), key, val;
            while (ostel_config_next(&rest, &key, &val)) {
                enum ostel_config_key k; /* the load's lines, status and error: written below */
                if (ostel_config_key_lookup(key, &k) &&
                    (ostel_config_key(k)->by & OSTEL_CONFIG_SERVE))
                    continue;
                ostel_buf_append(b, key.p, key.n);
                ostel_buf_putc(b, '=');
                ostel_buf_append(b, val.p, val.n);
                ostel_buf_putc(b, '\n');
            }
        } else {
            e = EIO;
        }
        ostel_buf_free(&in);
    }
    ostel_serve_config_lines(b, p, parallel, url);
    ostel_config_line(b, OSTEL_CFG_STATUS, status);
    if (error && *error)
        ostel_config_line(b, OSTEL_CFG_ERROR, error);
    return e;
}
