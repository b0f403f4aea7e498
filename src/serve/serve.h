/*
 * serve: loading an HTTP inference server (llama-server's OpenAI-compatible /v1/completions) and
 * measuring every request from the client — the load generator behind `ostel serve`.
 *
 * One thread drives everything through libcurl's multi interface (HTTP/1.1, keep-alive, many
 * streams at once): the requests of each level (closed loop at a concurrency, or open loop at a
 * rate with Poisson or constant arrivals), the SSE stream of each answer (sse.h), and a scrape of
 * the server's /metrics every interval. Times come from the monotonic clock; every request keeps
 * its scheduled send time, so open-loop latencies include the client's own queueing (no
 * coordinated omission). It writes requests.csv and server_metrics.csv into the run directory and
 * returns the per-level results as JSON for summary.json. Definitions: docs/serve.md.
 *
 * It only ever sends to params.url.
 */
#ifndef OSTEL_SERVE_H
#define OSTEL_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ostel_serve_mode {
    OSTEL_SERVE_CONCURRENCY, /* closed loop: levels are concurrencies */
    OSTEL_SERVE_RATE,        /* open loop: levels are request rates (req/s) */
    OSTEL_SERVE_SWEEP,       /* concurrency 1, then sweep_concurrency, then rates between */
};

struct ostel_serve_params {
    const char *url; /* base URL, "http://127.0.0.1:8080"; borrowed */
    const char *dir; /* run directory (exists); borrowed */
    enum ostel_serve_mode mode;
    const double *levels; /* concurrencies or rates; borrowed */
    size_t n_levels;
    int sweep_points;      /* OSTEL_SERVE_SWEEP: levels in all (≥ 3) */
    int sweep_concurrency; /* OSTEL_SERVE_SWEEP: the saturating level's concurrency */
    bool poisson;          /* open loop: exponential gaps (else constant) */
    uint64_t seed;
    double duration_s; /* measured time per level; 0 = by count */
    int requests;      /* measured requests per level (when duration_s is 0) */
    int warmup;        /* uncounted requests at the start of each level */
    /* lengths: *_tokens fixed; normal with *_sd > 0; uniform from *_tokens to *_max (> 0) */
    int prompt_tokens, prompt_sd, prompt_max, output_tokens, output_sd, output_max;
    const char *prompt_file; /* text to cut prompts from, or NULL for the built-in text */
    bool reuse_prompts;      /* every request the same prompt (measures the prompt cache) */
    bool prompt_nonce_set;   /* use prompt_nonce (< 2^40) rather than one drawn for this run */
    uint64_t prompt_nonce;
    double timeout_s;                           /* per request; 0 = none */
    double slo_ttft_ms, slo_itl_ms, slo_e2e_ms; /* NAN = no bound */
    double max_error_rate;       /* a level stops when failed/finished exceeds it (after 8) */
    bool stop_on_saturation;     /* open loop: stop a level whose backlog grows without bound */
    uint64_t scrape_interval_ns; /* /metrics every interval; 0 = never */
    bool save_tokens; /* write tokens.csv: each token chunk's arrival (CLOCK_MONOTONIC ns), text */
    bool quiet;
    /* the server is ostel's own child: when requests fail in transport (refused, reset), the level
     * waits up to 2 s for the runner's verdict on it (*stop = 2) before it ends, so a killed server
     * is reported as such even when the failures finish the level first */
    bool server_managed;
    /* `--utf8-only`: every request bans these token ids with llama-server's "logit_bias":
     * [[id, false], …] (the tokens that are not valid UTF-8 on their own, llama/vocab.h);
     * borrowed, NULL = none. summary.json's serve object says utf8_only and how many */
    bool utf8_only;
    const int32_t *banned_tokens;
    size_t n_banned_tokens;
};

struct ostel_serve_params ostel_serve_default_params(void);

/* What a load run produced. ostel_serve_outcome_free() releases it. */
struct ostel_serve_outcome {
    struct cJSON *json; /* owned: summary.json's "serve" object (levels, totals), or NULL */
    double *level_start_ts, *level_end_ts; /* owned: epoch seconds per level run */
    char **level_names;                    /* owned */
    size_t n_levels;
    bool interrupted; /* the stop flag ended it */
    bool failed; /* it could not start (tokenize, bad prompt file…) or an output file could not
                    be written (the load then stops): error says why */
    char error[256];
};
void ostel_serve_outcome_free(struct ostel_serve_outcome *o);

/*
 * Runs the whole load against p->url, writing DIR/requests.csv (a row flushed as each request
 * ends) and DIR/server_metrics.csv; a failed write stops the load and fails it.
 * *stop (may be NULL) ends it early: 1 = interrupted, 2 = the server exited (the runner's values);
 * in-flight requests are then recorded as failed with that reason. Returns 0, or
 * OSTEL_ERR with out->error set (nothing printed but progress lines unless quiet).
 */
int ostel_serve_run(const struct ostel_serve_params *p, const _Atomic int *stop,
                    struct ostel_serve_outcome *out);

/*
 * Waits until GET URL/health answers 200, for at most timeout_s, or until *stop, or until
 * alive(arg) returns false (the server died). Returns 0 or OSTEL_ERR with err set.
 */
int ostel_serve_wait_health(const char *url, double timeout_s, const _Atomic int *stop,
                            bool (*alive)(void *arg), void *arg, char *err, size_t err_size);

/* Adds a "level" column to DIR/metrics.csv from the level spans (a row outside every span gets
 * an empty cell), and each level's telemetry (samples, rss_peak_mib, rss_mean_mib, cpu_mean_pct of
 * its rows) to o->json's levels, with the GPU's (gpu_metrics.csv) and the server's gauges
 * (server_metrics.csv) where those files are. rows (borrowed): the rows metrics.csv was written
 * from (the runner's res->rows with keep_rows, the sampler's ostel_sampler_finish_rows), the file
 * written again from them with the column added, never read; NULL where they were not kept (the
 * sampler ran out of memory): the file is read back, each of its lines kept as it is. Returns 0,
 * or the errno of a failed rewrite of metrics.csv (ENOSPC, EFBIG…; it prints nothing then, and the
 * old file stays). */
struct ostel_metrics_table;
int ostel_serve_label_metrics(const char *dir, const struct ostel_metrics_table *rows,
                              struct ostel_serve_outcome *o);

/*
 * --utf8-only: decides whether every request bans the tokens that are not valid UTF-8 on their own
 * (llama/vocab.h: llama-server's output parser ends a request whose text is not) and lists them
 * from the GGUF at path (the model, or the server's vocabulary). mode: -1 auto (on for an `ostel
 * synth` model, whose random weights emit such tokens often; off when the file cannot be read: the
 * server says then whether it can load it), 0 off, 1 on. On success sets p->utf8_only,
 * p->banned_tokens and p->n_banned_tokens, the list in *owned (the caller frees it). facts, when
 * not NULL, gets the run facts of the same read of the header (llama/gguf_facts.h, path recorded as
 * given: the runner's model_facts) whenever the file was read, and stays zeroed (model_file NULL)
 * when it was not (mode 0, unreadable); the caller frees it with ostel_gguf_run_facts_free().
 * warn, when not NULL, gets the warning of an `auto` that cannot list the tokens instead of its
 * being printed (owned by the caller; left as it is when there is none), for a caller that
 * decides once for many loads and repeats it for each (serve_study.c). Returns 0, or OSTEL_ERR
 * (printed) when `on` cannot be honoured.
 */
#define OSTEL_SERVE_MAX_BANNED_TOKENS                                                              \
    65536 /* 1,448 in qwen2's vocabulary, the most of the pinned ones */
struct ostel_gguf_run_facts;
int ostel_serve_resolve_utf8(int mode, const char *path, struct ostel_serve_params *p,
                             int32_t **owned, struct ostel_gguf_run_facts *facts, char **warn);

/* Whether llama-server arguments set the log verbosity (-lv, --verbosity, --log-verbosity): if not,
 * ostel passes -lv 4, the level at which llama.cpp logs its buffer sizes and memory breakdown (as
 * `ostel run` does for llama-completion). */
bool ostel_serve_args_set_verbosity(char *const *args, size_t n);

#endif
