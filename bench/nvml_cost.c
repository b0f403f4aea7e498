/*
 * nvml_cost: what each NVML call ostel makes costs, per call, on this machine's GPU 0
 * (docs/gpu.md's table). dlopen's libnvidia-ml like ostel; times the first call and then REPS more
 * with CLOCK_MONOTONIC; prints a markdown table (first, median, p90, max in µs, and the answer),
 * then how often the total-energy counter changes. Build: cc -O2 -o nvml_cost bench/nvml_cost.c
 * -ldl Usage: nvml_cost [REPS (default 200)] [LABEL]
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int ret_t;
typedef void *dev_t_;
static void *lib;
static ret_t (*err_fn)(int);

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *estr(int rc)
{
    const char *(*f)(int) = (const char *(*)(int))dlsym(lib, "nvmlErrorString");
    return f ? f(rc) : "?";
}

struct mem2 {
    unsigned version;
    unsigned long long total, reserved, free, used;
};
struct fv {
    unsigned fieldId, scopeId;
    long long ts, lat;
    int type, ret;
    unsigned long long val;
};

static dev_t_ dev;
static unsigned char buf[1 << 16];

/* One call by index; returns the NVML return code. */
static int call(int k)
{
    unsigned u = 0, cnt;
    unsigned long long ull;
    switch (k) {
    case 0: {
        struct mem2 m = {sizeof(struct mem2) | 2u << 24, 0, 0, 0, 0};
        return ((ret_t(*)(dev_t_, void *))dlsym(lib, "nvmlDeviceGetMemoryInfo_v2"))(dev, &m);
    }
    case 1:
        return ((ret_t(*)(dev_t_, void *))dlsym(lib, "nvmlDeviceGetMemoryInfo"))(dev, buf);
    case 2:
        return ((ret_t(*)(dev_t_, void *))dlsym(lib, "nvmlDeviceGetUtilizationRates"))(dev, buf);
    case 3:
        return ((ret_t(*)(dev_t_, unsigned *))dlsym(lib, "nvmlDeviceGetPowerUsage"))(dev, &u);
    case 4: {
        struct fv f;
        memset(&f, 0, sizeof(f));
        f.fieldId = 186;
        int rc =
            ((ret_t(*)(dev_t_, int, void *))dlsym(lib, "nvmlDeviceGetFieldValues"))(dev, 1, &f);
        return rc ? rc : f.ret;
    }
    case 5:
        return ((ret_t(*)(dev_t_, unsigned long long *))dlsym(
            lib, "nvmlDeviceGetTotalEnergyConsumption"))(dev, &ull);
    case 6:
        return ((ret_t(*)(dev_t_, int, unsigned *))dlsym(lib, "nvmlDeviceGetClockInfo"))(dev, 1,
                                                                                         &u);
    case 7:
        return ((ret_t(*)(dev_t_, int, unsigned *))dlsym(lib, "nvmlDeviceGetClockInfo"))(dev, 2,
                                                                                         &u);
    case 8:
        return ((ret_t(*)(dev_t_, int, unsigned *))dlsym(lib, "nvmlDeviceGetTemperature"))(dev, 0,
                                                                                           &u);
    case 9:
        return ((ret_t(*)(dev_t_, unsigned long long *))dlsym(
            lib, "nvmlDeviceGetCurrentClocksEventReasons"))(dev, &ull);
    case 10:
        cnt = 64;
        return ((ret_t(*)(dev_t_, unsigned *, void *))dlsym(
            lib, "nvmlDeviceGetComputeRunningProcesses_v3"))(dev, &cnt, buf);
    case 11:
        cnt = 64;
        return ((ret_t(*)(dev_t_, void *, unsigned *, unsigned long long))dlsym(
            lib, "nvmlDeviceGetProcessUtilization"))(dev, buf, &cnt, 0);
    case 12:
        return ((ret_t(*)(dev_t_, int, unsigned *))dlsym(lib, "nvmlDeviceGetPcieThroughput"))(
            dev, 0, &u);
    }
    return -1;
}

static const char *const names[] = {"nvmlDeviceGetMemoryInfo_v2",
                                    "nvmlDeviceGetMemoryInfo",
                                    "nvmlDeviceGetUtilizationRates",
                                    "nvmlDeviceGetPowerUsage",
                                    "nvmlDeviceGetFieldValues(POWER_INSTANT)",
                                    "nvmlDeviceGetTotalEnergyConsumption",
                                    "nvmlDeviceGetClockInfo(SM)",
                                    "nvmlDeviceGetClockInfo(MEM)",
                                    "nvmlDeviceGetTemperature",
                                    "nvmlDeviceGetCurrentClocksEventReasons",
                                    "nvmlDeviceGetComputeRunningProcesses_v3",
                                    "nvmlDeviceGetProcessUtilization",
                                    "nvmlDeviceGetPcieThroughput(TX)"};

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 200;
    const char *label = argc > 2 ? argv[2] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "nvml_cost: %s\n", dlerror());
        return 1;
    }
    (void)err_fn;
    double t0 = now_us();
    int rc = ((ret_t(*)(void))dlsym(lib, "nvmlInit_v2"))();
    double t_init = now_us() - t0;
    if (rc) {
        fprintf(stderr, "nvml_cost: nvmlInit_v2: %s\n", estr(rc));
        return 1;
    }
    ((ret_t(*)(unsigned, dev_t_ *))dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"))(0, &dev);
    printf("\n### NVML call costs %s (µs; nvmlInit_v2 took %.0f µs)\n\n", label, t_init);
    printf("| call | first | median | p90 | max | n | answer |\n| --- | ---: | ---: | ---: | ---: "
           "| ---: | --- |\n");
    double *t = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
    for (int k = 0; k < (int)(sizeof(names) / sizeof(names[0])); k++) {
        char sym[96];
        snprintf(sym, sizeof(sym), "%s", names[k]);
        if (strchr(sym, '('))
            *strchr(sym, '(') = '\0';
        if (!dlsym(lib, sym)) {
            printf("| %s | | | | | 0 | symbol missing |\n", names[k]);
            continue;
        }
        double a = now_us();
        int r0 = call(k);
        double first = now_us() - a;
        int n = k == 12 ? (reps < 20 ? reps : 20) : reps;
        for (int i = 0; i < n; i++) {
            a = now_us();
            call(k);
            t[i] = now_us() - a;
        }
        qsort(t, (size_t)n, sizeof(double), cmp);
        printf("| %s | %.1f | %.1f | %.1f | %.1f | %d | %s |\n", names[k], first, n ? t[n / 2] : 0,
               n ? t[(n * 9) / 10] : 0, n ? t[n - 1] : 0, n, estr(r0));
    }
    /* How often the energy counter moves: poll it every ~1 ms for 2 s. */
    ret_t (*en)(dev_t_, unsigned long long *) =
        (ret_t(*)(dev_t_, unsigned long long *))dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption");
    if (en) {
        unsigned long long prev = 0, v;
        int changes = 0;
        double start = now_us(), last_change = 0, sum_gap = 0;
        en(dev, &prev);
        while (now_us() - start < 2e6) {
            struct timespec s = {0, 1000000};
            nanosleep(&s, NULL);
            if (en(dev, &v) == 0 && v != prev) {
                double tt = now_us();
                if (last_change > 0)
                    sum_gap += tt - last_change;
                last_change = tt;
                changes++;
                prev = v;
            }
        }
        printf("\nenergy counter: %d changes in 2 s (mean gap %.1f ms)\n", changes,
               changes > 1 ? sum_gap / (changes - 1) / 1000 : 0);
    }
    free(t);
    ((ret_t(*)(void))dlsym(lib, "nvmlShutdown"))();
    return 0;
}
