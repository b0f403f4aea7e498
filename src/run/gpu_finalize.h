/*
 * gpu_finalize: the runner's post-processing of gpu_metrics.csv — phases labelled from the run's
 * boundaries, the file rewritten, and summary.json's "gpu" object built (gpu_metrics.h).
 */
#ifndef OSTEL_GPU_FINALIZE_H
#define OSTEL_GPU_FINALIZE_H

#include "llama/logparse.h"
#include "run/phases.h"

#include <cJSON.h>

/*
 * collection: what ostel_gpu_sampler_stop() returned (taken: freed here), or NULL when no GPU was
 * read; why: the one line saying why not. lr: the parsed log, or NULL. Returns the "gpu" object
 * (the caller owns it): {"backend": "none", "why": ...} without a GPU.
 */
cJSON *ostel_gpu_finalize(const char *dir, const struct ostel_phase_bounds *b,
                          const struct ostel_log_result *lr, cJSON *collection, const char *why);

#endif
