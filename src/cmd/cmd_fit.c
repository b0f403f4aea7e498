/*
 * cmd_fit: `ostel fit -m MODEL [-m MODEL...] -c CTX` predicts what llama.cpp will allocate for a
 * model at a context (src/llama/memmodel.c) and holds it against what this machine has: RAM,
 * MemAvailable and swap from the platform layer; on Metal the GPU working-set limit. It gives a
 * verdict (fits / tight / does not fit), the largest context that fits and, with --ctx-sweep, a
 * table of memory against context. --compare LOG holds the prediction against a llama.cpp log.
 *
 * Devices are a list with capacities: the host, then on CUDA one entry per NVIDIA GPU with NVML's
 * free memory as its budget (read through src/gpu/ on a thread, at most FIT_NVML_TIMEOUT_S;
 * --gpu-mem overrides with one GPU of that size; OSTEL_GPU=none skips NVML). Every CUDA device's
 * need includes the CUDA runtime's per-process overhead (OSTEL_GPU_CUDA_OVERHEAD_MIB, gpu.h) with
 * its error bar.
 */
#include "cmd/cmd.h"
#include "gpu/gpu.h"
#include "llama/ggml_types.h"
#include "llama/gguf_facts.h"
#include "llama/logparse.h"
#include "llama/memmodel.h"
#include "platform/platform.h"
#include "util/fileio.h"
#include "util/opt.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)
#define FIT_MAX_MODELS 32
/* "tight": the need lies within the last FIT_TIGHT_PCT % of a device's budget */
#define FIT_TIGHT_PCT 10.0
/* the host and at most this many GPUs */
#define FIT_MAX_GPUS 16
#define FIT_MAX_DEV (1 + FIT_MAX_GPUS)
/* how long NVML may take to answer before fit goes on without it (a stuck driver) */
#define FIT_NVML_TIMEOUT_S 5.0

enum {
    OPT_COMPARE = 256,
    OPT_CTK,
    OPT_CTV,
    OPT_SWEEP,
    OPT_DEVICE,
    OPT_FA,
    OPT_GPU_MEM,
    OPT_JSON,
    OPT_NGL,
    OPT_NO_MMAP,
    OPT_PARALLEL,
    OPT_UBATCH,
};

/* Sorted by long name. */
static const struct ostel_option options[] = {
    {OPT_COMPARE, "compare", "LOG", NULL, "hold the prediction against a llama.cpp log of a run"},
    {'c', "ctx", "N", "OSTEL_FIT_CTX", "context size (default 4096; 0 = the trained context)"},
    {OPT_CTK, "ctk", "TYPE", NULL, "K cache type: f16 (default), q8_0, q4_0, bf16, f32, ..."},
    {OPT_SWEEP, "ctx-sweep", NULL, NULL, "memory against context, 1k to the trained context"},
    {OPT_CTV, "ctv", "TYPE", NULL, "V cache type (quantized needs flash attention)"},
    {OPT_DEVICE, "device", "DEV", "OSTEL_FIT_DEVICE", "auto (default), cpu, cuda or metal"},
    {OPT_FA, "flash-attn", "on|off|auto", NULL, "flash attention as llama.cpp's -fa (auto)"},
    {OPT_GPU_MEM, "gpu-mem", "SIZE", "OSTEL_FIT_GPU_MEM", "GPU memory for --device cuda (\"24G\")"},
    {OPT_JSON, "json", NULL, NULL, "print JSON"},
    {'m', "model", "FILE", NULL, "a GGUF model (repeat to compare quantizations)"},
    {OPT_NGL, "ngl", "N", NULL, "layers offloaded to the GPU, as llama.cpp's -ngl (all)"},
    {OPT_NO_MMAP, "no-mmap", NULL, NULL, "llama.cpp run with --no-mmap"},
    {OPT_PARALLEL, "parallel", "N", NULL, "parallel sequences, as llama.cpp's -np (1)"},
    {OPT_UBATCH, "ubatch", "N", NULL, "physical batch, as llama.cpp's -ub (512)"},
};

static const struct ostel_command_help help = {
    "fit", "-m MODEL [-m MODEL...] [-c CTX] [--ngl N] [--ctk T --ctv T] [--device D] [--json]",
    "predict a model's memory at a context and whether it fits this machine",
    "llama.cpp's own spellings -ngl, -ctk, -ctv, -fa, -np and -ub are accepted too.\n"
    "Verdicts: 'fits' below 90% of a device's budget, 'tight' within its last 10%, else 'does\n"
    "not fit'. The host budget is MemAvailable, or the room left in ostel's memory cgroup\n"
    "(limit - usage) where that is less; on Metal the GPU budget is iogpu.wired_limit_mb\n"
    "when set, else macOS's default working set (2/3 of RAM up to 36 GiB, 3/4 above).\n"
    "On CUDA each NVIDIA GPU's budget is NVML's free memory (--gpu-mem overrides;\n"
    "OSTEL_GPU=none skips NVML), and each GPU's need includes the CUDA runtime's own\n"
    "overhead (context, cuBLAS workspace) with its error bar.\n"
    "See docs/fit.md for the formulas and their accuracy."};

struct fit_args {
    const char *models[FIT_MAX_MODELS];
    size_t n_models;
    struct ostel_memmodel_params p;
    const char *device;
    const char *compare;
    uint64_t gpu_mem;
    bool json, sweep;
};

static int parse_u32(const char *arg, const char *what, int64_t min, int64_t max, int64_t *out)
{
    if (!ostel_parse_i64(arg, min, max, out))
        return ostel_error("bad --%s '%s' (an integer from %lld to %lld)", what, arg,
                           (long long)min, (long long)max);
    return 0;
}

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct fit_args *a = ctx;
    int64_t v;
    int t;
    (void)source;
    switch (id) {
    case 'c':
        if (parse_u32(arg, "ctx", 0, 1 << 30, &v))
            return OSTEL_ERR;
        a->p.n_ctx = (uint32_t)v;
        return 0;
    case 'm':
        if (a->n_models >= FIT_MAX_MODELS)
            return ostel_error("at most %d models", FIT_MAX_MODELS);
        a->models[a->n_models++] = arg;
        return 0;
    case OPT_COMPARE:
        a->compare = arg;
        return 0;
    case OPT_CTK:
    case OPT_CTV:
        t = ostel_memmodel_cache_type(arg);
        if (t < 0)
            return ostel_error("bad cache type '%s' (f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, "
                               "q5_0, q5_1)",
                               arg);
        if (id == OPT_CTK)
            a->p.type_k = (uint32_t)t;
        else
            a->p.type_v = (uint32_t)t;
        return 0;
    case OPT_SWEEP:
        a->sweep = true;
        return 0;
    case OPT_DEVICE:
        if (strcmp(arg, "auto") && strcmp(arg, "cpu") && strcmp(arg, "cuda") &&
            strcmp(arg, "metal"))
            return ostel_error("bad --device '%s' (auto, cpu, cuda or metal)", arg);
        a->device = arg;
        return 0;
    case OPT_FA:
        if (strcmp(arg, "on") == 0 || strcmp(arg, "1") == 0)
            a->p.flash_attn = 1;
        else if (strcmp(arg, "off") == 0 || strcmp(arg, "0") == 0)
            a->p.flash_attn = 0;
        else if (strcmp(arg, "auto") == 0)
            a->p.flash_attn = -1;
        else
            return ostel_error("bad --flash-attn '%s' (on, off or auto)", arg);
        return 0;
    case OPT_GPU_MEM:
        if (!ostel_parse_size_bytes(arg, &a->gpu_mem) || a->gpu_mem == 0)
            return ostel_error("bad --gpu-mem '%s' (a size such as 24G)", arg);
        return 0;
    case OPT_JSON:
        a->json = true;
        return 0;
    case OPT_NGL:
        if (parse_u32(arg, "ngl", -1, 100000, &v))
            return OSTEL_ERR;
        a->p.ngl = (int)v;
        return 0;
    case OPT_NO_MMAP:
        a->p.no_mmap = true;
        return 0;
    case OPT_PARALLEL:
        if (parse_u32(arg, "parallel", 1, 4096, &v))
            return OSTEL_ERR;
        a->p.n_seq = (uint32_t)v;
        return 0;
    case OPT_UBATCH:
        if (parse_u32(arg, "ubatch", 1, 1 << 20, &v))
            return OSTEL_ERR;
        a->p.n_ubatch = (uint32_t)v;
        return 0;
    default:
        return OSTEL_ERR;
    }
}

/* ---- this machine ---- */

struct fit_device {
    const char *name;       /* "host", "gpu", or "gpu0", "gpu1"... on several NVIDIA GPUs */
    const char *budget_src; /* where the budget comes from */
    uint64_t capacity;      /* bytes; 0 = unknown */
    uint64_t budget;        /* bytes usable now; 0 = unknown */
    bool cuda;              /* a CUDA device: its need includes the runtime's overhead */
    double share;   /* CUDA: its part of the GPU buffers (llama.cpp splits by free memory) */
    int nvml_index; /* NVML's index, or -1 */
    char label[16], gpu_name[96], src[320];
};

struct fit_machine {
    enum ostel_memmodel_backend backend;
    uint32_t cpu_features;
    uint64_t ram, avail, swap_total, swap_free;
    struct ostel_platform_cgroup cg; /* the memory cgroup ostel runs in (version 0: none) */
    char host_src[160];              /* the host budget's source (ostel_platform_choose_budget) */
    size_t n_dev;
    struct fit_device dev[FIT_MAX_DEV];
    char nvml_why[256]; /* why NVML gave no budget, or "" */
};

/* The host CPU's features (platform/cpu_features.c) as the memory model's repack flags. */
static uint32_t host_cpu_features(void)
{
    uint32_t c = ostel_platform_cpu_features(), f = 0;
    if (c & OSTEL_PLATFORM_CPU_AVX2)
        f |= OSTEL_MEMMODEL_CPU_AVX2;
    if (c & OSTEL_PLATFORM_CPU_AVX512)
        f |= OSTEL_MEMMODEL_CPU_AVX512;
    if (c & OSTEL_PLATFORM_CPU_NEON_DOTPROD)
        f |= OSTEL_MEMMODEL_CPU_NEON_DOTPROD;
    return f;
}

/* The host's RAM, available memory and swap. */
static void machine_read_memory(struct fit_machine *m, const struct ostel_platform_host *h)
{
    if (h->valid & (1u << OSTEL_PLATFORM_HOST_RAM))
        m->ram = h->ram_bytes;
    char err[256];
    struct ostel_platform *pl = ostel_platform_open(getpid(), 1, err, sizeof(err));
    if (pl) {
        struct ostel_platform_sample s;
        ostel_platform_sample(pl, &s);
        if (ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_MEM_AVAIL))
            m->avail = s.mem_avail_bytes;
        if (ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_MEM_TOTAL) && !m->ram)
            m->ram = s.mem_total_bytes;
        if (ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_SWAP_TOTAL))
            m->swap_total = s.swap_total_bytes;
        if (ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_SWAP_FREE))
            m->swap_free = s.swap_free_bytes;
        ostel_platform_close(pl);
    }
}

/* Apple silicon's GPU: its budget is iogpu.wired_limit_mb where set, else macOS's default. */
static void machine_add_metal(struct fit_machine *m, const struct ostel_platform_host *h)
{
    struct fit_device *g = &m->dev[m->n_dev++];
    g->name = "gpu";
    if (h->gpu_wired_limit_bytes) {
        g->capacity = h->gpu_wired_limit_bytes;
        g->budget_src = "iogpu.wired_limit_mb";
    } else {
        /* macOS's recommendedMaxWorkingSetSize: about 2/3 of RAM up to 36 GiB, 3/4 above */
        g->capacity = m->ram <= (36ull << 30) ? m->ram / 3 * 2 : m->ram / 4 * 3;
        g->budget_src = "default working set";
    }
    g->budget = g->capacity;
}

/* CUDA's GPUs: one of --gpu-mem's size (or of unknown size), else each of NVML's n_gm with free
 * memory. */
static void machine_add_cuda(struct fit_machine *m, const struct ostel_gpu_mem *gm, unsigned n_gm,
                             uint64_t gpu_mem)
{
    double free_sum = 0;
    for (unsigned i = 0; i < n_gm; i++)
        if (gm[i].free_mb > 0)
            free_sum += gm[i].free_mb;
    if (gpu_mem || free_sum <= 0) { /* one GPU of the size given, or of unknown size */
        struct fit_device *g = &m->dev[m->n_dev++];
        g->name = "gpu";
        g->cuda = true;
        g->share = 1;
        g->nvml_index = -1;
        g->capacity = g->budget = gpu_mem;
        if (gpu_mem)
            g->budget_src = "--gpu-mem";
        else {
            snprintf(g->src, sizeof(g->src), "unknown (give --gpu-mem)%s%s",
                     m->nvml_why[0] ? ": " : "", m->nvml_why);
            g->budget_src = g->src;
        }
        return;
    }
    /* llama.cpp's default split (--split-mode layer) gives each GPU a part of the layers in
     * proportion to its free memory; each process also pays the runtime's overhead on each
     */
    for (unsigned i = 0; i < n_gm; i++) {
        if (!(gm[i].free_mb > 0))
            continue;
        struct fit_device *g = &m->dev[m->n_dev++];
        g->cuda = true;
        g->nvml_index = (int)i;
        g->share = gm[i].free_mb / free_sum;
        if (n_gm == 1)
            snprintf(g->label, sizeof(g->label), "gpu");
        else
            snprintf(g->label, sizeof(g->label), "gpu%u", i);
        g->name = g->label;
        /* a device name longer than the field is cut, as nvidia-smi's columns do */
        snprintf(g->gpu_name, sizeof(g->gpu_name), "%.*s", (int)sizeof(g->gpu_name) - 1,
                 gm[i].name);
        g->capacity = g->budget = (uint64_t)(gm[i].free_mb * 1048576.0);
        snprintf(g->src, sizeof(g->src), "NVML free on GPU %u (%.*s)", i,
                 (int)sizeof(g->gpu_name) - 1, gm[i].name);
        g->budget_src = g->src;
    }
}

static void machine_read(struct fit_machine *m, const char *device, uint64_t gpu_mem)
{
    memset(m, 0, sizeof(*m));
    struct ostel_platform_host h;
    ostel_platform_host_read(&h);
    machine_read_memory(m, &h);
    /* NVIDIA GPUs (NVML answers): their free memory is the GPU budget unless --gpu-mem says. */
    struct ostel_gpu_mem gm[FIT_MAX_GPUS];
    unsigned n_gm = 0;
    const char *want = getenv("OSTEL_GPU");
    bool apple = strcmp(h.os, "Darwin") == 0 && strcmp(h.machine, "arm64") == 0;
    if (want && strcmp(want, "none") == 0)
        snprintf(m->nvml_why, sizeof(m->nvml_why), "OSTEL_GPU=none");
    else if (!apple && (!device || strcmp(device, "auto") == 0 || strcmp(device, "cuda") == 0))
        n_gm = ostel_gpu_query_memory(want, FIT_NVML_TIMEOUT_S, gm, FIT_MAX_GPUS, m->nvml_why,
                                      sizeof(m->nvml_why));
    if (n_gm > FIT_MAX_GPUS)
        n_gm = FIT_MAX_GPUS;
    if (!device || strcmp(device, "auto") == 0)
        device = apple ? "metal" : n_gm > 0 ? "cuda" : "cpu";
    m->backend = strcmp(device, "metal") == 0  ? OSTEL_MEMMODEL_BACKEND_METAL
                 : strcmp(device, "cuda") == 0 ? OSTEL_MEMMODEL_BACKEND_CUDA
                                               : OSTEL_MEMMODEL_BACKEND_CPU;
    m->cpu_features = host_cpu_features();
    m->n_dev = 1;
    m->dev[0].name = "host";
    m->dev[0].capacity = m->ram;
    /* Inside a container or a systemd slice the cgroup's room is what a run may use. */
    ostel_platform_cgroup_read(0, &m->cg);
    struct ostel_platform_budget b;
    ostel_platform_choose_budget(m->avail, m->ram, &m->cg, &b);
    snprintf(m->host_src, sizeof(m->host_src), "%s", b.src);
    m->dev[0].budget = b.bytes;
    m->dev[0].budget_src = m->host_src;
    if (m->backend == OSTEL_MEMMODEL_BACKEND_METAL)
        machine_add_metal(m, &h);
    else if (m->backend == OSTEL_MEMMODEL_BACKEND_CUDA)
        machine_add_cuda(m, gm, n_gm, gpu_mem);
}

/* ---- verdicts ---- */

enum verdict { V_UNKNOWN, V_FITS, V_TIGHT, V_NO };

static const char *verdict_name(enum verdict v)
{
    switch (v) {
    case V_FITS:
        return "fits";
    case V_TIGHT:
        return "tight";
    case V_NO:
        return "does not fit";
    default:
        return "unknown";
    }
}

static enum verdict verdict_of(uint64_t need, uint64_t budget)
{
    if (!budget)
        return V_UNKNOWN;
    if (need > budget)
        return V_NO;
    if ((double)need > budget * (1.0 - FIT_TIGHT_PCT / 100.0))
        return V_TIGHT;
    return V_FITS;
}

/* What each device of the machine must hold. On Metal the host holds everything (unified). On CUDA
 * each GPU holds its share of llama.cpp's GPU buffers plus the runtime's overhead
 * (OSTEL_GPU_CUDA_OVERHEAD_MIB) when it holds anything. */
static void needs_of(const struct fit_machine *m, const struct ostel_memmodel_result *r,
                     uint64_t need[FIT_MAX_DEV])
{
    for (size_t d = 0; d < FIT_MAX_DEV; d++)
        need[d] = 0;
    need[0] = r->dev[0].total_bytes;
    if (m->backend == OSTEL_MEMMODEL_BACKEND_METAL) {
        need[1] = r->dev[1].total_bytes;
        need[0] =
            r->model_bytes + r->repack_bytes + r->kv_bytes + r->compute_bytes + r->output_bytes;
    } else if (m->backend == OSTEL_MEMMODEL_BACKEND_CUDA) {
        for (size_t d = 1; d < m->n_dev; d++) {
            double part = (double)r->dev[1].total_bytes * m->dev[d].share;
            if (part > 0)
                part += OSTEL_GPU_CUDA_OVERHEAD_MIB * MIB;
            need[d] = (uint64_t)part;
        }
    }
}

/* The sum of the GPUs' needs. */
static uint64_t gpu_need_sum(const struct fit_machine *m, const uint64_t need[FIT_MAX_DEV])
{
    uint64_t s = 0;
    for (size_t d = 1; d < m->n_dev; d++)
        s += need[d];
    return s;
}

static enum verdict overall(const struct fit_machine *m, const struct ostel_memmodel_result *r,
                            enum verdict per[FIT_MAX_DEV])
{
    uint64_t need[FIT_MAX_DEV];
    needs_of(m, r, need);
    enum verdict worst = V_FITS;
    for (size_t d = 0; d < m->n_dev; d++) {
        per[d] = verdict_of(need[d], m->dev[d].budget);
        /* within the overhead's error bar of the budget: tight, not fits */
        if (per[d] == V_FITS && m->dev[d].cuda && need[d] &&
            (double)need[d] + OSTEL_GPU_CUDA_OVERHEAD_ERR_MIB * MIB > (double)m->dev[d].budget)
            per[d] = V_TIGHT;
        if (per[d] == V_NO || (per[d] == V_UNKNOWN && worst != V_NO) ||
            (per[d] == V_TIGHT && worst == V_FITS))
            worst = per[d];
    }
    return worst;
}

/* The largest context (a multiple of 256, at most the trained context) whose verdict is "fits";
 * 0 when none. */
static uint32_t largest_fitting_ctx(const struct fit_machine *m,
                                    const struct ostel_memmodel_shape *s,
                                    const struct ostel_memmodel_params *base)
{
    uint32_t hi_units = (s->n_ctx_train ? s->n_ctx_train : 131072) / 256;
    uint32_t lo = 0, hi = hi_units; /* invariant: lo fits (0 = none), answer in [lo, hi] */
    struct ostel_memmodel_params p = *base;
    char err[256];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        p.n_ctx = mid * 256;
        struct ostel_memmodel_result r;
        enum verdict per[FIT_MAX_DEV];
        if (ostel_memmodel_predict(s, &p, &r, err, sizeof(err)) == 0 &&
            overall(m, &r, per) == V_FITS)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo * 256;
}

/* ---- output ---- */

struct fit_model {
    const char *path;
    struct ostel_memmodel_shape shape;
    char name[128];
    char ftype[64];
    struct ostel_memmodel_result r;
    enum verdict v, per[FIT_MAX_DEV];
    uint32_t max_ctx;
};

static const char *backend_name(enum ostel_memmodel_backend b)
{
    return b == OSTEL_MEMMODEL_BACKEND_METAL  ? "metal"
           : b == OSTEL_MEMMODEL_BACKEND_CUDA ? "cuda"
                                              : "cpu";
}

static void print_mib_row(const char *label, const struct ostel_memmodel_result *r, size_t n_dev,
                          uint64_t (*get)(const struct ostel_memmodel_device *))
{
    printf("  %-22s", label);
    for (size_t d = 0; d < n_dev; d++)
        printf(" %12.1f", get(&r->dev[d]) / MIB);
    printf("\n");
}

static uint64_t g_model(const struct ostel_memmodel_device *d)
{
    return d->model_bytes;
}
static uint64_t g_repack(const struct ostel_memmodel_device *d)
{
    return d->repack_bytes;
}
static uint64_t g_kv(const struct ostel_memmodel_device *d)
{
    return d->kv_bytes;
}
static uint64_t g_compute(const struct ostel_memmodel_device *d)
{
    return d->compute_bytes;
}
static uint64_t g_output(const struct ostel_memmodel_device *d)
{
    return d->output_bytes;
}
static uint64_t g_total(const struct ostel_memmodel_device *d)
{
    return d->total_bytes;
}

static void print_model(const struct fit_machine *m, const struct fit_model *fm,
                        const struct ostel_memmodel_params *p)
{
    const struct ostel_memmodel_result *r = &fm->r;
    printf("model    %s\n         %s, %s, %.2f GiB, %u layers, trained context %u\n", fm->path,
           fm->shape.arch, fm->ftype, fm->shape.total_bytes / (MIB * 1024), fm->shape.n_layer,
           fm->shape.n_ctx_train);
    printf("context  %u (per sequence %u), cache %s/%s, flash attention %s, device %s, "
           "layers on GPU %u/%u%s\n\n",
           r->n_ctx, r->n_ctx_seq, ostel_ggml_type_name(p->type_k), ostel_ggml_type_name(p->type_v),
           r->flash_attn ? "on" : "off", backend_name(m->backend), r->layers_gpu, fm->shape.n_layer,
           r->output_on_gpu ? " + output" : "");
    printf("  %-22s", "MiB");
    for (size_t d = 0; d < r->n_dev; d++)
        printf(" %12s", r->dev[d].name);
    printf("\n");
    print_mib_row(m->backend == OSTEL_MEMMODEL_BACKEND_CUDA ? "weights" : "weights (mapped)", r,
                  r->n_dev, g_model);
    if (r->repack_bytes)
        print_mib_row("weights repacked (CPU)", r, r->n_dev, g_repack);
    print_mib_row("KV cache", r, r->n_dev, g_kv);
    print_mib_row("compute buffers", r, r->n_dev, g_compute);
    print_mib_row("output (logits)", r, r->n_dev, g_output);
    print_mib_row("total", r, r->n_dev, g_total);
    uint64_t need[FIT_MAX_DEV];
    needs_of(m, r, need);
    printf("\n");
    for (size_t d = 0; d < m->n_dev; d++) {
        const struct fit_device *dv = &m->dev[d];
        if (dv->budget)
            printf("  %-5s needs %.0f MiB of %.0f MiB (%s): %s\n", dv->name, need[d] / MIB,
                   dv->budget / MIB, dv->budget_src, verdict_name(fm->per[d]));
        else
            printf("  %-5s needs %.0f MiB; budget %s\n", dv->name, need[d] / MIB, dv->budget_src);
    }
    if (m->backend == OSTEL_MEMMODEL_BACKEND_CUDA) {
        printf("  each GPU's need includes the CUDA runtime's %.0f ± %.0f MiB (context, cuBLAS; "
               "docs/gpu.md)\n",
               OSTEL_GPU_CUDA_OVERHEAD_MIB, OSTEL_GPU_CUDA_OVERHEAD_ERR_MIB);
        if (m->n_dev > 2)
            printf("  the GPU buffers are split in proportion to free memory, as llama.cpp's "
                   "default split (whole layers: ± one layer per GPU)\n");
    }
    if (m->swap_total && fm->per[0] != V_FITS)
        printf("  swap: %.0f MiB free of %.0f MiB (a run past RAM pages to it, slowly)\n",
               m->swap_free / MIB, m->swap_total / MIB);
    printf("\nverdict  %s", verdict_name(fm->v));
    if (fm->max_ctx)
        printf("; largest context that fits: %u", fm->max_ctx);
    else if (fm->v != V_UNKNOWN)
        printf("; no context fits");
    printf("\n");
    if (r->note[0])
        printf("note     %s\n", r->note);
}

static cJSON *machine_json(const struct fit_machine *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "backend", backend_name(m->backend));
    cJSON_AddNumberToObject(o, "ram_mib", m->ram / MIB);
    if (m->avail)
        cJSON_AddNumberToObject(o, "mem_available_mib", m->avail / MIB);
    else
        cJSON_AddNullToObject(o, "mem_available_mib");
    if (m->cg.version) {
        cJSON *cg = cJSON_AddObjectToObject(o, "cgroup");
        cJSON_AddNumberToObject(cg, "version", m->cg.version);
        cJSON_AddStringToObject(cg, "path", m->cg.path);
        if (m->cg.limited) {
            cJSON_AddNumberToObject(cg, "limit_mib", m->cg.limit_bytes / MIB);
            cJSON_AddStringToObject(cg, "limit_source", m->cg.limit_src);
        } else {
            cJSON_AddNullToObject(cg, "limit_mib");
            cJSON_AddNullToObject(cg, "limit_source");
        }
        if (m->cg.has_usage)
            cJSON_AddNumberToObject(cg, "usage_mib", m->cg.usage_bytes / MIB);
        else
            cJSON_AddNullToObject(cg, "usage_mib");
    } else {
        cJSON_AddNullToObject(o, "cgroup");
    }
    cJSON_AddNumberToObject(o, "swap_total_mib", m->swap_total / MIB);
    cJSON_AddNumberToObject(o, "swap_free_mib", m->swap_free / MIB);
    cJSON *devs = cJSON_AddArrayToObject(o, "devices");
    for (size_t d = 0; d < m->n_dev; d++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "device", m->dev[d].name);
        if (m->dev[d].budget)
            cJSON_AddNumberToObject(j, "budget_mib", m->dev[d].budget / MIB);
        else
            cJSON_AddNullToObject(j, "budget_mib");
        cJSON_AddStringToObject(j, "budget_source", m->dev[d].budget_src);
        if (m->dev[d].cuda) {
            if (m->dev[d].nvml_index >= 0) {
                cJSON_AddNumberToObject(j, "nvml_index", m->dev[d].nvml_index);
                cJSON_AddStringToObject(j, "name", m->dev[d].gpu_name);
            } else {
                cJSON_AddNullToObject(j, "nvml_index");
                cJSON_AddNullToObject(j, "name");
            }
            cJSON_AddNumberToObject(j, "share", m->dev[d].share);
        }
        cJSON_AddItemToArray(devs, j);
    }
    if (m->backend == OSTEL_MEMMODEL_BACKEND_CUDA) {
        cJSON_AddNumberToObject(o, "cuda_overhead_mib", OSTEL_GPU_CUDA_OVERHEAD_MIB);
        cJSON_AddNumberToObject(o, "cuda_overhead_err_mib", OSTEL_GPU_CUDA_OVERHEAD_ERR_MIB);
    } else {
        cJSON_AddNullToObject(o, "cuda_overhead_mib");
        cJSON_AddNullToObject(o, "cuda_overhead_err_mib");
    }
    if (m->nvml_why[0])
        cJSON_AddStringToObject(o, "nvml", m->nvml_why);
    else
        cJSON_AddNullToObject(o, "nvml");
    cJSON_AddNumberToObject(o, "tight_pct", FIT_TIGHT_PCT);
    return o;
}

/* Contexts of the sweep: 1k, 2k, 4k... below the trained context, then the trained context. */
static size_t sweep_contexts(uint32_t n_ctx_train, uint32_t *out, size_t max)
{
    size_t n = 0;
    uint32_t top = n_ctx_train ? n_ctx_train : 131072;
    for (uint64_t c = 1024; c < top && n + 1 < max; c *= 2)
        out[n++] = (uint32_t)c;
    out[n++] = top;
    return n;
}

static cJSON *sweep_json(const struct fit_machine *m, const struct fit_model *fm,
                         const struct ostel_memmodel_params *base, bool print)
{
    uint32_t ctxs[40];
    size_t n = sweep_contexts(fm->shape.n_ctx_train, ctxs, OSTEL_ARRAY_LEN(ctxs));
    cJSON *arr = cJSON_CreateArray();
    if (print) {
        printf("\n  %8s %10s %10s %10s %10s %10s  %s\n", "context", "weights", "KV", "compute",
               "host", m->n_dev > 1 ? "gpu" : "", "verdict");
    }
    for (size_t i = 0; i < n; i++) {
        struct ostel_memmodel_params p = *base;
        p.n_ctx = ctxs[i];
        struct ostel_memmodel_result r;
        char err[256];
        if (ostel_memmodel_predict(&fm->shape, &p, &r, err, sizeof(err)) != 0)
            continue;
        enum verdict per[FIT_MAX_DEV];
        enum verdict v = overall(m, &r, per);
        uint64_t need[FIT_MAX_DEV];
        needs_of(m, &r, need);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "n_ctx", r.n_ctx);
        cJSON_AddNumberToObject(j, "model_mib", (r.model_bytes + r.repack_bytes) / MIB);
        cJSON_AddNumberToObject(j, "kv_mib", r.kv_bytes / MIB);
        cJSON_AddNumberToObject(j, "compute_mib", r.compute_bytes / MIB);
        cJSON_AddNumberToObject(j, "host_mib", need[0] / MIB);
        if (m->n_dev > 1)
            cJSON_AddNumberToObject(j, "gpu_mib", gpu_need_sum(m, need) / MIB);
        else
            cJSON_AddNullToObject(j, "gpu_mib");
        if (m->n_dev > 2) {
            cJSON *pg = cJSON_AddArrayToObject(j, "gpu_mib_per_device");
            for (size_t d = 1; d < m->n_dev; d++)
                cJSON_AddItemToArray(pg, cJSON_CreateNumber(need[d] / MIB));
        }
        cJSON_AddStringToObject(j, "verdict", verdict_name(v));
        cJSON_AddItemToArray(arr, j);
        if (print) {
            printf("  %8u %10.0f %10.0f %10.0f %10.0f ", r.n_ctx,
                   (r.model_bytes + r.repack_bytes) / MIB, r.kv_bytes / MIB, r.compute_bytes / MIB,
                   need[0] / MIB);
            if (m->n_dev > 1)
                printf("%10.0f", gpu_need_sum(m, need) / MIB);
            else
                printf("%10s", "");
            printf("  %s\n", verdict_name(v));
        }
    }
    return arr;
}

static int load_model(struct fit_model *fm, const char *path)
{
    memset(fm, 0, sizeof(*fm));
    fm->path = path;
    struct ostel_gguf g;
    memset(&g, 0, sizeof(g));
    char err[256];
    if (ostel_gguf_read_file(&g, path, err, sizeof(err)) != 0) {
        ostel_gguf_free(&g);
        return ostel_error("%s: %s", path, err);
    }
    struct ostel_gguf_model m;
    ostel_gguf_model_init(&m, &g);
    snprintf(fm->name, sizeof(fm->name), "%s", m.name ? m.name : "");
    snprintf(fm->ftype, sizeof(fm->ftype), "%s", m.file_type_name ? m.file_type_name : "?");
    ostel_gguf_model_free(&m);
    int rc = ostel_memmodel_shape_from_gguf(&fm->shape, &g, err, sizeof(err));
    ostel_gguf_free(&g);
    if (rc != 0)
        return ostel_error("%s: %s", path, err);
    return 0;
}

static int run_compare(struct fit_args *a)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 256u << 20);
    if (ostel_file_read_all(a->compare, 256u << 20, &b) != 0) {
        ostel_buf_free(&b);
        return OSTEL_EXIT_FAIL;
    }
    struct ostel_log_result lr;
    ostel_logparse_result_init(&lr);
    char err[256];
    if (ostel_logparse_parse(b.data, b.len, &lr, err, sizeof(err)) != 0) {
        ostel_buf_free(&b);
        ostel_logparse_result_free(&lr);
        return ostel_error("%s: %s", a->compare, err), OSTEL_EXIT_FAIL;
    }
    if (a->models[0] && !ostel_is_file(a->models[0])) {
        ostel_buf_free(&b);
        ostel_logparse_result_free(&lr);
        return ostel_error("%s: no such file", a->models[0]), OSTEL_EXIT_FAIL;
    }
    /* the model's tensor table when its header can be read, else the log's model header */
    struct ostel_gguf_run_facts facts;
    memset(&facts, 0, sizeof(facts));
    char gerr[256];
    bool gguf = a->n_models &&
                ostel_gguf_run_facts_read(&facts, a->models[0], gerr, sizeof(gerr)) == OSTEL_OK;
    struct ostel_memmodel_params p = a->p;
    p.n_ctx = 0; /* the log's */
    cJSON *o = ostel_memmodel_compare_json(gguf && facts.has_shape ? &facts.shape : NULL, &p, &lr,
                                           err, sizeof(err));
    ostel_gguf_run_facts_free(&facts);
    ostel_buf_free(&b);
    ostel_logparse_result_free(&lr);
    if (!o)
        return ostel_error("%s: %s", a->compare, err), OSTEL_EXIT_FAIL;
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    bool ok = cJSON_IsTrue(cJSON_GetObjectItem(o, "within_bars"));
    cJSON_Delete(o);
    return ok ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}

/* llama.cpp's single-dash long flags, mapped to ours. */
static const char *alias_of(const char *arg)
{
    static const char *const map[][2] = {
        {"-ngl", "--ngl"},           {"-ctk", "--ctk"},           {"-ctv", "--ctv"},
        {"-fa", "--flash-attn"},     {"-np", "--parallel"},       {"-ub", "--ubatch"},
        {"--n-gpu-layers", "--ngl"}, {"--cache-type-k", "--ctk"}, {"--cache-type-v", "--ctv"},
        {"--ctx-size", "--ctx"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(map); i++)
        if (strcmp(arg, map[i][0]) == 0)
            return map[i][1];
    return arg;
}

/*
 * Loads each model of a and predicts it on m (verdicts, the largest context that fits) into fms;
 * *loaded counts those that hold a shape to free. Returns OSTEL_EXIT_OK, or OSTEL_EXIT_FAIL at the
 * first model that could not be read or predicted (printed).
 */
static int predict_models(const struct fit_args *a, const struct fit_machine *m,
                          struct fit_model *fms, size_t *loaded)
{
    for (size_t i = 0; i < a->n_models; i++, (*loaded)++) {
        if (load_model(&fms[i], a->models[i]) != 0)
            return OSTEL_EXIT_FAIL;
        char err[256];
        if (ostel_memmodel_predict(&fms[i].shape, &a->p, &fms[i].r, err, sizeof(err)) != 0) {
            ostel_error("%s: %s", a->models[i], err);
            (*loaded)++;
            return OSTEL_EXIT_FAIL;
        }
        fms[i].v = overall(m, &fms[i].r, fms[i].per);
        fms[i].max_ctx = largest_fitting_ctx(m, &fms[i].shape, &a->p);
    }
    return OSTEL_EXIT_OK;
}

/* --json's object of one model: its facts, the prediction, each device's need and verdict. */
static cJSON *model_json(const struct fit_args *a, const struct fit_machine *m,
                         const struct fit_model *fm)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "path", fm->path);
    cJSON_AddStringToObject(j, "name", fm->name);
    cJSON_AddStringToObject(j, "arch", fm->shape.arch);
    cJSON_AddStringToObject(j, "file_type", fm->ftype);
    cJSON_AddNumberToObject(j, "n_ctx_train", fm->shape.n_ctx_train);
    cJSON_AddItemToObject(j, "prediction", ostel_memmodel_result_json(&fm->r));
    uint64_t need[FIT_MAX_DEV];
    needs_of(m, &fm->r, need);
    cJSON *dv = cJSON_AddArrayToObject(j, "needs");
    for (size_t d = 0; d < m->n_dev; d++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "device", m->dev[d].name);
        cJSON_AddNumberToObject(x, "need_mib", need[d] / MIB);
        cJSON_AddStringToObject(x, "verdict", verdict_name(fm->per[d]));
        cJSON_AddItemToArray(dv, x);
    }
    cJSON_AddStringToObject(j, "verdict", verdict_name(fm->v));
    if (fm->max_ctx)
        cJSON_AddNumberToObject(j, "max_ctx_fits", fm->max_ctx);
    else
        cJSON_AddNullToObject(j, "max_ctx_fits");
    if (a->sweep)
        cJSON_AddItemToObject(j, "sweep", sweep_json(m, fm, &a->p, false));
    return j;
}

/* --json: the machine and every model, one document on stdout. */
static void print_json(const struct fit_args *a, const struct fit_machine *m,
                       const struct fit_model *fms)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "machine", machine_json(m));
    cJSON *arr = cJSON_AddArrayToObject(o, "models");
    for (size_t i = 0; i < a->n_models; i++)
        cJSON_AddItemToArray(arr, model_json(a, m, &fms[i]));
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

/* The text: each model (and its sweep), then a table of them all when there are several. */
static void print_text(const struct fit_args *a, const struct fit_machine *m,
                       const struct fit_model *fms)
{
    for (size_t i = 0; i < a->n_models; i++) {
        if (i)
            printf("\n");
        print_model(m, &fms[i], &a->p);
        if (a->sweep) {
            cJSON *x = sweep_json(m, &fms[i], &a->p, true);
            cJSON_Delete(x);
        }
    }
    if (a->n_models > 1) {
        printf("\n%-40s %-16s %10s  %-13s %s\n", "model", "type", "MiB", "verdict", "max ctx");
        for (size_t i = 0; i < a->n_models; i++) {
            uint64_t need[FIT_MAX_DEV];
            needs_of(m, &fms[i].r, need);
            const char *base = strrchr(fms[i].path, '/');
            printf("%-40.40s %-16.16s %10.0f  %-13s %u\n", base ? base + 1 : fms[i].path,
                   fms[i].ftype,
                   (need[0] > gpu_need_sum(m, need) ? need[0] : gpu_need_sum(m, need)) / MIB,
                   verdict_name(fms[i].v), fms[i].max_ctx);
        }
    }
}

int ostel_cmd_fit(int argc, char **argv)
{
    struct fit_args a;
    memset(&a, 0, sizeof(a));
    a.p = ostel_memmodel_default_params();
    char **av = ostel_xcalloc((size_t)argc + 1, sizeof(char *));
    for (int i = 0; i < argc; i++)
        av[i] = i == 0 ? argv[i] : (char *)alias_of(argv[i]);
    int first = argc;
    int r = ostel_options_parse(&help, options, OSTEL_ARRAY_LEN(options), argc, av, on_option, &a,
                                &first);
    int positional = first < argc;
    free(av);
    if (r == OSTEL_OPT_HELP)
        return OSTEL_EXIT_OK;
    if (r != OSTEL_OPT_DONE)
        return OSTEL_EXIT_USAGE;
    if (positional) {
        ostel_error("unexpected argument '%s' (models are given with -m)", argv[first]);
        return OSTEL_EXIT_USAGE;
    }
    if (a.compare)
        return run_compare(&a);
    if (a.n_models == 0) {
        ostel_error("no model given (-m MODEL.gguf)");
        return OSTEL_EXIT_USAGE;
    }

    struct fit_machine m;
    machine_read(&m, a.device, a.gpu_mem);
    a.p.backend = m.backend;
    a.p.cpu_features = m.cpu_features;

    struct fit_model *fms = ostel_xcalloc(a.n_models, sizeof(*fms));
    size_t loaded = 0;
    int rc = predict_models(&a, &m, fms, &loaded);
    if (rc == OSTEL_EXIT_OK) {
        if (a.json)
            print_json(&a, &m, fms);
        else
            print_text(&a, &m, fms);
    }
    for (size_t i = 0; i < loaded && i < a.n_models; i++)
        ostel_memmodel_shape_free(&fms[i].shape);
    free(fms);
    return rc;
}
