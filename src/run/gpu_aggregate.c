/*
 * gpu_aggregate: gpu_metrics.csv's rows aggregated for summary.json (see gpu_aggregate.h).
 */
#include "run/gpu_aggregate.h"

#include "run/phases.h"

#include <math.h>
#include <string.h>

struct acc {
    size_t samples;
    double t0, t1;
    double peak[OSTEL_GPU_FIELD_COUNT];
    double sum[OSTEL_GPU_FIELD_COUNT];
    size_t cnt[OSTEL_GPU_FIELD_COUNT];
};

static void acc_init(struct acc *a)
{
    memset(a, 0, sizeof(*a));
    a->t0 = INFINITY;
    a->t1 = -INFINITY;
    for (int f = 0; f < OSTEL_GPU_FIELD_COUNT; f++)
        a->peak[f] = -INFINITY;
}

static void acc_add(struct acc *a, const struct ostel_gpu_row *r)
{
    a->samples++;
    if (r->ts < a->t0)
        a->t0 = r->ts;
    if (r->ts > a->t1)
        a->t1 = r->ts;
    for (int f = 0; f < OSTEL_GPU_FIELD_COUNT; f++) {
        if (!((r->valid >> f) & 1u))
            continue;
        a->sum[f] += r->v[f];
        a->cnt[f]++;
        if (r->v[f] > a->peak[f])
            a->peak[f] = r->v[f];
    }
}

static cJSON *num(double v, int decimals)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    double m = pow(10, decimals);
    return cJSON_CreateNumber(round(v * m) / m);
}

static double mean_of(const struct acc *a, enum ostel_gpu_field f)
{
    return a->cnt[f] ? a->sum[f] / (double)a->cnt[f] : NAN;
}

static double peak_of(const struct acc *a, enum ostel_gpu_field f)
{
    return a->cnt[f] ? a->peak[f] : NAN;
}

static cJSON *acc_json(const struct acc *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "samples", (double)a->samples);
    cJSON_AddItemToObject(o, "peak_mem_used_mb", num(peak_of(a, OSTEL_GPU_MEM_USED_MB), 1));
    cJSON_AddItemToObject(o, "peak_proc_mem_mb", num(peak_of(a, OSTEL_GPU_PROC_MEM_MB), 1));
    cJSON_AddItemToObject(o, "mean_util_pct", num(mean_of(a, OSTEL_GPU_UTIL_PCT), 1));
    cJSON_AddItemToObject(o, "peak_util_pct", num(peak_of(a, OSTEL_GPU_UTIL_PCT), 1));
    cJSON_AddItemToObject(o, "mean_mem_util_pct", num(mean_of(a, OSTEL_GPU_MEM_UTIL_PCT), 1));
    cJSON_AddItemToObject(o, "mean_power_w", num(mean_of(a, OSTEL_GPU_POWER_W), 2));
    cJSON_AddItemToObject(o, "peak_power_w", num(peak_of(a, OSTEL_GPU_POWER_W), 2));
    cJSON_AddItemToObject(o, "mean_power_instant_w", num(mean_of(a, OSTEL_GPU_POWER_INSTANT_W), 2));
    cJSON_AddItemToObject(o, "peak_power_instant_w", num(peak_of(a, OSTEL_GPU_POWER_INSTANT_W), 2));
    cJSON_AddItemToObject(o, "energy_j",
                          num(a->cnt[OSTEL_GPU_ENERGY_J] ? a->sum[OSTEL_GPU_ENERGY_J] : NAN, 3));
    cJSON_AddItemToObject(o, "peak_temp_c", num(peak_of(a, OSTEL_GPU_TEMP_C), 0));
    cJSON_AddItemToObject(o, "mean_sm_clock_mhz", num(mean_of(a, OSTEL_GPU_SM_CLOCK_MHZ), 0));
    return o;
}

void ostel_gpu_aggregate_energy_split(const struct ostel_phase_bounds *pb, double a, double b,
                                      double j, double out[OSTEL_PHASE_COUNT],
                                      bool seen[OSTEL_PHASE_COUNT])
{
    if (!pb) {
        out[OSTEL_PHASE_NONE] += j;
        seen[OSTEL_PHASE_NONE] = true;
        return;
    }
    if (!(b > a)) {
        enum ostel_phase p = ostel_phases_at(pb, b);
        out[p] += j;
        seen[p] = true;
        return;
    }
    /* the boundaries inside (a, b), sorted: segments between them lie in one phase each */
    double cut[OSTEL_PHASE_COUNT + 2];
    size_t nc = 0;
    cut[nc++] = a;
    for (int p = OSTEL_PHASE_LOAD; p < OSTEL_PHASE_COUNT; p++)
        if (pb->start[p] > a && pb->start[p] < b)
            cut[nc++] = pb->start[p];
    cut[nc++] = b;
    for (size_t i = 1; i < nc; i++) /* insertion sort: at most six values */
        for (size_t k = i; k > 1 && cut[k] < cut[k - 1]; k--) {
            double t = cut[k];
            cut[k] = cut[k - 1];
            cut[k - 1] = t;
        }
    for (size_t i = 0; i + 1 < nc; i++) {
        double len = cut[i + 1] - cut[i];
        if (!(len > 0))
            continue;
        enum ostel_phase p = ostel_phases_at(pb, cut[i] + len / 2);
        out[p] += j * len / (b - a);
        seen[p] = true;
    }
}

/* The devices to summarize: the highest index in rows, or the collection's device count when
 * larger, at most OSTEL_GPU_MAX_DEVICES. */
static unsigned device_count(const struct ostel_gpu_row *rows, size_t n, const cJSON *cdevs)
{
    unsigned ndev = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].gpu + 1 > ndev)
            ndev = rows[i].gpu + 1;
    if (cJSON_IsArray(cdevs) && (unsigned)cJSON_GetArraySize(cdevs) > ndev)
        ndev = (unsigned)cJSON_GetArraySize(cdevs);
    if (ndev > OSTEL_GPU_MAX_DEVICES)
        ndev = OSTEL_GPU_MAX_DEVICES;
    return ndev;
}

/* Device d's rows into all and ph (per phase), its energy split by phase (pb: by time overlap). */
static void device_accumulate(const struct ostel_gpu_row *rows, size_t n, unsigned d,
                              const struct ostel_phase_bounds *pb, struct acc *all,
                              struct acc ph[OSTEL_PHASE_COUNT])
{
    acc_init(all);
    for (int p = 0; p < OSTEL_PHASE_COUNT; p++)
        acc_init(&ph[p]);
    /* Energy by phase: each delta over the interval since the device's previous energy
     * reading (the previous row when none had a delta yet), split by time overlap. */
    double e_split[OSTEL_PHASE_COUNT] = {0};
    bool e_seen[OSTEL_PHASE_COUNT] = {false};
    double prev_ts = NAN, prev_e_ts = NAN;
    for (size_t i = 0; i < n; i++) {
        const struct ostel_gpu_row *r = &rows[i];
        if (r->gpu != d)
            continue;
        acc_add(all, r);
        acc_add(&ph[r->phase], r);
        if ((r->valid >> OSTEL_GPU_ENERGY_J) & 1u) {
            double from = isfinite(prev_e_ts) ? prev_e_ts : prev_ts;
            if (!pb) {
                e_split[r->phase] += r->v[OSTEL_GPU_ENERGY_J];
                e_seen[r->phase] = true;
            } else {
                ostel_gpu_aggregate_energy_split(pb, isfinite(from) ? from : r->ts, r->ts,
                                                 r->v[OSTEL_GPU_ENERGY_J], e_split, e_seen);
            }
            prev_e_ts = r->ts;
        }
        prev_ts = r->ts;
    }
    for (int p = 0; p < OSTEL_PHASE_COUNT; p++) {
        ph[p].sum[OSTEL_GPU_ENERGY_J] = e_split[p];
        ph[p].cnt[OSTEL_GPU_ENERGY_J] = e_seen[p] ? 1 : 0;
    }
}

/* The run's sums over its devices: energy per phase, the process's VRAM peaks and what was beyond
 * llama.cpp's accounting. */
struct run_totals {
    double e_phase[OSTEL_PHASE_COUNT];
    bool e_valid[OSTEL_PHASE_COUNT];
    double proc_peak_sum, beyond_sum;
    bool beyond_any;
};

/* per_device's object of device d (its rows accumulated), added into tot. */
static cJSON *device_json(const struct ostel_gpu_row *rows, size_t n, unsigned d,
                          const struct ostel_gpu_run_facts *facts,
                          const struct ostel_phase_bounds *pb, struct run_totals *tot)
{
    struct acc all, ph[OSTEL_PHASE_COUNT];
    device_accumulate(rows, n, d, pb, &all, ph);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", d);
    cJSON_AddItemToObject(o, "overall", acc_json(&all));
    cJSON *phs = cJSON_AddObjectToObject(o, "phases");
    for (int p = OSTEL_PHASE_LOAD; p < OSTEL_PHASE_COUNT; p++) {
        cJSON_AddItemToObject(phs, ostel_metrics_phase_name((enum ostel_phase)p), acc_json(&ph[p]));
        if (ph[p].cnt[OSTEL_GPU_ENERGY_J]) {
            tot->e_phase[p] += ph[p].sum[OSTEL_GPU_ENERGY_J];
            tot->e_valid[p] = true;
        }
    }
    /* VRAM beyond llama.cpp's accounting: the process's peak (NVML) minus llama.cpp's "self".
     */
    double proc_peak = peak_of(&all, OSTEL_GPU_PROC_MEM_MB);
    double self = facts ? facts->llama_self_mb[d] : -1;
    cJSON_AddItemToObject(o, "llama_self_mb", num(self >= 0 ? self : NAN, 1));
    double beyond = isfinite(proc_peak) && self >= 0 ? proc_peak - self : NAN;
    cJSON_AddItemToObject(o, "vram_beyond_llama_mb", num(beyond, 1));
    if (isfinite(beyond)) {
        tot->beyond_sum += beyond;
        tot->beyond_any = true;
    }
    if (isfinite(proc_peak))
        tot->proc_peak_sum += proc_peak;
    return o;
}

/* The energy counter is the whole device's: another process on it during the run spent part of
 * what is counted. 1 when one was seen, 0 when every device's process list was read and showed
 * none, -1 when it could not be told. */
static int energy_shared(const cJSON *cdevs)
{
    int shared = -1;
    if (cJSON_IsArray(cdevs) && cJSON_GetArraySize(cdevs) > 0) {
        shared = 0;
        const cJSON *cd;
        cJSON_ArrayForEach(cd, cdevs)
        {
            const cJSON *others = cJSON_GetObjectItem(cd, "other_procs_max");
            const cJSON *reads = cJSON_GetObjectItem(cd, "proc_reads");
            if (cJSON_IsNumber(others) && others->valuedouble > 0) {
                shared = 1;
                break;
            }
            if (!cJSON_IsNumber(reads) || reads->valuedouble <= 0)
                shared = -1;
        }
    }
    return shared;
}

/* The "run" object: energy and tokens per joule, the VRAM sums, whether the energy was shared. */
static void add_run_json(cJSON *root, size_t n, const struct run_totals *tot,
                         const struct ostel_gpu_run_facts *facts, const cJSON *cdevs)
{
    cJSON *run = cJSON_AddObjectToObject(root, "run");
    double gen_e = tot->e_valid[OSTEL_PHASE_GENERATE] ? tot->e_phase[OSTEL_PHASE_GENERATE] : NAN;
    double pr_e = tot->e_valid[OSTEL_PHASE_PROMPT] ? tot->e_phase[OSTEL_PHASE_PROMPT] : NAN;
    double gt = facts ? facts->gen_tokens : -1, pt = facts ? facts->prompt_tokens : -1;
    cJSON_AddItemToObject(run, "generate_energy_j", num(gen_e, 3));
    cJSON_AddItemToObject(run, "prompt_energy_j", num(pr_e, 3));
    cJSON_AddItemToObject(run, "j_per_token", num(gt > 0 ? gen_e / gt : NAN, 5));
    cJSON_AddItemToObject(run, "tokens_per_j", num(gt > 0 && gen_e > 0 ? gt / gen_e : NAN, 4));
    cJSON_AddItemToObject(run, "prompt_j_per_token", num(pt > 0 ? pr_e / pt : NAN, 5));
    cJSON_AddItemToObject(run, "peak_proc_mem_mb",
                          num(n && tot->proc_peak_sum > 0 ? tot->proc_peak_sum : NAN, 1));
    cJSON_AddItemToObject(run, "vram_beyond_llama_mb",
                          num(tot->beyond_any ? tot->beyond_sum : NAN, 1));
    int shared = energy_shared(cdevs);
    cJSON_AddItemToObject(run, "energy_shared",
                          shared < 0 ? cJSON_CreateNull() : cJSON_CreateBool(shared == 1));
    cJSON_AddItemToObject(run, "energy_note",
                          shared == 1
                              ? cJSON_CreateString("other processes used the GPU during the "
                                                   "run: the energy counter is the whole "
                                                   "device's, so J/token is too high")
                              : cJSON_CreateNull());
}

cJSON *ostel_gpu_aggregate_json(const struct ostel_gpu_row *rows, size_t n, const cJSON *collection,
                                const struct ostel_gpu_run_facts *facts,
                                const struct ostel_phase_bounds *pb)
{
    cJSON *root = collection ? cJSON_Duplicate(collection, 1) : cJSON_CreateObject();
    const cJSON *cdevs = collection ? cJSON_GetObjectItem(collection, "devices") : NULL;
    unsigned ndev = device_count(rows, n, cdevs);
    cJSON *pd = cJSON_AddArrayToObject(root, "per_device");
    struct run_totals tot = {{0}, {false}, 0, 0, false};
    for (unsigned d = 0; d < ndev; d++)
        cJSON_AddItemToArray(pd, device_json(rows, n, d, facts, pb, &tot));
    add_run_json(root, n, &tot, facts, cdevs);
    return root;
}
