/*
 * serve_study: one cell of a serving study (see serve_study.h). cmd/cmd_serve.c does the same for
 * `ostel serve`; this file keeps to what a study needs (no --url, no sweep) and shares with it the
 * value parsers (util/optval.h), the server under the runner with its verdict and config.txt lines
 * (serve_server.h) and the run directory's contract.
 */
#include "serve/serve_study.h"

#include "rundir/rundir_config.h"
#include "rundir/rundir_summary.h"
#include "serve/serve.h"
#include "serve/serve_server.h"
#include "util/fileio.h"
#include "util/optval.h"
#include "util/util.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SLO "ttft=500ms,itl=50ms,e2e=10s"

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
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    int e = ostel_serve_config_text(dir, NULL, p, s->serve_parallel, url, status, error, &b);
    if (!e)
        e = ostel_config_write(dir, b.data ? b.data : "", b.len);
    ostel_buf_free(&b);
    return e;
}

/* After the runner: the level column, the verdict, summary.json, then config.txt. */
static void finish(const struct ostel_study_spec *s, const char *dir,
                   struct ostel_serve_server_result *r, const struct ostel_serve_params *p,
                   struct ostel_run_result *res)
{
    if (res->write_error[0]) /* the study keeps nothing of this cell */
        return;
    int le = ostel_serve_label_metrics(dir, &r->out);
    if (le) {
        ostel_write_error_text(res->write_error, sizeof(res->write_error), le, "metrics.csv");
        res->write_errno = le;
        return;
    }
    char err[400];
    ostel_serve_server_error(r, res, 0, err, sizeof(err));
    if (err[0] && res->status == OSTEL_RUN_OK)
        res->status = OSTEL_RUN_FAILED;
    const char *status = ostel_run_status_name(res->status);
    int e = write_summary(dir, res->summary, r->out.json, status, err);
    const char *file = "summary.json";
    if (!e) {
        e = write_config(dir, p, s, r->url, status, err);
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
    if (ostel_serve_resolve_utf8(-1, rs->model, &p, &banned) != OSTEL_OK) {
        free(levels);
        return OSTEL_ERR;
    }
    int port = ostel_serve_free_port();
    if (port <= 0) {
        free(levels);
        free(banned);
        return ostel_error("study: no free port on 127.0.0.1 for llama-server");
    }
    p.dir = rs->dir;
    struct ostel_serve_server srv = {.path = server,
                                     .port = port,
                                     .parallel = s->serve_parallel,
                                     .extra = s->llama_args.v,
                                     .n_extra = s->llama_args.n,
                                     .ready_timeout_s = 300.0};
    struct ostel_serve_server_result r;
    int rc = ostel_serve_server_run(&srv, rs, &p, res, &r);
    if (rc == 0)
        finish(s, rs->dir, &r, &p, res);
    ostel_serve_server_result_free(&r);
    free(levels);
    free(banned);
    return rc;
}
