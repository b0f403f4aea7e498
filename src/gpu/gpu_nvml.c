/*
 * gpu_nvml: the NVIDIA backend. libnvidia-ml is dlopen'ed, never linked; the few types and
 * functions used are declared here from NVIDIA's NVML API reference (nvml.h is not needed to
 * build).
 *
 * Versioned symbols are resolved newest first (nvtop's order): nvmlInit_v2 → nvmlInit,
 * nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetMemoryInfo_v2 (its version
 * field must be NVML_STRUCT_VERSION(Memory, 2) = sizeof | 2 << 24; 2 alone fails) → v1,
 * nvmlDeviceGetComputeRunningProcesses_v3 → _v2 → v1, the buffer grown on INSUFFICIENT_SIZE.
 * A call that answers NOT_SUPPORTED is remembered per device and field and not made again.
 */
#include "gpu/gpu_internal.h"

#include "util/util.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_GPU_NOT_FOUND = 28,
};

enum { NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2 };
enum { NVML_TEMPERATURE_GPU = 0 };
#define NVML_FI_DEV_POWER_INSTANT 186
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ULL)

typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

#define NVML_STRUCT_VERSION(size, ver) ((unsigned)(size) | ((unsigned)(ver) << 24U))

typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;

/* v1 (16 bytes) and v2/v3 (24 bytes: + gpuInstanceId, computeInstanceId). DCGM's header gives v3
 * one more 8-byte field, so the buffer is allocated with a 32-byte stride of slack (nvtop's
 * caution). */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_v2_t;

typedef union {
    double dVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    signed int siVal;
    unsigned short usVal;
} nvmlValue_t;

typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;
    long long latencyUsec;
    int valueType; /* 0 double, 1 uint, 2 ulong, 3 ullong, 4 sllong, 5 sint, 6 ushort */
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

struct nvml_fns {
    nvmlReturn_t (*init)(void);
    nvmlReturn_t (*shutdown)(void);
    const char *(*error_string)(nvmlReturn_t);
    nvmlReturn_t (*driver_version)(char *, unsigned);
    nvmlReturn_t (*count)(unsigned *);
    nvmlReturn_t (*handle)(unsigned, nvmlDevice_t *);
    nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned);
    nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned);
    nvmlReturn_t (*mem_v2)(nvmlDevice_t, nvmlMemory_v2_t *);
    nvmlReturn_t (*mem_v1)(nvmlDevice_t, nvmlMemory_t *);
    nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *);
    nvmlReturn_t (*power)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*power_limit)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*field_values)(nvmlDevice_t, int, nvmlFieldValue_t *);
    nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long *);
    nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*temp)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*events)(nvmlDevice_t, unsigned long long *);
    nvmlReturn_t (*procs)(nvmlDevice_t, unsigned *, void *);
    size_t proc_stride; /* bytes per entry the chosen procs function writes */
};

struct nvml_dev {
    nvmlDevice_t h;
    bool lost;
    bool mem_v1_only;
    uint32_t unsupported; /* bit (1u << field): NOT_SUPPORTED once, not asked again */
    bool procs_unsupported;
};

struct nvml_state {
    void *lib;
    struct nvml_fns f;
    struct nvml_dev dev[OSTEL_GPU_MAX_DEVICES];
    unsigned char *proc_buf; /* owned; grown on INSUFFICIENT_SIZE */
    size_t proc_cap;         /* entries */
};

static void *sym(void *lib, const char *const *names, const char **chosen)
{
    for (size_t i = 0; names[i]; i++) {
        void *p = dlsym(lib, names[i]);
        if (p) {
            if (chosen)
                *chosen = names[i];
            return p;
        }
    }
    return NULL;
}

#define SYM(lib, dst, chosen, ...)                                                                 \
    do {                                                                                           \
        static const char *const names_[] = {__VA_ARGS__, NULL};                                   \
        *(void **)(&(dst)) = sym((lib), names_, (chosen));                                         \
    } while (0)

static const char *err_text(const struct nvml_state *st, nvmlReturn_t rc)
{
    const char *s = st->f.error_string ? st->f.error_string(rc) : NULL;
    return s ? s : "unknown error";
}

static bool is_lost(nvmlReturn_t rc)
{
    return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_GPU_NOT_FOUND ||
           rc == NVML_ERROR_RESET_REQUIRED || rc == NVML_ERROR_UNINITIALIZED ||
           rc == NVML_ERROR_DRIVER_NOT_LOADED;
}

/* Notes a call's outcome; true when it succeeded. */
static bool check(struct nvml_state *st, struct nvml_dev *d, struct ostel_gpu_reading *out,
                  enum ostel_gpu_field f, const char *fn, nvmlReturn_t rc)
{
    if (rc == NVML_SUCCESS)
        return true;
    if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_FUNCTION_NOT_FOUND) {
        if ((int)f >= 0)
            d->unsupported |= 1u << f;
        return false;
    }
    if (is_lost(rc))
        d->lost = true;
    if (out->n_failed++ == 0)
        snprintf(out->first_err, sizeof(out->first_err), "%s: %s", fn, err_text(st, rc));
    return false;
}

static bool want(const struct nvml_dev *d, enum ostel_gpu_field f)
{
    return !d->lost && !((d->unsupported >> f) & 1u);
}

static void read_procs(struct nvml_state *st, struct nvml_dev *d, struct ostel_gpu_reading *out)
{
    if (!st->f.procs || d->procs_unsupported || d->lost)
        return;
    for (int tries = 0; tries < 8; tries++) {
        unsigned cnt = (unsigned)st->proc_cap;
        nvmlReturn_t rc = st->f.procs(d->h, &cnt, st->proc_buf);
        if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
            size_t cap = st->proc_cap * 2;
            if (cnt > cap)
                cap = (size_t)cnt + 8;
            if (cap > 65536)
                break;
            free(st->proc_buf);
            st->proc_buf = ostel_xcalloc(cap, 32);
            st->proc_cap = cap;
            continue;
        }
        if (rc == NVML_ERROR_NOT_SUPPORTED) {
            d->procs_unsupported = true;
            return;
        }
        if (!check(st, d, out, (enum ostel_gpu_field) - 1, "nvmlDeviceGetComputeRunningProcesses",
                   rc))
            return;
        if (cnt > st->proc_cap)
            cnt = (unsigned)st->proc_cap;
        out->procs_valid = true;
        for (unsigned k = 0; k < cnt; k++) {
            if (out->n_procs == OSTEL_GPU_MAX_PROCS) {
                out->procs_trunc = true;
                break;
            }
            const unsigned char *e = st->proc_buf + (size_t)k * st->f.proc_stride;
            nvmlProcessInfo_v1_t pi; /* pid and usedGpuMemory lead every version */
            memcpy(&pi, e, sizeof(pi));
            struct ostel_gpu_proc *p = &out->procs[out->n_procs++];
            p->pid = pi.pid;
            p->used_valid = pi.usedGpuMemory != NVML_VALUE_NOT_AVAILABLE_ULL;
            p->used_bytes = p->used_valid ? pi.usedGpuMemory : 0;
        }
        return;
    }
}

static bool nvml_read(struct ostel_gpu *g, unsigned i, bool with_procs,
                      struct ostel_gpu_reading *out)
{
    struct nvml_state *st = g->impl;
    struct nvml_dev *d = &st->dev[i];
    const struct nvml_fns *f = &st->f;
    if (d->lost) {
        out->lost = true;
        return false;
    }
    if (want(d, OSTEL_GPU_MEM_USED_MB)) {
        bool done = false;
        if (f->mem_v2 && !d->mem_v1_only) {
            nvmlMemory_v2_t m;
            memset(&m, 0, sizeof(m));
            m.version = NVML_STRUCT_VERSION(sizeof(nvmlMemory_v2_t), 2);
            nvmlReturn_t rc = f->mem_v2(d->h, &m);
            if (rc == NVML_SUCCESS) {
                ostel_gpu_set(out, OSTEL_GPU_MEM_USED_MB, (double)m.used / 1048576.0);
                ostel_gpu_set(out, OSTEL_GPU_MEM_TOTAL_MB, (double)m.total / 1048576.0);
                out->mem_free_mb = (double)m.free / 1048576.0;
                out->mem_free_valid = true;
                done = true;
            } else if (rc == NVML_ERROR_ARGUMENT_VERSION_MISMATCH ||
                       rc == NVML_ERROR_INVALID_ARGUMENT || rc == NVML_ERROR_NOT_SUPPORTED ||
                       rc == NVML_ERROR_FUNCTION_NOT_FOUND) {
                d->mem_v1_only = true; /* an old driver or a version mismatch: v1 from now on */
            } else {
                /* lost, or failing now (Unknown Error, Timeout): an empty cell this time */
                check(st, d, out, OSTEL_GPU_MEM_USED_MB, "nvmlDeviceGetMemoryInfo_v2", rc);
                done = true;
            }
        }
        if (!done && !d->lost && f->mem_v1) {
            nvmlMemory_t m;
            if (check(st, d, out, OSTEL_GPU_MEM_USED_MB, "nvmlDeviceGetMemoryInfo",
                      f->mem_v1(d->h, &m))) {
                ostel_gpu_set(out, OSTEL_GPU_MEM_USED_MB, (double)m.used / 1048576.0);
                ostel_gpu_set(out, OSTEL_GPU_MEM_TOTAL_MB, (double)m.total / 1048576.0);
                out->mem_free_mb = (double)m.free / 1048576.0;
                out->mem_free_valid = true;
            }
        }
    }
    if (f->util && want(d, OSTEL_GPU_UTIL_PCT)) {
        nvmlUtilization_t u;
        if (check(st, d, out, OSTEL_GPU_UTIL_PCT, "nvmlDeviceGetUtilizationRates",
                  f->util(d->h, &u))) {
            ostel_gpu_set(out, OSTEL_GPU_UTIL_PCT, u.gpu);
            ostel_gpu_set(out, OSTEL_GPU_MEM_UTIL_PCT, u.memory);
        }
    }
    if (f->power && want(d, OSTEL_GPU_POWER_W)) {
        unsigned mw;
        if (check(st, d, out, OSTEL_GPU_POWER_W, "nvmlDeviceGetPowerUsage", f->power(d->h, &mw)))
            ostel_gpu_set(out, OSTEL_GPU_POWER_W, mw / 1000.0);
    }
    if (f->field_values && want(d, OSTEL_GPU_POWER_INSTANT_W)) {
        nvmlFieldValue_t fv;
        memset(&fv, 0, sizeof(fv));
        fv.fieldId = NVML_FI_DEV_POWER_INSTANT;
        nvmlReturn_t rc = f->field_values(d->h, 1, &fv);
        if (rc == NVML_SUCCESS)
            rc = fv.nvmlReturn;
        if (check(st, d, out, OSTEL_GPU_POWER_INSTANT_W, "nvmlDeviceGetFieldValues", rc)) {
            double mw = -1;
            switch (fv.valueType) {
            case 0:
                mw = fv.value.dVal;
                break;
            case 1:
                mw = fv.value.uiVal;
                break;
            case 2:
                mw = (double)fv.value.ulVal;
                break;
            case 3:
                mw = (double)fv.value.ullVal;
                break;
            case 4:
                mw = (double)fv.value.sllVal;
                break;
            case 5:
                mw = fv.value.siVal;
                break;
            case 6:
                mw = fv.value.usVal;
                break;
            default:
                break;
            }
            if (mw >= 0)
                ostel_gpu_set(out, OSTEL_GPU_POWER_INSTANT_W, mw / 1000.0);
        }
    }
    if (f->energy && want(d, OSTEL_GPU_ENERGY_J)) {
        unsigned long long mj;
        if (check(st, d, out, OSTEL_GPU_ENERGY_J, "nvmlDeviceGetTotalEnergyConsumption",
                  f->energy(d->h, &mj))) {
            out->energy_mj = mj;
            out->energy_valid = true;
        }
    }
    if (f->clock && want(d, OSTEL_GPU_SM_CLOCK_MHZ)) {
        unsigned mhz;
        if (check(st, d, out, OSTEL_GPU_SM_CLOCK_MHZ, "nvmlDeviceGetClockInfo",
                  f->clock(d->h, NVML_CLOCK_SM, &mhz)))
            ostel_gpu_set(out, OSTEL_GPU_SM_CLOCK_MHZ, mhz);
    }
    if (f->clock && want(d, OSTEL_GPU_MEM_CLOCK_MHZ)) {
        unsigned mhz;
        if (check(st, d, out, OSTEL_GPU_MEM_CLOCK_MHZ, "nvmlDeviceGetClockInfo",
                  f->clock(d->h, NVML_CLOCK_MEM, &mhz)))
            ostel_gpu_set(out, OSTEL_GPU_MEM_CLOCK_MHZ, mhz);
    }
    if (f->temp && want(d, OSTEL_GPU_TEMP_C)) {
        unsigned c;
        if (check(st, d, out, OSTEL_GPU_TEMP_C, "nvmlDeviceGetTemperature",
                  f->temp(d->h, NVML_TEMPERATURE_GPU, &c)))
            ostel_gpu_set(out, OSTEL_GPU_TEMP_C, c);
    }
    if (f->events && want(d, OSTEL_GPU_CLOCK_EVENTS)) {
        unsigned long long r;
        if (check(st, d, out, OSTEL_GPU_CLOCK_EVENTS, "nvmlDeviceGetCurrentClocksEventReasons",
                  f->events(d->h, &r)))
            ostel_gpu_set(out, OSTEL_GPU_CLOCK_EVENTS, (double)r);
    }
    if (with_procs)
        read_procs(st, d, out);
    if (d->lost) {
        /* Nothing read from a device that went away counts: the cells are empty. */
        out->valid = 0;
        out->energy_valid = false;
        out->procs_valid = false;
        out->n_procs = 0;
        out->lost = true;
        return false;
    }
    return true;
}

static void nvml_close(struct ostel_gpu *g)
{
    struct nvml_state *st = g->impl;
    if (!st)
        return;
    if (st->f.shutdown)
        st->f.shutdown();
    /* The library stays mapped: NVML starts threads of its own that may outlive shutdown. */
    free(st->proc_buf);
    free(st);
    g->impl = NULL;
}

static const struct ostel_gpu_ops nvml_ops = {"nvml", nvml_read, nvml_close};

bool ostel_gpu_nvml_open(struct ostel_gpu *g, char *why, size_t why_size)
{
    const char *cands[3] = {getenv("OSTEL_NVML_LIB"), "libnvidia-ml.so.1", "libnvidia-ml.so"};
    void *lib = NULL;
    const char *loaded = NULL;
    for (size_t i = 0; i < 3 && !lib; i++) {
        if (!cands[i] || !cands[i][0])
            continue;
        lib = dlopen(cands[i], RTLD_NOW | RTLD_LOCAL);
        loaded = cands[i];
        if (i == 0 && !lib) {
            snprintf(why, why_size, "no NVIDIA driver: OSTEL_NVML_LIB=%s cannot be loaded",
                     cands[0]);
            return false;
        }
    }
    if (!lib) {
        snprintf(why, why_size, "no NVIDIA driver: libnvidia-ml.so.1 not found");
        return false;
    }
    struct nvml_state *st = ostel_xcalloc(1, sizeof(*st));
    st->lib = lib;
    struct nvml_fns *f = &st->f;
    const char *init_fn = NULL, *mem_fn = NULL, *procs_fn = NULL;
    SYM(lib, f->init, &init_fn, "nvmlInit_v2", "nvmlInit");
    SYM(lib, f->shutdown, NULL, "nvmlShutdown");
    SYM(lib, f->error_string, NULL, "nvmlErrorString");
    SYM(lib, f->driver_version, NULL, "nvmlSystemGetDriverVersion");
    SYM(lib, f->count, NULL, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    SYM(lib, f->handle, NULL, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
    SYM(lib, f->name, NULL, "nvmlDeviceGetName");
    SYM(lib, f->uuid, NULL, "nvmlDeviceGetUUID");
    SYM(lib, f->mem_v2, &mem_fn, "nvmlDeviceGetMemoryInfo_v2");
    SYM(lib, f->mem_v1, mem_fn ? NULL : &mem_fn, "nvmlDeviceGetMemoryInfo");
    SYM(lib, f->util, NULL, "nvmlDeviceGetUtilizationRates");
    SYM(lib, f->power, NULL, "nvmlDeviceGetPowerUsage");
    SYM(lib, f->power_limit, NULL, "nvmlDeviceGetEnforcedPowerLimit");
    SYM(lib, f->field_values, NULL, "nvmlDeviceGetFieldValues");
    SYM(lib, f->energy, NULL, "nvmlDeviceGetTotalEnergyConsumption");
    SYM(lib, f->clock, NULL, "nvmlDeviceGetClockInfo");
    SYM(lib, f->temp, NULL, "nvmlDeviceGetTemperature");
    SYM(lib, f->events, NULL, "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetCurrentClocksThrottleReasons");
    SYM(lib, f->procs, &procs_fn, "nvmlDeviceGetComputeRunningProcesses_v3",
        "nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses");
    f->proc_stride = procs_fn && strcmp(procs_fn, "nvmlDeviceGetComputeRunningProcesses") == 0
                         ? sizeof(nvmlProcessInfo_v1_t)
                         : sizeof(nvmlProcessInfo_v2_t);
    if (!f->init || !f->count || !f->handle) {
        snprintf(why, why_size, "%s lacks nvmlInit/nvmlDeviceGetCount/GetHandleByIndex", loaded);
        free(st);
        return false;
    }
    nvmlReturn_t rc = f->init();
    if (rc != NVML_SUCCESS) {
        snprintf(why, why_size, "NVML did not start: %s: %s", init_fn, err_text(st, rc));
        free(st);
        return false;
    }
    unsigned n = 0;
    rc = f->count(&n);
    if (rc != NVML_SUCCESS || n == 0) {
        snprintf(why, why_size, "NVML sees no GPU%s%s", rc != NVML_SUCCESS ? ": " : "",
                 rc != NVML_SUCCESS ? err_text(st, rc) : "");
        if (f->shutdown)
            f->shutdown();
        free(st);
        return false;
    }
    if (n > OSTEL_GPU_MAX_DEVICES)
        n = OSTEL_GPU_MAX_DEVICES;
    g->n = 0;
    for (unsigned i = 0; i < n; i++) {
        struct ostel_gpu_info *in = &g->info[g->n];
        struct nvml_dev *d = &st->dev[g->n];
        memset(in, 0, sizeof(*in));
        in->mem_total_mb = -1;
        in->power_limit_w = -1;
        if (f->handle(i, &d->h) != NVML_SUCCESS) {
            /* A device that cannot be opened still holds its index: its cells stay empty. */
            d->lost = true;
            snprintf(in->name, sizeof(in->name), "(unavailable)");
            g->n++;
            continue;
        }
        if (f->name && f->name(d->h, in->name, sizeof(in->name)) != NVML_SUCCESS)
            in->name[0] = '\0';
        if (f->uuid && f->uuid(d->h, in->uuid, sizeof(in->uuid)) != NVML_SUCCESS)
            in->uuid[0] = '\0';
        in->name[sizeof(in->name) - 1] = in->uuid[sizeof(in->uuid) - 1] = '\0';
        unsigned mw;
        if (f->power_limit && f->power_limit(d->h, &mw) == NVML_SUCCESS)
            in->power_limit_w = mw / 1000.0;
        nvmlMemory_t m;
        if (f->mem_v1 && f->mem_v1(d->h, &m) == NVML_SUCCESS)
            in->mem_total_mb = (double)m.total / 1048576.0;
        g->n++;
    }
    st->proc_cap = 16;
    st->proc_buf = ostel_xcalloc(st->proc_cap, 32);
    if (f->driver_version && f->driver_version(g->driver, sizeof(g->driver)) != NVML_SUCCESS)
        g->driver[0] = '\0';
    g->driver[sizeof(g->driver) - 1] = '\0';
    snprintf(g->library, sizeof(g->library), "%s", loaded);
    g->caps.init_fn = init_fn;
    g->caps.memory_fn = mem_fn;
    g->caps.procs_fn = procs_fn;
    g->caps.field_values = f->field_values != NULL;
    g->caps.energy = f->energy != NULL;
    g->caps.clock_events = f->events != NULL;
    g->ops = &nvml_ops;
    g->impl = st;
    return true;
}
