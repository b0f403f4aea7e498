/*
 * serve_server: llama-server started by ostel under the runner, with the load on the runner's
 * `during` thread — what `ostel serve -m` (cmd/cmd_serve.c) and a serving study's cell
 * (serve_study.c) share: a free port on 127.0.0.1, the server's argv, the wait for /health, the
 * first cause of a failure, and the load's `serve_*` lines of config.txt (docs/serve.md). The
 * callers keep their options, their printing and their summary.json.
 */
#ifndef OSTEL_SERVE_SERVER_H
#define OSTEL_SERVE_SERVER_H

#include "run/runner.h"
#include "serve/serve.h"
#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>

/* A free TCP port on 127.0.0.1 (the kernel's choice; the server binds it a moment later), or
 * OSTEL_ERR (nothing printed). */
int ostel_serve_free_port(void);

/* The server ostel starts. Everything is borrowed. */
struct ostel_serve_server {
    const char *path;       /* llama-server's path */
    int port;               /* on 127.0.0.1 (ostel_serve_free_port) */
    long long parallel;     /* -np N; 0 = the server's own */
    char *const *extra;     /* llama-server arguments appended last (the user's win), or NULL */
    size_t n_extra;         /* how many */
    double ready_timeout_s; /* how long /health may take */
};

/* What the server and its load did. ostel_serve_server_result_free() releases it. */
struct ostel_serve_server_result {
    char url[40];                   /* "http://127.0.0.1:PORT" */
    bool ready;                     /* /health answered */
    char error[300];                /* the wait's or the load's error, "" when none */
    struct ostel_serve_outcome out; /* the load's (zeroed when it never ran) */
};
void ostel_serve_server_result_free(struct ostel_serve_server_result *r);

/*
 * llama-server -m MODEL --host 127.0.0.1 --port P -c CTX [-np N] --metrics [-lv 4] [extra...]
 * (-lv 4 unless extra sets the verbosity: ostel_serve_args_set_verbosity). A NULL-terminated argv;
 * free it with ostel_serve_server_argv_free().
 */
char **ostel_serve_server_argv(const struct ostel_serve_server *srv, const char *model,
                               long long ctx);
void ostel_serve_server_argv_free(char **argv);

/*
 * Runs llama-server as the child of an ordinary run: the runner's spec rs (dir, tag, model, ctx,
 * and the rest as the caller wants them) with argv, tool, gen, prompt_desc, during and keep_rows
 * (res->rows, the rows ostel_serve_label_metrics labels in before_summary) set here;
 * on the runner's during thread, the wait for srv->ready_timeout_s until /health answers, then the
 * load p (p->url is set to r->url and p->server_managed once the server is ready, so r must
 * outlive p's use). Everything is borrowed for the call.
 *
 * Returns what ostel_runner_run returns, res as it fills it (the caller frees it with
 * ostel_run_result_free); r is filled either way (free it with ostel_serve_server_result_free).
 */
int ostel_serve_server_run(const struct ostel_serve_server *srv, const struct ostel_run_spec *rs,
                           struct ostel_serve_params *p, struct ostel_run_result *res,
                           struct ostel_serve_server_result *r);

/* How many of the load's levels completed a request. */
int ostel_serve_levels_completed(const struct ostel_serve_outcome *o);

/*
 * What went wrong in a run of the server with its load, first cause first, into err ("" when
 * nothing did): the runner's write error (with the load's own error added), the server that never
 * became ready or ended during the load, the load's error, le (the errno of
 * ostel_serve_label_metrics, 0 = none) and a load in which no level completed a request.
 */
void ostel_serve_server_error(const struct ostel_serve_server_result *r,
                              const struct ostel_run_result *res, int le, char *err,
                              size_t err_size);

/* The load's serve_* lines of config.txt (docs/serve.md), appended to b: p's, parallel as
 * serve_parallel (0 = empty), url. A served run adds them in the runner's before_config. */
void ostel_serve_config_lines(struct ostel_buf *b, const struct ostel_serve_params *p,
                              long long parallel, const char *url);

/*
 * config.txt's text for a run with its load, into b (the runs the runner did not write it for, or
 * whose last write failed): base (the lines before the load's), or when
 * base is NULL the lines of DIR/config.txt as the runner wrote it less its status=, error= and
 * serve_ lines; then the load's serve_* lines (p's, parallel as serve_parallel: 0 = empty, url);
 * then status= and, when error is set, error= (the last lines: a study reads them). Returns 0, or
 * EIO when base is NULL and DIR/config.txt could not be read (b then holds the rest all the same).
 */
int ostel_serve_config_text(const char *dir, const char *base, const struct ostel_serve_params *p,
                            long long parallel, const char *url, const char *status,
                            const char *error, struct ostel_buf *b);

#endif
