/*
 * study_internal: what study.c and study_scenario.c share (the executing study's state, its naps
 * and its record of the process groups in flight) and nothing else sees.
 */
#ifndef OSTEL_STUDY_INTERNAL_H
#define OSTEL_STUDY_INTERNAL_H

#include "run/child.h"
#include "run/sampler.h"
#include "run/study.h"
#include "rundir/rundir_summary.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ostel_gguf_run_facts;

struct study_ctx {
    const struct ostel_study_spec *spec;
    const struct ostel_study_options *opt;
    struct ostel_store *store;
    int64_t study_id;
    char *runs_dir, *warm_dir;
    char *tool_path, *llama_version;
    /* [spec->models.n]: each model's header facts as check_inputs read them, handed to every run
     * of the model (ostel_run_spec.model_facts) so that the runner reads no header again */
    struct ostel_gguf_run_facts *model_facts;
    struct ostel_study_run *plan;
    size_t nplan, todo, done_now;
    double t0, run_seconds;
    double baseline_avail;
    double last_gen_tps;
    size_t failed;
    size_t shard_runs; /* runs of this shard's slice (--shard) */
    bool *mine;        /* [nplan]: the runs of this shard's slice (--shard), else NULL */
};

/* Sleeps up to s seconds in 50 ms slices; false when a signal asked the study to stop. */
bool ostel_study_nap(double s);
/* Records the process groups in flight (in the study's .active), so that a study killed with
 * SIGKILL can end them next time; both 0 removes the record. */
void ostel_study_active_write(const struct study_ctx *c, pid_t run_pgid, pid_t scen_pgid);

/* study_scenario.c: a run's background scenario ("none", a hog spec or cmd:PROGRAM ARGS), its
 * process, its telemetry and its files. */
struct ostel_study_scenario {
    const char *text;
    struct ostel_child child;
    bool running;
    int log_fd;
    int csv_fd;
    struct ostel_sampler *sampler;
    char *log_tmp, *csv_tmp, *ready_tmp;
    uint64_t asked_bytes;
    double ready_s;
    double held_mib;
    bool held_checked;
};

/* Starts the scenario (run idx of the plan) and waits until it holds its load. Returns 0, or
 * OSTEL_ERR (printed); ostel_study_scenario_stop is called after either. */
int ostel_study_scenario_start(struct study_ctx *c, size_t idx, struct ostel_study_scenario *sc,
                               const char *text);
/* Stops the scenario and moves its files into run_dir (when given), adding its "scenario" section
 * to sum (when given). Returns OSTEL_ERR after printing when one of them could not be written. */
int ostel_study_scenario_stop(struct study_ctx *c, struct ostel_study_scenario *sc,
                              const char *run_dir, struct ostel_summary *sum);

#endif
