/*
 * gpu: backend choice and the pure helpers (energy deltas, process-tree matching, column names).
 */
#include "gpu/gpu_internal.h"

#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool none_read(struct ostel_gpu *g, unsigned i, bool with_procs,
                      struct ostel_gpu_reading *out)
{
    (void)g;
    (void)i;
    (void)with_procs;
    memset(out, 0, sizeof(*out));
    out->lost = true;
    return false;
}

static void none_close(struct ostel_gpu *g)
{
    (void)g;
}

static const struct ostel_gpu_ops none_ops = {"none", none_read, none_close};

struct ostel_gpu *ostel_gpu_open(const char *want, char *why, size_t why_size)
{
    struct ostel_gpu *g = ostel_xcalloc(1, sizeof(*g));
    g->ops = &none_ops;
    if (why && why_size)
        why[0] = '\0';
    if (want && strcmp(want, "none") == 0) {
        if (why && why_size)
            snprintf(why, why_size, "GPU telemetry off (OSTEL_GPU=none)");
        return g;
    }
    char tmp[256] = "";
    if (!ostel_gpu_nvml_open(g, tmp, sizeof(tmp))) {
        g->ops = &none_ops;
        g->n = 0;
        if (why && why_size)
            snprintf(why, why_size, "%s", tmp);
    }
    return g;
}

void ostel_gpu_close(struct ostel_gpu *g)
{
    if (!g)
        return;
    g->ops->close(g);
    free(g);
}

const char *ostel_gpu_backend_name(const struct ostel_gpu *g)
{
    return g->ops->name;
}

const char *ostel_gpu_library(const struct ostel_gpu *g)
{
    return g->library;
}

const char *ostel_gpu_driver_version(const struct ostel_gpu *g)
{
    return g->driver;
}

unsigned ostel_gpu_count(const struct ostel_gpu *g)
{
    return g->n;
}

const struct ostel_gpu_info *ostel_gpu_device_info(const struct ostel_gpu *g, unsigned i)
{
    return i < g->n ? &g->info[i] : NULL;
}

const struct ostel_gpu_caps *ostel_gpu_capabilities(const struct ostel_gpu *g)
{
    return &g->caps;
}

bool ostel_gpu_read(struct ostel_gpu *g, unsigned i, bool with_procs, struct ostel_gpu_reading *out)
{
    memset(out, 0, sizeof(*out));
    if (i >= g->n) {
        out->lost = true;
        return false;
    }
    return g->ops->read(g, i, with_procs, out);
}

bool ostel_gpu_energy_delta(uint64_t prev_mj, uint64_t cur_mj, double dt_s, double max_w,
                            double *out_j)
{
    if (!(dt_s > 0) || !(max_w >= 1))
        return false;
    uint64_t d = cur_mj - prev_mj; /* modular: a true 64-bit wrap comes out small */
    double j = (double)d / 1000.0;
    /* A little slack for the counter's own update period (20-100 ms). */
    if (j > max_w * (dt_s + 0.2))
        return false;
    *out_j = j;
    return true;
}

double ostel_gpu_tree_mem_mb(const struct ostel_gpu_proc *procs, size_t n, pid_t root,
                             pid_t (*parent_of)(pid_t pid, void *ctx), void *ctx, size_t *matched)
{
    double mb = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        pid_t p = (pid_t)procs[i].pid;
        bool ours = false;
        for (int step = 0; step < 64 && p > 0; step++) {
            if (p == root) {
                ours = true;
                break;
            }
            p = parent_of ? parent_of(p, ctx) : -1;
        }
        if (!ours)
            continue;
        m++;
        if (procs[i].used_valid)
            mb += (double)procs[i].used_bytes / 1048576.0;
    }
    if (matched)
        *matched = m;
    return mb;
}

/* ostel_gpu_query_memory's job: shared by the caller and the thread; the last one out frees it. */
struct mem_job {
    atomic_int refs;
    atomic_bool done;
    char want[16];
    unsigned n;
    struct ostel_gpu_mem dev[OSTEL_GPU_MAX_DEVICES];
    char why[256];
};

static void job_release(struct mem_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1)
        free(j);
}

static void *mem_job_main(void *arg)
{
    struct mem_job *j = arg;
    struct ostel_gpu *g = ostel_gpu_open(j->want, j->why, sizeof(j->why));
    unsigned n = ostel_gpu_count(g);
    for (unsigned i = 0; i < n; i++) {
        struct ostel_gpu_mem *m = &j->dev[i];
        const struct ostel_gpu_info *in = ostel_gpu_device_info(g, i);
        if (!in)
            continue;
        snprintf(m->name, sizeof(m->name), "%s", in->name);
        m->total_mb = in->mem_total_mb;
        m->free_mb = -1;
        struct ostel_gpu_reading *r = ostel_xcalloc(1, sizeof(*r));
        if (ostel_gpu_read(g, i, false, r)) {
            if (r->mem_free_valid)
                m->free_mb = r->mem_free_mb;
            if (ostel_gpu_has(r, OSTEL_GPU_MEM_TOTAL_MB))
                m->total_mb = r->v[OSTEL_GPU_MEM_TOTAL_MB];
        }
        free(r);
    }
    j->n = n;
    ostel_gpu_close(g);
    atomic_store(&j->done, true);
    job_release(j);
    return NULL;
}

unsigned ostel_gpu_query_memory(const char *want, double timeout_s, struct ostel_gpu_mem *out,
                                unsigned max, char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
    struct mem_job *j = ostel_xcalloc(1, sizeof(*j));
    atomic_init(&j->refs, 2);
    atomic_init(&j->done, false);
    snprintf(j->want, sizeof(j->want), "%s", want && *want ? want : "auto");
    pthread_t t;
    if (pthread_create(&t, NULL, mem_job_main, j) != 0) {
        if (why && why_size)
            snprintf(why, why_size, "cannot start a thread to ask NVML");
        free(j);
        return 0;
    }
    pthread_detach(t);
    double start = ostel_mono_s();
    for (;;) {
        if (atomic_load(&j->done))
            break;
        if (ostel_mono_s() - start >= timeout_s) {
            if (why && why_size)
                snprintf(why, why_size, "NVML did not answer within %.0f s", timeout_s);
            job_release(j); /* the thread, stuck in the driver, frees it if it ever returns */
            return 0;
        }
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
    }
    unsigned n = j->n;
    for (unsigned i = 0; i < n && i < max; i++)
        out[i] = j->dev[i];
    if (n == 0 && why && why_size)
        snprintf(why, why_size, "%s", j->why[0] ? j->why : "no GPU");
    job_release(j);
    return n;
}
