/*
 * gpu_sampler: the GPU's own telemetry thread. NVML calls take milliseconds and serialize in the
 * driver (docs/gpu.md), so the GPUs are read by a thread of their own at their own interval
 * (default 100 ms; the running-process list every proc_every-th sample), never by the OS sampler,
 * whose deadlines it cannot delay. Rows go to gpu_metrics.csv (long format, one per GPU per
 * sample), written at least every 250 ms. The backend is opened by the thread too (nvmlInit and the
 * device enumeration can hang in a stuck driver), so starting never blocks the caller, who must
 * keep draining the child's pipe. Stopping waits a bounded time for the thread: one stuck inside an
 * NVML call, the opening included, is left behind (detached), never waited for.
 */
#ifndef OSTEL_GPU_SAMPLER_H
#define OSTEL_GPU_SAMPLER_H

#include "run/gpu_aggregate.h"

#include <cJSON.h>
#include <stdint.h>
#include <sys/types.h>

struct ostel_gpu_sampler;

/*
 * Starts the thread that opens the GPU backend ($OSTEL_GPU: "auto" (default), "nvml" or "none") and
 * samples every GPU for the tree rooted at root, appending to csv_path (created, header written,
 * once a GPU answered). Returns at once; NULL only when interval_ns is 0, OSTEL_GPU is "none" or
 * the thread cannot start, with one line in why (for config.txt).
 */
struct ostel_gpu_sampler *ostel_gpu_sampler_start(pid_t root, const char *csv_path,
                                                  uint64_t interval_ns, unsigned proc_every,
                                                  char *why, size_t why_size);
/*
 * A live consumer of the GPU rows (run/prom.h): called on the GPU thread with each row as written
 * to gpu_metrics.csv and the device's energy since the sampler started in joules (the sum of the
 * row's energy_j deltas; NAN while the device has no energy counter). Must be quick.
 */
typedef void (*ostel_gpu_tap_fn)(void *arg, const struct ostel_gpu_row *row, double energy_total_j);
/* ostel_gpu_sampler_start, also calling tap(tap_arg, …) for every row (tap NULL = none). */
struct ostel_gpu_sampler *ostel_gpu_sampler_start_tap(pid_t root, const char *csv_path,
                                                      uint64_t interval_ns, unsigned proc_every,
                                                      char *why, size_t why_size,
                                                      ostel_gpu_tap_fn tap, void *tap_arg);
/*
 * Stops the thread (waiting at most about 2 s), syncs and closes the file and frees the sampler.
 * Returns what was collected for summary.json's "gpu" object (backend, library, driver, interval,
 * devices with their errors, losses and process matches, whether the stop timed out); the caller
 * owns it. *write_errno gets the errno of the first failed write, fsync or close of
 * gpu_metrics.csv, 0 when every row reached the file (the runner fails the run on it, as for every
 * other artifact). Returns NULL when the thread found no GPU to read (no driver, NVML did not
 * start, no device, the file could not be created), with one line in why (for config.txt). The
 * opening happens on the GPU thread: summary.json says when it or the stop timed out.
 */
cJSON *ostel_gpu_sampler_stop(struct ostel_gpu_sampler *s, int *write_errno, char *why,
                              size_t why_size);

/* config.txt's one "gpu" line from what stop returned: "nvml, driver 580.159.04: GPU 0 NVIDIA
 * H200". */
void ostel_gpu_sampler_config_line(const cJSON *collection, char *out, size_t out_size);

#endif
