/*
 * gpu_aggregate: the per-GPU, per-phase aggregation of gpu_metrics.csv's rows that summary.json's
 * "gpu" object holds. The file's format (its column table, the row, the writer and the reader) is
 * rundir/rundir_gpu_metrics.h.
 */
#ifndef OSTEL_RUN_GPU_AGGREGATE_H
#define OSTEL_RUN_GPU_AGGREGATE_H

#include "gpu/gpu.h"
#include "rundir/rundir_gpu_metrics.h"
#include "rundir/rundir_metrics.h"

#include <cJSON.h>

/* What the run's tokens and llama.cpp's own accounting say, for the per-token and VRAM figures. */
struct ostel_gpu_run_facts {
    double prompt_tokens, gen_tokens; /* < 0 unknown */
    /* llama.cpp's memory breakdown: "self" MiB of CUDA<k>, < 0 when the log has no such row */
    double llama_self_mb[OSTEL_GPU_MAX_DEVICES];
};

struct ostel_phase_bounds;

/*
 * Splits j joules spent over the interval (a, b] (seconds since the epoch) across the phases by
 * time overlap, the power taken as constant over the interval, and adds each share to out[phase]
 * (time outside every known phase goes to out[OSTEL_PHASE_NONE]); seen[phase] is set for each phase
 * that got a share. Without bounds, or when b <= a, all of j goes to the phase at b. Pure.
 */
void ostel_gpu_aggregate_energy_split(const struct ostel_phase_bounds *pb, double a, double b,
                                      double j, double out[OSTEL_PHASE_COUNT],
                                      bool seen[OSTEL_PHASE_COUNT]);

/*
 * summary.json's "gpu" object from the labelled rows: per device (index, and per phase plus
 * overall: samples, peak device and process VRAM, mean/peak utilization and power, energy) and the
 * run's energy per token. A row's energy delta covers the time since the device's previous energy
 * reading; with pb (may be NULL: each delta then goes to its row's phase) it is split across the
 * phases that interval overlaps (ostel_gpu_aggregate_energy_split), so a prompt phase shorter than
 * one sample interval still gets its energy. collection (borrowed, may be NULL) is what the sampler
 * recorded (backend, devices, errors); it is copied in, and its devices' other_procs_max flags the
 * energy figures as the whole device's, shared with other processes. Pure. The caller owns the
 * result.
 */
cJSON *ostel_gpu_aggregate_json(const struct ostel_gpu_row *rows, size_t n, const cJSON *collection,
                                const struct ostel_gpu_run_facts *facts,
                                const struct ostel_phase_bounds *pb);

#endif
