/*
 * fake_nvml: a test double of the few NVML functions ostel calls, built by the tests as a real
 * libnvidia-ml.so.1 and loaded through ostel's own dlopen path ($OSTEL_NVML_LIB). It answers from
 * values recorded on the device machine's NVIDIA H200 (driver 580.159.04, 143771 MiB) and is
 * steered by environment variables read at every call: FAKE_NVML_GPUS=N          devices (default
 * 1); device 1 and up answer NOT_SUPPORTED for power, instant power and clock-event reasons
 *   FAKE_NVML_PIDS=p:MiB,...  the compute processes on device 0
 *   FAKE_NVML_USED_MIB=A,B,.. memory used on device 0, 1... (default 9000 each; the driver reserves
 *                             550 MiB more, so free = 143771 - 550 - used)
 *   FAKE_NVML_LOSE=I:N        device I answers GPU_IS_LOST from its N-th memory call on
 *   FAKE_NVML_ENERGY0=MJ      the energy counter's first value (default 1000000), +10 mJ per call
 *   FAKE_NVML_NO_INIT=1       nvmlInit answers DRIVER_NOT_LOADED
 *   FAKE_NVML_HANG_MS=N       every utilization call sleeps N ms (a driver stuck in a call)
 *   FAKE_NVML_HANG_MARK=FILE  FILE is created as such a call starts its sleep (a test waits for
 *                             it rather than for a time)
 *   FAKE_NVML_INIT_HANG_MS=N  nvmlInit sleeps N ms first (a driver stuck while starting)
 *   FAKE_NVML_INIT_HANG_UNTIL=FILE  nvmlInit waits until FILE exists (stuck for as long as the
 *                             test wants, whatever the machine's speed)
 *   FAKE_NVML_FAIL=CALL:N[-M][:RC],...  the CALL (mem, util, power, instant, energy, clock, temp,
 *                             events, procs) answers RC (default 999, Unknown Error; 10 is Timeout)
 *                             from its N-th call (counted over all devices, from 1) to its M-th
 *                             (default: for ever) — NVML failing mid-run
 * Built with -DFAKE_NVML_OLD it is an old driver: no _v2/_v3 symbols, no field values, no energy
 * counter, no clock-event reasons (only the deprecated throttle name).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;

#define OK 0
#define NOT_SUPPORTED 3
#define INVALID_ARGUMENT 2
#define INSUFFICIENT_SIZE 7
#define DRIVER_NOT_LOADED 9
#define GPU_IS_LOST 15
#define ARGUMENT_VERSION_MISMATCH 25
#define TIMEOUT 10
#define UNKNOWN 999

#define MIB 1048576ULL
#define TOTAL_MIB 143771ULL

enum { C_MEM, C_UTIL, C_POWER, C_INSTANT, C_ENERGY, C_CLOCK, C_TEMP, C_EVENTS, C_PROCS, C_COUNT };
static const char *const call_names[C_COUNT] = {"mem",   "util", "power",  "instant", "energy",
                                                "clock", "temp", "events", "procs"};
static unsigned long long call_count[C_COUNT];

static int devs[64];
static unsigned long long mem_calls[64];
static unsigned long long energy_mj[64];
static int energy_started[64];

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static int n_gpus(void)
{
    int n = env_int("FAKE_NVML_GPUS", 1);
    return n < 0 ? 0 : n > 64 ? 64 : n;
}

static int index_of(nvmlDevice_t d)
{
    if (!d)
        return -1;
    int i = (int)((int *)d - devs);
    return i >= 0 && i < n_gpus() ? i : -1;
}

static int lost(int i)
{
    const char *v = getenv("FAKE_NVML_LOSE");
    if (!v || !*v)
        return 0;
    int dev = -1;
    unsigned long long after = 0;
    if (sscanf(v, "%d:%llu", &dev, &after) != 2)
        return 0;
    return dev == i && mem_calls[i] >= after;
}

/* Counts one call of kind c; nonzero (the code to answer) when FAKE_NVML_FAIL says it fails. */
static nvmlReturn_t injected(int c)
{
    unsigned long long k = ++call_count[c];
    const char *v = getenv("FAKE_NVML_FAIL");
    size_t len = strlen(call_names[c]);
    while (v && *v) {
        if (strncmp(v, call_names[c], len) == 0 && v[len] == ':') {
            unsigned long long from = 0, to = ~0ULL;
            int rc = UNKNOWN, used = 0;
            const char *p = v + len + 1;
            if (sscanf(p, "%llu%n", &from, &used) == 1) {
                p += used;
                if (*p == '-' && sscanf(p + 1, "%llu%n", &to, &used) == 1)
                    p += 1 + used;
                if (*p == ':' && sscanf(p + 1, "%d", &rc) != 1)
                    rc = UNKNOWN;
                if (k >= from && k <= to)
                    return rc;
            }
        }
        v = strchr(v, ',');
        if (v)
            v++;
    }
    return OK;
}

nvmlReturn_t nvmlInit(void);
nvmlReturn_t nvmlInit(void)
{
    int hang = env_int("FAKE_NVML_INIT_HANG_MS", 0);
    if (hang > 0) {
        struct timespec t = {hang / 1000, (long)(hang % 1000) * 1000000L};
        nanosleep(&t, NULL);
    }
    const char *until = getenv("FAKE_NVML_INIT_HANG_UNTIL");
    while (until && *until && access(until, F_OK) != 0) {
        struct timespec t = {0, 10000000L};
        nanosleep(&t, NULL);
    }
    /* each open starts afresh: the library stays loaded between the tests' opens */
    memset(mem_calls, 0, sizeof(mem_calls));
    memset(energy_started, 0, sizeof(energy_started));
    memset(call_count, 0, sizeof(call_count));
    return env_int("FAKE_NVML_NO_INIT", 0) ? DRIVER_NOT_LOADED : OK;
}
nvmlReturn_t nvmlShutdown(void);
nvmlReturn_t nvmlShutdown(void)
{
    return OK;
}
const char *nvmlErrorString(nvmlReturn_t rc);
const char *nvmlErrorString(nvmlReturn_t rc)
{
    switch (rc) {
    case OK:
        return "Success";
    case NOT_SUPPORTED:
        return "Not Supported";
    case GPU_IS_LOST:
        return "GPU is lost";
    case DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    case INSUFFICIENT_SIZE:
        return "Insufficient Size";
    case TIMEOUT:
        return "Timeout";
    default:
        return "Unknown Error";
    }
}
nvmlReturn_t nvmlSystemGetDriverVersion(char *out, unsigned n);
nvmlReturn_t nvmlSystemGetDriverVersion(char *out, unsigned n)
{
    snprintf(out, n, "580.159.04");
    return OK;
}
nvmlReturn_t nvmlDeviceGetCount(unsigned *n);
nvmlReturn_t nvmlDeviceGetCount(unsigned *n)
{
    *n = (unsigned)n_gpus();
    return OK;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned i, nvmlDevice_t *d);
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned i, nvmlDevice_t *d)
{
    if ((int)i >= n_gpus())
        return INVALID_ARGUMENT;
    *d = &devs[i];
    return OK;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *out, unsigned n);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *out, unsigned n)
{
    if (index_of(d) < 0)
        return INVALID_ARGUMENT;
    snprintf(out, n, "NVIDIA H200");
    return OK;
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *out, unsigned n);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *out, unsigned n)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    snprintf(out, n, "GPU-fake-%04d", i);
    return OK;
}

typedef struct {
    unsigned long long total, free, used;
} mem_v1;
typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} mem_v2;

/* Device i's used MiB from FAKE_NVML_USED_MIB (default 9000). */
static unsigned long long used_mib(int i)
{
    const char *v = getenv("FAKE_NVML_USED_MIB");
    unsigned long long u = 9000ULL;
    for (int k = 0; v && *v; k++) {
        char *end = NULL;
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v)
            break;
        if (k == i)
            return x < TOTAL_MIB - 550ULL ? x : TOTAL_MIB - 550ULL;
        v = *end == ',' ? end + 1 : end;
        if (!*end)
            break;
    }
    return u;
}

/* Idle H200: v1 used counts the driver's reserved memory (about 550 MiB), v2 does not. */
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, mem_v1 *m);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, mem_v1 *m)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_MEM);
    if (inj)
        return inj;
    mem_calls[i]++;
    m->total = TOTAL_MIB * MIB;
    m->used = (used_mib(i) + 550ULL) * MIB;
    m->free = m->total - m->used;
    return OK;
}
#ifndef FAKE_NVML_OLD
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlInit_v2(void)
{
    return nvmlInit();
}
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *n);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *n)
{
    return nvmlDeviceGetCount(n);
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
    return nvmlDeviceGetHandleByIndex(i, d);
}
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, mem_v2 *m);
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, mem_v2 *m)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (m->version != (unsigned)(sizeof(mem_v2) | 2u << 24))
        return ARGUMENT_VERSION_MISMATCH;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_MEM);
    if (inj)
        return inj;
    mem_calls[i]++;
    m->total = TOTAL_MIB * MIB;
    m->reserved = 550ULL * MIB;
    m->used = used_mib(i) * MIB;
    m->free = m->total - m->used - m->reserved;
    return OK;
}
#endif

typedef struct {
    unsigned int gpu, memory;
} util_t;
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, util_t *u);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, util_t *u)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    int hang = env_int("FAKE_NVML_HANG_MS", 0);
    if (hang > 0) {
        const char *mark = getenv("FAKE_NVML_HANG_MARK");
        FILE *f = mark && *mark ? fopen(mark, "w") : NULL;
        if (f)
            fclose(f);
        struct timespec t = {hang / 1000, (long)(hang % 1000) * 1000000L};
        nanosleep(&t, NULL);
    }
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_UTIL);
    if (inj)
        return inj;
    u->gpu = 97;
    u->memory = 71;
    return OK;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw);
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_POWER);
    if (inj)
        return inj;
    if (i > 0)
        return NOT_SUPPORTED;
    *mw = 412345;
    return OK;
}
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned *mw);
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned *mw)
{
    if (index_of(d) < 0)
        return INVALID_ARGUMENT;
    *mw = 700000;
    return OK;
}
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned *mhz);
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned *mhz)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_CLOCK);
    if (inj)
        return inj;
    *mhz = type == 1 ? 1980 : 3201;
    return OK;
}
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned *c);
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned *c)
{
    int i = index_of(d);
    if (i < 0 || sensor != 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_TEMP);
    if (inj)
        return inj;
    *c = 41;
    return OK;
}
nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *r);
nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *r)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_EVENTS);
    if (inj)
        return inj;
    if (i > 0)
        return NOT_SUPPORTED;
    *r = 0x4; /* SwPowerCap */
    return OK;
}

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} proc_v1;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} proc_v2;

static unsigned parse_pids(unsigned *pids, unsigned long long *mib, unsigned max)
{
    const char *v = getenv("FAKE_NVML_PIDS");
    unsigned n = 0;
    while (v && *v && n < max) {
        unsigned p = 0;
        unsigned long long m = 0;
        int used = 0;
        if (sscanf(v, "%u:%llu%n", &p, &m, &used) != 2)
            break;
        pids[n] = p;
        mib[n] = m;
        n++;
        v += used;
        if (*v == ',')
            v++;
    }
    return n;
}

static nvmlReturn_t procs(nvmlDevice_t d, unsigned *count, void *buf, size_t stride)
{
    int i = index_of(d);
    if (i < 0 || !count)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_PROCS);
    if (inj)
        return inj;
    unsigned pids[256];
    unsigned long long mib[256];
    unsigned n = i == 0 ? parse_pids(pids, mib, 256) : 0;
    if (*count < n) {
        *count = n;
        return INSUFFICIENT_SIZE;
    }
    for (unsigned k = 0; k < n; k++) {
        proc_v2 e = {pids[k], mib[k] == 0 ? ~0ULL : mib[k] * MIB, 0, 0};
        memcpy((char *)buf + k * stride, &e, stride);
    }
    *count = n;
    return OK;
}
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned *count, void *buf);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned *count, void *buf)
{
    return procs(d, count, buf, sizeof(proc_v1));
}

#ifndef FAKE_NVML_OLD
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned *count, void *buf);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned *count, void *buf)
{
    return procs(d, count, buf, sizeof(proc_v2));
}
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *r);
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *r)
{
    return nvmlDeviceGetCurrentClocksThrottleReasons(d, r);
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj);
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_ENERGY);
    if (inj)
        return inj;
    if (!energy_started[i]) {
        const char *v = getenv("FAKE_NVML_ENERGY0");
        energy_mj[i] = v && *v ? strtoull(v, NULL, 10) : 1000000ULL;
        energy_started[i] = 1;
    } else {
        energy_mj[i] += 10; /* unsigned: wraps past 2^64 − 1 like the real counter would */
    }
    *mj = energy_mj[i];
    return OK;
}

typedef union {
    double dVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    signed int siVal;
    unsigned short usVal;
} value_t;
typedef struct {
    unsigned int fieldId, scopeId;
    long long timestamp, latencyUsec;
    int valueType;
    nvmlReturn_t nvmlReturn;
    value_t value;
} field_t;
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, field_t *f);
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, field_t *f)
{
    int i = index_of(d);
    if (i < 0)
        return INVALID_ARGUMENT;
    if (lost(i))
        return GPU_IS_LOST;
    nvmlReturn_t inj = injected(C_INSTANT);
    if (inj)
        return inj;
    for (int k = 0; k < n; k++) {
        if (f[k].fieldId != 186 || i > 0) {
            f[k].nvmlReturn = NOT_SUPPORTED;
            continue;
        }
        f[k].nvmlReturn = OK;
        f[k].valueType = 1;
        f[k].value.uiVal = 456789;
    }
    return OK;
}
#endif
