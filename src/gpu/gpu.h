/*
 * gpu: what the GPUs of the machine are doing, through a backend chosen at run time.
 *
 *   nvml  NVIDIA's management library, dlopen'ed ("libnvidia-ml.so.1", then "libnvidia-ml.so";
 *         $OSTEL_NVML_LIB first when set, which is how the tests load their double) — never linked,
 *         so ostel builds and runs where no driver is installed.
 *   none  no GPU telemetry; ostel_gpu_open() says why in one line.
 * AMD (ROCm SMI / amdgpu sysfs) and Apple (IOReport) would be two more backends behind the same
 * ops table in gpu.c; they are not built (docs/gpu.md).
 *
 * Every field of a sample has a valid bit: a call that returned NOT_SUPPORTED or failed leaves the
 * cell empty, never 0. Reading is not thread-safe per handle: one thread (gpu_sampler.c) reads.
 */
#ifndef OSTEL_GPU_H
#define OSTEL_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rundir/rundir_gpu_metrics.h" /* enum ostel_gpu_field, OSTEL_GPU_MAX_DEVICES */

#define OSTEL_GPU_MAX_PROCS 64

/* The fields a reading fills are gpu_metrics.csv's columns after ts, gpu and phase, one table in
 * rundir/rundir_gpu_metrics.h (docs/gpu.md). Where each is read:
 *   MEM_USED_MB      nvmlDeviceGetMemoryInfo_v2 .used (v1 fallback); MEM_TOTAL_MB its total
 *   PROC_MEM_MB      memory of the watched process tree (running-process list)
 *   UTIL_PCT         nvmlDeviceGetUtilizationRates .gpu; MEM_UTIL_PCT its .memory
 *   POWER_W          nvmlDeviceGetPowerUsage (a 1 s average on Ampere and newer)
 *   POWER_INSTANT_W  nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)
 *   ENERGY_J         total-energy counter delta since the previous sample of this GPU
 *   SM_CLOCK_MHZ     nvmlDeviceGetClockInfo(SM); MEM_CLOCK_MHZ (MEM)
 *   TEMP_C           nvmlDeviceGetTemperature(GPU)
 *   CLOCK_EVENTS     nvmlDeviceGetCurrentClocksEventReasons bit mask */

/* One process on a GPU as the driver lists it. */
struct ostel_gpu_proc {
    uint32_t pid;
    uint64_t used_bytes;
    bool used_valid; /* NVML_VALUE_NOT_AVAILABLE (no permission, MIG…) leaves it false */
};

/* One reading of one device. Raw, before the sampler turns the energy counter into deltas. */
struct ostel_gpu_reading {
    double v[OSTEL_GPU_FIELD_COUNT]; /* OSTEL_GPU_ENERGY_J and PROC_MEM are filled by the sampler */
    uint32_t valid;                  /* bit (1u << field) */
    double mem_free_mb;              /* device memory free (not a CSV column; ostel fit's budget) */
    bool mem_free_valid;
    uint64_t energy_mj; /* the raw counter, mJ since the driver was loaded */
    bool energy_valid;
    struct ostel_gpu_proc procs[OSTEL_GPU_MAX_PROCS];
    size_t n_procs;
    bool procs_valid;   /* the list was read (it may be empty) */
    bool procs_trunc;   /* more processes than OSTEL_GPU_MAX_PROCS */
    bool lost;          /* the device answered GPU_IS_LOST (or equivalent): every cell empty */
    int n_failed;       /* calls that failed (not counting NOT_SUPPORTED) */
    char first_err[96]; /* "nvmlDeviceGetPowerUsage: Unknown Error", the first failure's text */
};

/* What a device is, read once at open. */
struct ostel_gpu_info {
    char name[96];
    char uuid[96];
    char bus_id[32];
    double mem_total_mb;  /* < 0 unknown */
    double power_limit_w; /* < 0 unknown */
};

/* Which optional calls the backend resolved (old drivers lack some): for summary.json and docs. */
struct ostel_gpu_caps {
    const char *init_fn;   /* "nvmlInit_v2" or "nvmlInit" */
    const char *memory_fn; /* "nvmlDeviceGetMemoryInfo_v2" or "nvmlDeviceGetMemoryInfo" */
    const char *procs_fn;  /* "nvmlDeviceGetComputeRunningProcesses_v3", "_v2", "" or NULL */
    bool field_values;     /* nvmlDeviceGetFieldValues */
    bool energy;           /* nvmlDeviceGetTotalEnergyConsumption */
    bool clock_events;     /* nvmlDeviceGetCurrentClocksEventReasons (or the Throttle name) */
};

static inline bool ostel_gpu_has(const struct ostel_gpu_reading *r, enum ostel_gpu_field f)
{
    return (r->valid >> f) & 1u;
}
static inline void ostel_gpu_set(struct ostel_gpu_reading *r, enum ostel_gpu_field f, double v)
{
    r->v[f] = v;
    r->valid |= 1u << f;
}

struct ostel_gpu;

/*
 * Opens the backend `want` ("auto", "nvml" or "none"; NULL means auto). Never fails: when NVML
 * cannot be loaded or initialised, or has no device, the handle is the `none` backend and `why`
 * (when not NULL) gets one line saying why ("no NVIDIA driver: libnvidia-ml.so.1 not found"). The
 * caller closes it with ostel_gpu_close().
 */
struct ostel_gpu *ostel_gpu_open(const char *want, char *why, size_t why_size);
void ostel_gpu_close(struct ostel_gpu *g);
/* "nvml" or "none". Static string. */
const char *ostel_gpu_backend_name(const struct ostel_gpu *g);
/* The library actually loaded ("libnvidia-ml.so.1"), or "" (static or owned by g). */
const char *ostel_gpu_library(const struct ostel_gpu *g);
/* The driver's version string, or "". Owned by g. */
const char *ostel_gpu_driver_version(const struct ostel_gpu *g);
unsigned ostel_gpu_count(const struct ostel_gpu *g);
const struct ostel_gpu_info *ostel_gpu_device_info(const struct ostel_gpu *g, unsigned i);
const struct ostel_gpu_caps *ostel_gpu_capabilities(const struct ostel_gpu *g);
/*
 * Reads device i now into *out (cleared first). with_procs also reads the running-process list (a
 * slower call). Returns false when the device is lost or gone (out->lost set, all cells empty).
 */
bool ostel_gpu_read(struct ostel_gpu *g, unsigned i, bool with_procs,
                    struct ostel_gpu_reading *out);

/*
 * The per-process VRAM the CUDA runtime takes beyond llama.cpp's own buffers (CUDA context, cuBLAS
 * workspace, allocator slack) on each GPU a process uses: ostel fit adds it to the prediction of
 * every CUDA device, with its error bar. This is the one place it is set.
 * Calibrated on: ostel's CUDA study on the device machine (bench/gpu_cuda.sh, 2026-12-07; NVIDIA
 * H100 80GB HBM3, driver 580.159.04, CUDA 13.0, the pinned llama.cpp built for sm_90 with flash
 * attention, Llama-3.1-8B shapes, ctx 4096, -ngl 99): summary.json's gpu.run.vram_beyond_llama_mb
 * was 599 MiB in all 22 runs, Q4_K_M and Q8_0, mmap or not (sd 0; tests/data/runs/cuda-h100). The
 * error bar is not that sd: it stands for what was not measured (other GPUs, drivers, CUDA
 * versions, llama.cpp builds; a torch process on the same H100 held ~870 MiB beyond its tensors).
 */
#define OSTEL_GPU_CUDA_OVERHEAD_MIB 600.0
#define OSTEL_GPU_CUDA_OVERHEAD_ERR_MIB 200.0

/* One device's memory as read once, for ostel fit. */
struct ostel_gpu_mem {
    char name[96];
    double total_mb, free_mb; /* < 0 unknown */
};

/*
 * Opens the backend `want` (as ostel_gpu_open), reads every device's memory once and closes it, on
 * a thread of its own: when that takes longer than timeout_s (a driver stuck in nvmlInit), it gives
 * up and leaves the thread behind. Fills out[0..max) and returns how many devices there are; 0 with
 * one line in why (no driver, no GPU, "NVML did not answer within 5 s").
 */
unsigned ostel_gpu_query_memory(const char *want, double timeout_s, struct ostel_gpu_mem *out,
                                unsigned max, char *why, size_t why_size);

/*
 * Energy counter difference in J between two raw readings (mJ), dt_s apart. A smaller new value is
 * a 64-bit wrap when the modular difference is plausible (below max_w × dt_s, and max_w ≥ 1 W),
 * else a counter reset (driver reload): then false and no value. Pure.
 */
bool ostel_gpu_energy_delta(uint64_t prev_mj, uint64_t cur_mj, double dt_s, double max_w,
                            double *out_j);

/*
 * Sums the used memory of the processes in `procs` that belong to the tree rooted at root: a pid
 * belongs when it is root or its parent chain (parent_of, -1 when unknown) reaches root within 64
 * steps. Returns the MiB (0 when the list holds none of the tree: a reading, the list was read).
 * *matched (when not NULL) gets how many listed processes were the tree's. Pure given parent_of.
 */
double ostel_gpu_tree_mem_mb(const struct ostel_gpu_proc *procs, size_t n, pid_t root,
                             pid_t (*parent_of)(pid_t pid, void *ctx), void *ctx, size_t *matched);

#endif
