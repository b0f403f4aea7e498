/*
 * runner: one run — the child under the sampler, its output captured with arrival times, the run
 * directory made complete whatever happens (exit, crash, kill, timeout, Ctrl-C), then parsed and
 * summarised. The contract of the run directory is docs/run-directory.md.
 */
#ifndef OSTEL_RUNNER_H
#define OSTEL_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rundir/rundir_summary.h"

struct ostel_buf;
struct ostel_run_result;
struct ostel_gguf_run_facts;
struct ostel_log_result;
struct ostel_metrics_table;

enum ostel_run_status {
    OSTEL_RUN_OK = 0,      /* exited with status 0 */
    OSTEL_RUN_FAILED,      /* exited non-zero */
    OSTEL_RUN_KILLED,      /* ended by a signal it did not get from ostel */
    OSTEL_RUN_TIMEOUT,     /* ended by ostel after --timeout */
    OSTEL_RUN_INTERRUPTED, /* ostel got SIGINT/SIGTERM and stopped it */
    OSTEL_RUN_SPAWN_FAILED /* could not be started */
};

/* Everything a run needs; every pointer is borrowed for the duration of ostel_runner_run(). */
struct ostel_run_spec {
    const char *dir;   /* run directory; created; must not exist or be empty */
    char *const *argv; /* the child's argv; argv[0] is a path */
    const char *tag;
    const char *tool;  /* "llama-completion", "llama-cli", or "command" */
    const char *model; /* NULL for a plain command */
    /* The model's header as the caller read it (borrowed), or NULL: the runner reads model's. */
    const struct ostel_gguf_run_facts *model_facts;
    long long ctx, gen; /* < 0 when not applicable */
    const char
        *prompt_desc; /* how the prompt was given, for config.txt ("default", a file), or NULL */
    const char *scenario;      /* "none" unless a study says otherwise */
    int repetition;            /* 0 when not part of a study */
    const char *llama_bin;     /* directory of the llama.cpp tools, or NULL */
    const char *llama_version; /* `TOOL --version`'s line, or NULL (the log's own line wins) */
    const char *ostel_cmdline; /* ostel's own command line, for config.txt */
    const char *spec_hash;     /* a study's resume key for this run, or NULL */
    const char *study;         /* the study's name, or NULL */
    uint64_t interval_ns;
    uint64_t
        gpu_interval_ns; /* GPU sampling (gpu_sampler.h): 0 = the default 100 ms, UINT64_MAX off */
    uint64_t timeout_ns; /* 0 = none */
    bool verbose;        /* echo the child's output live on stderr */
    bool quiet;          /* print nothing on success */
    struct ostel_prom *prom; /* live telemetry for Prometheus (run/prom.h), or NULL */
    /* Called on the runner's thread with each piece of the child's output as it arrives (a
     * progress display for long runs), or NULL. data is borrowed for the call. */
    void (*on_output)(void *ctx, const char *data, size_t n);
    /* Called on the runner's thread at each of its wake-ups (at least every 100 ms while the child
     * runs) with on_output_ctx (a progress display's clock), or NULL. */
    void (*on_tick)(void *ctx);
    void *on_output_ctx;
    /* Optional (ostel serve): runs on a thread of its own while the child runs, given the child's
     * pid and a flag that the runner sets, to 1 when ostel is interrupted, to 2 when the child
     * exited; when it
     * returns, the child's group gets SIGTERM and a clean stop counts as ok. NULL for other runs.
     */
    int (*during)(void *arg, pid_t child, const _Atomic int *stop);
    void *during_arg;
    /* Optional (a study's scenario): called on the runner's thread with the run's summary, filled
     * and about to be written as summary.json (its one write), and the result so far (status,
     * write_error); it may add sections (ostel_summary_set_section). NULL for other runs. */
    void (*before_summary)(void *arg, struct ostel_summary *summary,
                           const struct ostel_run_result *res);
    void *before_summary_arg;
    /* Optional (a served run): called on the runner's thread just before config.txt's last write
     * (after summary.json's), with the result so far. It may append lines to config (after the
     * runner's own, before status=), and replace the status= and error= values (*status, *error:
     * the runner's are the run's status name and its write error or NULL; what it sets is
     * borrowed until the call returns to the runner's write). A write that fails fails the run
     * as for any run. Not called for the start-of-run config.txt (status=running). NULL for other
     * runs. */
    void (*before_config)(void *arg, struct ostel_buf *config, const struct ostel_run_result *res,
                          const char **status, const char **error);
    void *before_config_arg;
    /* Hand the run's rows over in res->rows (a served run labels its levels on them, serve.h's
     * ostel_serve_label_metrics); false for other runs, whose rows are freed with the summary's
     * making. */
    bool keep_rows;
};

struct ostel_run_result {
    enum ostel_run_status status;
    int exit_code; /* valid when status is OK or FAILED */
    int signal;    /* the signal that ended the child, or 0 */
    bool oom_killed;
    const char
        *oom_scope; /* static: where OOM kills were counted (config.txt oom_scope), or NULL */
    double start_ts, end_ts;
    uint64_t samples;
    /* CPU time ostel's own threads spent watching (the sampler's, and the runner's reading, logging
     * and scanning the child's output), from the spawn to the last sample; 0 when unknown */
    uint64_t watcher_cpu_ns;
    int ostel_signal; /* SIGINT/SIGTERM that interrupted ostel, or 0 */
    /* Why the run's artifacts could not all be written ("no space left on device writing
     * metrics.csv"), or "" when they were; such a run is status failed. */
    char write_error[160];
    int write_errno; /* that failure's errno (ENOSPC, EFBIG, EIO…), or 0 */
    /* The run's summary as summary.json holds it (owned: ostel_run_result_free()), or NULL when
     * the directory has none (it or config.txt could not be written). Readers take it from here
     * instead of reading the file back. */
    struct ostel_summary *summary;
    /* What the log parser found in llama_output.log (llama/logparse.h; owned:
     * ostel_run_result_free()), the figures summary.json's llama object holds and more (a
     * perplexity pass's), or NULL when the log could not be read or parsed. Readers take it from
     * here instead of parsing the log again. */
    struct ostel_log_result *log;
    /* With spec->keep_rows: metrics.csv's rows as the runner wrote them last, labelled with
     * phases (rundir/rundir_metrics.h; owned: ostel_run_result_free()): the sampler's, or the
     * file's read back where the sampler could not keep them (out of memory); NULL without
     * keep_rows or when the run never got that far. Readers take them from here instead of
     * reading metrics.csv back. */
    struct ostel_metrics_table *rows;
};

const char *ostel_run_status_name(enum ostel_run_status s);

/*
 * Makes the run directory ready: created when missing, refused when it holds anything (a run never
 * mixes its files with an earlier one's) or cannot be written. Prints why and returns OSTEL_ERR.
 */
int ostel_runner_prepare_dir(const char *dir);

/*
 * Runs the spec. Returns 0 when the run directory is complete (whatever the child did: see res), or
 * OSTEL_ERR after printing why the run could not be recorded (the directory could not be made).
 * Free res with ostel_run_result_free() in either case.
 */
int ostel_runner_run(const struct ostel_run_spec *spec, struct ostel_run_result *res);
/* Frees what res owns (its summary, log and rows); res stays readable otherwise. */
void ostel_run_result_free(struct ostel_run_result *res);

#endif
