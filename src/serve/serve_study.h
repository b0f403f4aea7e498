/*
 * serve_study: one cell of a serving study (`ostel study --serve`, docs/study.md) — what
 * `ostel serve -m MODEL` does, in-process: llama-server started by the runner on 127.0.0.1 and a
 * free port, the study's load (its [serve] keys) on the runner's `during` thread, the level column
 * added to metrics.csv, the load's lines added to config.txt and its results to summary.json. The
 * run directory is an ordinary serve run's (docs/serve.md), so the store and the report take it as
 * they take one of `ostel serve`.
 */
#ifndef OSTEL_SERVE_STUDY_H
#define OSTEL_SERVE_STUDY_H

#include "run/runner.h"
#include "run/study.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a serving study's cells keep of each model (by path), from one read of its GGUF:
 * --utf8-only auto's decision (serve.h: ostel_serve_resolve_utf8), the tokens banned and the
 * warning it gave, repeated for each cell. Zeroed to start; ostel_serve_study_models_free(). */
struct ostel_serve_study_model {
    char *path;      /* owned */
    bool utf8_only;  /* the tokens below are banned */
    int32_t *banned; /* owned, or NULL */
    size_t n_banned; /* entries of banned */
    char *warning;   /* owned, or NULL when none */
};
struct ostel_serve_study_models {
    struct ostel_serve_study_model *v; /* owned */
    size_t n;
};
void ostel_serve_study_models_free(struct ostel_serve_study_models *m);

/*
 * Makes rs->dir (which must not exist or be empty) one serve run: server is llama-server's path,
 * rs the study's run spec (model, ctx, tag, scenario, repetition, spec hash, timeout, interval;
 * argv, tool, gen and during are set here). warmup: one request at concurrency 1 instead of the
 * study's load, to bring the model into memory. arg: the study's struct ostel_serve_study_models,
 * filled with rs->model's on its first cell and taken from there on later ones (NULL: the model's
 * GGUF is read for this cell). Everything is borrowed for the call.
 *
 * Returns what ostel_runner_run returns; res as it fills it, except that a load that failed in a
 * run the runner saw end well makes res->status OSTEL_RUN_FAILED (the reason in the files'
 * error), and a file that could not be written sets res->write_error (the study then keeps
 * nothing of the cell). config.txt's serve_mode line is written last with the final status: a
 * directory without it was cut short.
 */
int ostel_serve_study_run(void *arg, const struct ostel_study_spec *spec, const char *server,
                          const struct ostel_run_spec *rs, bool warmup,
                          struct ostel_run_result *res);

#endif
