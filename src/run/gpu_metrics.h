/*
 * gpu_metrics: the gpu_metrics.csv format (docs/run-directory.md) — long format, one row per GPU
 * per sample: ts,gpu,phase,<the ostel_gpu_field columns>; formatting a row without allocation (the
 * GPU sampler's loop) and parsing a whole file back (untrusted input), plus the per-GPU, per-phase
 * aggregation that summary.json's "gpu" object holds.
 */
#ifndef OSTEL_GPU_METRICS_H
#define OSTEL_GPU_METRICS_H

#include "gpu/gpu.h"
#include "rundir/rundir_metrics.h"

#include <cJSON.h>

struct ostel_gpu_row {
    double ts; /* seconds since the epoch */
    unsigned gpu;
    enum ostel_phase phase;
    double v[OSTEL_GPU_FIELD_COUNT];
    uint32_t valid; /* bit (1u << ostel_gpu_field) */
};

/* The header line with '\n'; returns its length, 0 when out is too small (512 bytes suffice). */
size_t ostel_gpu_metrics_format_header(char *out, size_t out_size);
/* One row with '\n'; returns its length, 0 when out is too small (512 bytes suffice). */
size_t ostel_gpu_metrics_format_row(const struct ostel_gpu_row *r, char *out, size_t out_size);

struct ostel_gpu_table {
    struct ostel_gpu_row *rows; /* owned */
    size_t n;
};
/* Parses a whole gpu_metrics.csv; columns found by header name (unknown ones ignored). Returns 0,
 * or OSTEL_ERR with "line N: ..." in err (nothing printed). Free with
 * ostel_gpu_metrics_table_free() always. */
int ostel_gpu_metrics_parse(const char *data, size_t len, struct ostel_gpu_table *out, char *err,
                            size_t err_size);
void ostel_gpu_metrics_table_free(struct ostel_gpu_table *t);

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
void ostel_gpu_metrics_energy_split(const struct ostel_phase_bounds *pb, double a, double b,
                                    double j, double out[OSTEL_PHASE_COUNT],
                                    bool seen[OSTEL_PHASE_COUNT]);

/*
 * summary.json's "gpu" object from the labelled rows: per device (index, and per phase plus
 * overall: samples, peak device and process VRAM, mean/peak utilization and power, energy) and the
 * run's energy per token. A row's energy delta covers the time since the device's previous energy
 * reading; with pb (may be NULL: each delta then goes to its row's phase) it is split across the
 * phases that interval overlaps (ostel_gpu_metrics_energy_split), so a prompt phase shorter than
 * one sample interval still gets its energy. collection (borrowed, may be NULL) is what the sampler
 * recorded (backend, devices, errors); it is copied in, and its devices' other_procs_max flags the
 * energy figures as the whole device's, shared with other processes. Pure. The caller owns the
 * result.
 */
cJSON *ostel_gpu_metrics_summary_json(const struct ostel_gpu_row *rows, size_t n,
                                      const cJSON *collection,
                                      const struct ostel_gpu_run_facts *facts,
                                      const struct ostel_phase_bounds *pb);

#endif
