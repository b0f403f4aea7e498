/*
 * gpu_finalize: the runner's post-processing of gpu_metrics.csv — phases labelled from the run's
 * boundaries, the file rewritten, and summary.json's "gpu" object built (gpu_aggregate.h).
 */
#ifndef OSTEL_GPU_FINALIZE_H
#define OSTEL_GPU_FINALIZE_H

#include "llama/logparse.h"
#include "run/phases.h"

#include <cJSON.h>

/*
 * collection: what ostel_gpu_sampler_stop() returned (taken: freed here), or NULL when no GPU was
 * read; why: the one line saying why not. lr: the parsed log, or NULL. Returns the "gpu" object
 * (the caller owns it): {"backend": "none", "why": ...} without a GPU. *write_errno gets the errno
 * of a failed rewrite of gpu_metrics.csv (printed by nobody: the runner fails the run with it), 0
 * otherwise; a file the sampler could not write whole is not rewritten.
 */
cJSON *ostel_gpu_finalize(const char *dir, const struct ostel_phase_bounds *b,
                          const struct ostel_log_result *lr, cJSON *collection, const char *why,
                          int *write_errno);

#endif
