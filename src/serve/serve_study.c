/*
 * serve_study: one cell of a serving study (see serve_study.h). cmd/cmd_serve.c does the same for
 * `ostel serve`; this file keeps to what a study needs (no --url, no sweep) and shares with it the
 * value parsers (util/optval.h), the server under the runner with its verdict and config.txt lines
 * (serve_server.h) and the run directory's contract.
 */
#include "serve/serve_study.h"

#include "rundir/rundir_summary.h"
#include "serve/serve.h"
#include "serve/serve_server.h"
#include "util/fileio.h"
#include "util/optval.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
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

/* A cell's server and load, and what cell_before_summary decided, for config.txt after it. */
struct cell {
    const struct ostel_run_spec *rs; /* the study's spec: its own before_summary (the scenario) */
    const struct ostel_serve_params *p;  /* the load, for config.txt's serve_* lines */
    long long parallel;                  /* the study's serve_parallel */
    struct ostel_serve_server_result *r; /* the server and its load (ostel_serve_server_run) */
    bool judged;                         /* the load's results are in the summary */
    int label_errno;                     /* ostel_serve_label_metrics()'s errno */
    char verdict[400];                   /* the run's error ("" when none) */
};

/*
 * The runner's before_summary (runner.h): the study's own first (its scenario), then metrics.csv's
 * level column and each level's telemetry, the verdict, and the load's results as "serve" with the
 * final status, all in summary.json's one write. A cell whose files could not all be written gets
 * no "serve": the study keeps nothing of it.
 */
static void cell_before_summary(void *arg, struct ostel_summary *sum,
                                const struct ostel_run_result *res)
{
    struct cell *c = arg;
    if (c->rs->before_summary)
        c->rs->before_summary(c->rs->before_summary_arg, sum, res);
    if (res->write_error[0])
        return;
    c->label_errno = ostel_serve_label_metrics(c->rs->dir, res->rows, &c->r->out);
    if (c->label_errno)
        return;
    c->judged = true;
    ostel_serve_server_error(c->r, res, 0, c->verdict, sizeof(c->verdict));
    const char *status = c->verdict[0] && res->status == OSTEL_RUN_OK
                             ? ostel_run_status_name(OSTEL_RUN_FAILED)
                             : ostel_run_status_name(res->status);
    cJSON *sj = c->r->out.json ? cJSON_Duplicate(c->r->out.json, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(sj, "error",
                          c->verdict[0] ? cJSON_CreateString(c->verdict) : cJSON_CreateNull());
    ostel_summary_set_section(sum, "serve", sj);
    ostel_summary_set_str(&sum->run.status, status);
    if (c->verdict[0])
        ostel_summary_set_str(&sum->run.error, c->verdict);
}

/*
 * The runner's before_config (runner.h): the load's serve_* lines and the final status and error in
 * config.txt's one last write (a study reads its last lines). A cell that was not judged, or whose
 * files could not all be written by then, keeps the runner's lines: the study keeps nothing of it.
 */
static void cell_before_config(void *arg, struct ostel_buf *config,
                               const struct ostel_run_result *res, const char **status,
                               const char **error)
{
    struct cell *c = arg;
    if (c->rs->before_config)
        c->rs->before_config(c->rs->before_config_arg, config, res, status, error);
    if (res->write_error[0] || !c->judged)
        return;
    ostel_serve_config_lines(config, c->p, c->parallel, c->r->url);
    if (c->verdict[0] && res->status == OSTEL_RUN_OK)
        *status = ostel_run_status_name(OSTEL_RUN_FAILED);
    *error = c->verdict;
}

/* After the runner (whose summary.json holds the load's results, cell_before_summary, and whose
 * config.txt the final status, cell_before_config): the final status in res. */
static void finish(const struct cell *c, struct ostel_run_result *res)
{
    if (res->write_error[0]) /* the study keeps nothing of this cell */
        return;
    if (c->label_errno || !c->judged) {
        int le = c->label_errno ? c->label_errno : EIO;
        ostel_write_error_text(res->write_error, sizeof(res->write_error), le, "metrics.csv");
        res->write_errno = le;
        return;
    }
    if (c->verdict[0] && res->status == OSTEL_RUN_OK)
        res->status = OSTEL_RUN_FAILED;
}

void ostel_serve_study_models_free(struct ostel_serve_study_models *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].path);
        free(m->v[i].banned);
        free(m->v[i].warning);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

/* The model's entry in models, or NULL. */
static struct ostel_serve_study_model *model_find(struct ostel_serve_study_models *models,
                                                  const char *key)
{
    for (size_t i = 0; models && i < models->n; i++)
        if (strcmp(models->v[i].path, key) == 0)
            return &models->v[i];
    return NULL;
}

/* --utf8-only auto for model (serve.h), decided on the model's first cell from its GGUF and kept
 * in models (NULL: decided for this cell alone, its list in *owned); p gets the decision, and the
 * warning is given again for every cell, as when each cell read the GGUF. */
static int cell_utf8(struct ostel_serve_study_models *models, const char *model,
                     struct ostel_serve_params *p, int32_t **owned)
{
    const char *key = model ? model : "";
    struct ostel_serve_study_model one, *e = model_find(models, key);
    if (!e) {
        memset(&one, 0, sizeof(one));
        struct ostel_serve_params q = *p;
        if (ostel_serve_resolve_utf8(-1, model, &q, &one.banned, NULL, &one.warning) != OSTEL_OK) {
            free(one.banned);
            free(one.warning);
            return OSTEL_ERR;
        }
        one.utf8_only = q.utf8_only;
        one.n_banned = q.n_banned_tokens;
        if (models) {
            one.path = ostel_xstrdup(key);
            models->v = ostel_xrealloc(models->v, (models->n + 1) * sizeof(*models->v));
            models->v[models->n] = one;
            e = &models->v[models->n++];
        } else {
            *owned = one.banned;
            e = &one;
        }
    }
    if (e->warning)
        ostel_warn("%s", e->warning);
    if (e->utf8_only) {
        p->utf8_only = true;
        p->banned_tokens = e->banned;
        p->n_banned_tokens = e->n_banned;
    }
    if (e == &one)
        free(one.warning);
    return OSTEL_OK;
}

int ostel_serve_study_run(void *arg, const struct ostel_study_spec *s, const char *server,
                          const struct ostel_run_spec *rs, bool warmup,
                          struct ostel_run_result *res)
{
    struct ostel_serve_params p;
    double *levels = NULL;
    params_from_spec(s, warmup, &p, &levels);
    int32_t *banned = NULL; /* an ostel synth model's tokens that are not UTF-8, when not kept */
    if (cell_utf8(arg, rs->model, &p, &banned) != OSTEL_OK) {
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
    struct cell c = {.rs = rs, .p = &p, .parallel = s->serve_parallel, .r = &r};
    struct ostel_run_spec spec = *rs; /* ostel_serve_server_run keeps the caller's hooks */
    spec.before_summary = cell_before_summary;
    spec.before_summary_arg = &c;
    spec.before_config = cell_before_config;
    spec.before_config_arg = &c;
    int rc = ostel_serve_server_run(&srv, &spec, &p, res, &r);
    if (rc == 0)
        finish(&c, res);
    ostel_serve_server_result_free(&r);
    free(levels);
    free(banned);
    return rc;
}
