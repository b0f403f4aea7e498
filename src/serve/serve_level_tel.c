/*
 * serve_level_tel: the rest of a level's telemetry, beside the RSS and CPU that
 * ostel_serve_label_metrics takes from metrics.csv — the GPU (gpu_metrics.csv, written by the
 * runner's GPU sampler when NVML is there) and the server's own gauges (server_metrics.csv: busy
 * slots, deferred requests, and the KV cache where the server exports it), each over the samples
 * inside the level's span. A file that is absent, unreadable or corrupt (one warning) adds nothing:
 * the level then has no "gpu" (or "server") object, and a value no sample gave is null, never 0.
 */
#include "rundir/rundir_gpu_metrics.h"
#include "rundir/rundir_requests.h"
#include "serve/serve_internal.h"
#include "util/fileio.h"

#include <cJSON.h>
#include <math.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GPUS OSTEL_GPU_MAX_DEVICES

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The level whose span holds ts, or -1. */
static long level_of(const struct ostel_serve_outcome *o, double ts)
{
    for (size_t i = 0; i < o->n_levels; i++)
        if (ts >= o->level_start_ts[i] && ts <= o->level_end_ts[i])
            return (long)i;
    return -1;
}

/* A running maximum and mean. */
struct agg {
    double max, sum;
    size_t n;
};
static void agg_add(struct agg *a, double v)
{
    if (!isfinite(v))
        return;
    a->max = a->n == 0 || v > a->max ? v : a->max;
    a->sum += v;
    a->n++;
}
static double agg_max(const struct agg *a)
{
    return a->n ? a->max : NAN;
}
static double agg_mean(const struct agg *a)
{
    return a->n ? a->sum / (double)a->n : NAN;
}

/* DIR/NAME whole into *in (up to 2 GiB), or false when it is absent or unreadable (*in then holds
 * nothing to free). */
static bool read_file(const char *dir, const char *name, struct ostel_buf *in)
{
    char *path = ostel_xasprintf("%s/%s", dir, name);
    ostel_buf_init(in, (size_t)1 << 31);
    bool ok = access(path, R_OK) == 0 && ostel_file_read_all(path, (size_t)1 << 31, in) == 0;
    if (!ok)
        ostel_buf_free(in);
    free(path);
    return ok;
}

static cJSON *level_telemetry(const struct ostel_serve_outcome *o, size_t i)
{
    cJSON *levels = o->json ? cJSON_GetObjectItem(o->json, "levels") : NULL;
    cJSON *l = levels ? cJSON_GetArrayItem(levels, (int)i) : NULL;
    if (!l)
        return NULL;
    cJSON *t = cJSON_GetObjectItem(l, "telemetry");
    if (!cJSON_IsObject(t)) {
        cJSON_DeleteItemFromObject(l, "telemetry");
        t = cJSON_AddObjectToObject(l, "telemetry");
    }
    return t;
}

/* gpu_metrics.csv (long format: a row per GPU per sample): per level, each GPU's peak of device
 * memory and of the process tree's memory, its mean and peak power and its energy (the rows'
 * energy_j, each the counter's delta since the row before), summed over the GPUs; and that energy
 * per output token of the level (prompt processing included: the GPU's cost of serving a token). */
static void add_gpu(const char *dir, const struct ostel_serve_outcome *o)
{
    struct ostel_buf in;
    if (!read_file(dir, "gpu_metrics.csv", &in))
        return;
    size_t nl = o->n_levels;
    /* [level][gpu][mem, proc, power, energy] */
    struct agg *a = ostel_xcalloc(nl * MAX_GPUS * 4 + 1, sizeof(*a));
    size_t *rows = ostel_xcalloc(nl + 1, sizeof(*rows));
    unsigned ngpu = 0;
    /* the rows through rundir's one reader (rundir_gpu_metrics.h); a corrupt file adds nothing */
    struct ostel_gpu_metrics_scan sc;
    struct ostel_gpu_row r;
    char err[200];
    int rc = ostel_gpu_metrics_scan_init(&sc, in.data ? in.data : "", in.len, err, sizeof(err));
    while (rc == 0) {
        int got = ostel_gpu_metrics_scan_next(&sc, &r, err, sizeof(err));
        if (got <= 0) {
            rc = got;
            break;
        }
        long lv = level_of(o, r.ts);
        if (lv < 0)
            continue;
        ngpu = r.gpu + 1 > ngpu ? r.gpu + 1 : ngpu;
        struct agg *x = &a[((size_t)lv * MAX_GPUS + r.gpu) * 4];
        static const enum ostel_gpu_field fields[4] = {OSTEL_GPU_MEM_USED_MB, OSTEL_GPU_PROC_MEM_MB,
                                                       OSTEL_GPU_POWER_W, OSTEL_GPU_ENERGY_J};
        for (int f = 0; f < 4; f++)
            agg_add(&x[f], ostel_gpu_row_get(&r, fields[f])); /* NAN (not read) is skipped */
        rows[lv]++;
    }
    ostel_gpu_metrics_scan_free(&sc);
    if (rc != 0) {
        ostel_warn("%s/gpu_metrics.csv: %s", dir, err);
        ngpu = 0;
    }
    for (size_t i = 0; i < nl && ngpu; i++) {
        cJSON *t = level_telemetry(o, i);
        if (!t)
            break;
        /* a sum over the GPUs that reported the value; NAN when none did */
        double sum[5] = {NAN, NAN, NAN, NAN, NAN};
        for (unsigned gi = 0; gi < ngpu; gi++) {
            const struct agg *x = &a[(i * MAX_GPUS + gi) * 4];
            double v[5] = {agg_max(&x[0]), agg_max(&x[1]), agg_mean(&x[2]), agg_max(&x[2]),
                           x[3].n ? x[3].sum : NAN};
            for (int k = 0; k < 5; k++)
                if (isfinite(v[k]))
                    sum[k] = isfinite(sum[k]) ? sum[k] + v[k] : v[k];
        }
        cJSON *gj = cJSON_CreateObject();
        cJSON_AddNumberToObject(gj, "samples", (double)rows[i]);
        cJSON_AddItemToObject(gj, "mem_peak_mib", num_or_null(sum[0]));
        cJSON_AddItemToObject(gj, "proc_mem_peak_mib", num_or_null(sum[1]));
        cJSON_AddItemToObject(gj, "power_mean_w", num_or_null(sum[2]));
        cJSON_AddItemToObject(gj, "power_peak_w", num_or_null(sum[3]));
        cJSON_AddItemToObject(gj, "energy_j", num_or_null(sum[4]));
        const cJSON *lj = cJSON_GetArrayItem(cJSON_GetObjectItem(o->json, "levels"), (int)i);
        const cJSON *tps = cJSON_GetObjectItem(lj, "output_tokens_per_s");
        const cJSON *dur = cJSON_GetObjectItem(lj, "duration_s");
        double tokens =
            cJSON_IsNumber(tps) && cJSON_IsNumber(dur) ? tps->valuedouble * dur->valuedouble : NAN;
        cJSON_AddItemToObject(gj, "j_per_output_token",
                              num_or_null(tokens >= 1 ? sum[4] / tokens : NAN));
        cJSON_DeleteItemFromObject(t, "gpu");
        cJSON_AddItemToObject(t, "gpu", gj);
    }
    free(a);
    free(rows);
    ostel_buf_free(&in);
}

/* The server's gauges this reads from server_metrics.csv, and the keys they become. */
enum { G_BUSY, G_DEFERRED, G_KV_RATIO, G_KV_TOKENS, NG };
static const char *const gauge_metric[NG] = {
    "llamacpp:requests_processing", "llamacpp:requests_deferred", "llamacpp:kv_cache_usage_ratio",
    "llamacpp:kv_cache_tokens"};

/* server_metrics.csv (ts,level,metric,value): per level, the busy slots (requests_processing:
 * max and mean over the scrapes), the deferred requests (max) and the KV cache where the server
 * still exports it (the pinned build does not: null). */
static void add_server(const char *dir, const struct ostel_serve_outcome *o)
{
    struct ostel_buf in;
    if (!read_file(dir, "server_metrics.csv", &in))
        return;
    size_t nl = o->n_levels;
    struct agg *a = ostel_xcalloc(nl * NG + 1, sizeof(*a));
    size_t *scrapes = ostel_xcalloc(nl + 1, sizeof(*scrapes));
    /* the rows through rundir's one reader (rundir_requests.h); a corrupt file adds nothing */
    struct ostel_server_metrics_scan sc;
    struct ostel_server_metrics_row r;
    char err[200];
    int rc = ostel_server_metrics_scan_init(&sc, in.data ? in.data : "", in.len, err, sizeof(err));
    while (rc == 0) {
        int got = ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err));
        if (got <= 0) {
            rc = got;
            break;
        }
        long lv = level_of(o, r.ts);
        if (lv < 0)
            continue;
        for (int k = 0; k < NG; k++) {
            if (ostel_str_eq(r.metric, gauge_metric[k])) {
                agg_add(&a[(size_t)lv * NG + (size_t)k], r.value);
                if (k == G_BUSY)
                    scrapes[lv]++;
            }
        }
    }
    ostel_server_metrics_scan_free(&sc);
    if (rc != 0) {
        ostel_warn("%s/server_metrics.csv: %s", dir, err);
        nl = 0;
    }
    for (size_t i = 0; i < nl; i++) {
        cJSON *t = level_telemetry(o, i);
        if (!t)
            break;
        const struct agg *x = &a[i * NG];
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "scrapes", (double)scrapes[i]);
        cJSON_AddItemToObject(s, "busy_slots_max", num_or_null(agg_max(&x[G_BUSY])));
        cJSON_AddItemToObject(s, "busy_slots_mean", num_or_null(agg_mean(&x[G_BUSY])));
        cJSON_AddItemToObject(s, "deferred_max", num_or_null(agg_max(&x[G_DEFERRED])));
        cJSON_AddItemToObject(s, "kv_cache_usage_max", num_or_null(agg_max(&x[G_KV_RATIO])));
        cJSON_AddItemToObject(s, "kv_cache_tokens_max", num_or_null(agg_max(&x[G_KV_TOKENS])));
        cJSON_DeleteItemFromObject(t, "server");
        cJSON_AddItemToObject(t, "server", s);
    }
    free(a);
    free(scrapes);
    ostel_buf_free(&in);
}

void ostel_serve_level_telemetry_extra(const char *dir, const struct ostel_serve_outcome *o)
{
    if (!o->json || o->n_levels == 0)
        return;
    add_gpu(dir, o);
    add_server(dir, o);
}
