/*
 * fit_compare: the memory model's prediction held against what a llama.cpp log says it allocated
 * (buffer size lines, else the memory breakdown table). The runner calls it at the end of a run;
 * tests call it on the shared logs and on logs of the pinned build. Takes the model's shape from
 * its GGUF header when the caller has one; otherwise it works from the log's model header alone.
 * Pure: never prints, reads no file.
 */
#include "llama/logparse.h"
#include "llama/memmodel.h"
#include "llama/ggml_types.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MIB (1024.0 * 1024.0)

/* A buffer held in host memory: CPU, CPU_Mapped, CPU_REPACK, CUDA_Host, SYCL_Host, ... */
static bool backend_is_host(const char *b)
{
    return strncmp(b, "CPU", 3) == 0 || strstr(b, "_Host") != NULL || strcmp(b, "Host") == 0;
}

static enum ostel_memmodel_backend backend_of_platform(const char *pl)
{
    if (!pl || !pl[0] || strcmp(pl, "cpu") == 0)
        return OSTEL_MEMMODEL_BACKEND_CPU;
    if (strcmp(pl, "metal") == 0)
        return OSTEL_MEMMODEL_BACKEND_METAL;
    return OSTEL_MEMMODEL_BACKEND_CUDA;
}

static uint32_t cpu_features_of(const char *si)
{
    uint32_t f = 0;
    if (!strstr(si, "REPACK = 1"))
        return 0; /* no repack support compiled in (or not printed: assume none) */
    if (strstr(si, "AVX2 = 1"))
        f |= OSTEL_MEMMODEL_CPU_AVX2;
    if (strstr(si, "AVX512 = 1"))
        f |= OSTEL_MEMMODEL_CPU_AVX512;
    if (strstr(si, "DOTPROD = 1"))
        f |= OSTEL_MEMMODEL_CPU_NEON_DOTPROD;
    if (strstr(si, "MATMUL_INT8 = 1"))
        f |= OSTEL_MEMMODEL_CPU_NEON_I8MM;
    return f;
}

static int flash_attn_of(const char *s)
{
    if (strcmp(s, "auto") == 0)
        return -1;
    if (strcmp(s, "0") == 0 || strcasecmp(s, "disabled") == 0 || strcasecmp(s, "off") == 0 ||
        strcasecmp(s, "false") == 0)
        return 0;
    return 1;
}

static double logval(struct ostel_logval v)
{
    return v.valid ? v.value : NAN;
}

struct ostel_memmodel_log_settings ostel_memmodel_log_settings_of(const struct ostel_log_result *r)
{
    struct ostel_memmodel_log_settings s = {
        .n_ctx = logval(r->n_ctx),
        .n_seq_max = logval(r->n_seq_max),
        .n_batch = logval(r->n_batch),
        .n_ubatch = logval(r->n_ubatch),
        .offloaded_layers = logval(r->offloaded_layers),
        .kv_type_k = r->kv_type_k,
        .kv_type_v = r->kv_type_v,
        .flash_attn = r->flash_attn,
        .platform = ostel_logparse_platform(r),
        .system_info = r->system_info,
    };
    return s;
}

/* v as a count when it is one within [1, max) (NAN, not finite and absurd are not): true. */
static bool count_in(double v, double max, uint32_t *out)
{
    if (!(v >= 1 && v < max))
        return false;
    *out = (uint32_t)v;
    return true;
}

void ostel_memmodel_params_from_log(struct ostel_memmodel_params *p,
                                    const struct ostel_memmodel_log_settings *s)
{
    count_in(s->n_ctx, 1e9, &p->n_ctx);
    if (count_in(s->n_seq_max, 1e5, &p->n_seq) && p->n_seq > 1)
        p->kv_unified = true; /* older builds and servers keep one cache for all sequences */
    count_in(s->n_ubatch, 1e7, &p->n_ubatch);
    count_in(s->n_batch, 1e7, &p->n_batch);
    int t = s->kv_type_k ? ostel_memmodel_cache_type(s->kv_type_k) : -1;
    if (t >= 0)
        p->type_k = (uint32_t)t;
    t = s->kv_type_v ? ostel_memmodel_cache_type(s->kv_type_v) : -1;
    if (t >= 0)
        p->type_v = (uint32_t)t;
    if (s->flash_attn && s->flash_attn[0])
        p->flash_attn = flash_attn_of(s->flash_attn);
    p->backend = backend_of_platform(s->platform);
    if (s->offloaded_layers >= 0 && s->offloaded_layers < 1e6)
        p->ngl = (int)s->offloaded_layers;
    if (s->system_info && s->system_info[0])
        p->cpu_features = cpu_features_of(s->system_info);
}

struct measured {
    double v[OSTEL_MEMMODEL_MAX_DEV];
    bool valid[OSTEL_MEMMODEL_MAX_DEV];
};

static void measured_add(struct measured *m, int dev, double mib)
{
    m->v[dev] += mib;
    m->valid[dev] = true;
}

static cJSON *cmp_json(double pred_bytes, bool have, double meas_mib, double *err_out)
{
    cJSON *o = cJSON_CreateObject();
    double pred = round(pred_bytes / MIB * 100.0) / 100.0;
    cJSON_AddNumberToObject(o, "predicted_mib", pred);
    if (have) {
        cJSON_AddNumberToObject(o, "measured_mib", round(meas_mib * 100.0) / 100.0);
        double e = meas_mib > 0 ? (pred_bytes / MIB - meas_mib) / meas_mib * 100.0
                                : (pred_bytes > 0 ? 100.0 : 0.0);
        /* llama.cpp prints two decimals: a difference within that rounding is none */
        if (fabs(pred_bytes / MIB - meas_mib) <= 0.0051)
            e = 0.0;
        /* buffers under 2 MiB: an absolute error under 1 MiB counts as exact */
        if (meas_mib < 2.0 && fabs(pred_bytes / MIB - meas_mib) < 1.0)
            e = 0.0;
        cJSON_AddNumberToObject(o, "error_pct", round(e * 100.0) / 100.0);
        if (err_out)
            *err_out = e;
    } else {
        cJSON_AddNullToObject(o, "measured_mib");
        cJSON_AddNullToObject(o, "error_pct");
    }
    return o;
}

/* What the log measured, per kind of buffer and device. */
struct log_measured {
    struct measured model, kv, compute, output;
};

/*
 * The log's buffer sizes into m (its "load_tensors:"-style buffer lines; where it has none, the
 * memory breakdown table, integer MiB). Returns false when it holds no model, KV or compute size.
 */
static bool measure_log(const struct ostel_log_result *log, struct log_measured *m)
{
    bool any = false;
    for (size_t i = 0; i < log->n_buffers; i++) {
        const struct ostel_log_buffer *b = &log->buffers[i];
        int dev = backend_is_host(b->backend) ? OSTEL_MEMMODEL_DEV_HOST : OSTEL_MEMMODEL_DEV_GPU;
        switch (b->kind) {
        case OSTEL_LOGPARSE_BUF_MODEL:
            measured_add(&m->model, dev, b->mib);
            any = true;
            break;
        case OSTEL_LOGPARSE_BUF_KV:
            measured_add(&m->kv, dev, b->mib);
            any = true;
            break;
        case OSTEL_LOGPARSE_BUF_COMPUTE:
            measured_add(&m->compute, dev, b->mib);
            any = true;
            break;
        case OSTEL_LOGPARSE_BUF_OUTPUT:
            measured_add(&m->output, dev, b->mib);
            break;
        default:
            break;
        }
    }
    if (!any) {
        /* no buffer lines: the memory breakdown table (integer MiB) */
        for (size_t i = 0; i < log->n_breakdown; i++) {
            const struct ostel_log_breakdown_row *row = &log->breakdown[i];
            int dev = strncmp(row->device, "Host", 4) == 0 || strncmp(row->device, "CPU", 3) == 0
                          ? OSTEL_MEMMODEL_DEV_HOST
                          : OSTEL_MEMMODEL_DEV_GPU;
            if (row->model.valid)
                measured_add(&m->model, dev, row->model.value), any = true;
            if (row->context.valid)
                measured_add(&m->kv, dev, row->context.value);
            if (row->compute.valid)
                measured_add(&m->compute, dev, row->compute.value);
        }
    }
    return any;
}

/* The comparison's object: prediction r (with parameters p, its shape from source) against m,
 * overall and per device, and whether each error is within its bar. */
static cJSON *compare_result_json(const struct ostel_memmodel_result *r,
                                  const struct ostel_memmodel_params *p, const char *source,
                                  const struct log_measured *m)
{
    const struct measured *mm = &m->model, *mk = &m->kv, *mc = &m->compute, *mo = &m->output;
    cJSON *o = cJSON_CreateObject();
    double e_model = 0, e_ctx = 0, e_comp = 0;
    bool h_model = mm->valid[0] || mm->valid[1], h_ctx = mk->valid[0] || mk->valid[1];
    bool h_comp = mc->valid[0] || mc->valid[1];
    uint64_t pred_model = 0;
    for (size_t d = 0; d < r->n_dev; d++)
        pred_model += r->dev[d].model_bytes + r->dev[d].repack_bytes;
    cJSON_AddItemToObject(o, "model",
                          cmp_json((double)pred_model, h_model, mm->v[0] + mm->v[1], &e_model));
    cJSON_AddItemToObject(o, "context",
                          cmp_json((double)r->kv_bytes, h_ctx, mk->v[0] + mk->v[1], &e_ctx));
    cJSON_AddItemToObject(o, "compute",
                          cmp_json((double)r->compute_bytes, h_comp, mc->v[0] + mc->v[1], &e_comp));
    cJSON_AddItemToObject(
        o, "output",
        cmp_json((double)r->output_bytes, mo->valid[0] || mo->valid[1], mo->v[0] + mo->v[1], NULL));
    cJSON *devs = cJSON_AddArrayToObject(o, "devices");
    for (size_t d = 0; d < r->n_dev; d++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "device", r->dev[d].name);
        cJSON_AddItemToObject(j, "model",
                              cmp_json((double)(r->dev[d].model_bytes + r->dev[d].repack_bytes),
                                       mm->valid[d], mm->v[d], NULL));
        cJSON_AddItemToObject(j, "context",
                              cmp_json((double)r->dev[d].kv_bytes, mk->valid[d], mk->v[d], NULL));
        cJSON_AddItemToObject(
            j, "compute", cmp_json((double)r->dev[d].compute_bytes, mc->valid[d], mc->v[d], NULL));
        cJSON_AddItemToArray(devs, j);
    }
    cJSON_AddNumberToObject(o, "n_ctx", r->n_ctx);
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddStringToObject(o, "backend",
                            p->backend == OSTEL_MEMMODEL_BACKEND_CPU     ? "cpu"
                            : p->backend == OSTEL_MEMMODEL_BACKEND_METAL ? "metal"
                                                                         : "gpu");
    bool ok = (!h_model || fabs(e_model) <= OSTEL_MEMMODEL_BAR_MODEL_PCT) &&
              (!h_ctx || fabs(e_ctx) <= OSTEL_MEMMODEL_BAR_CONTEXT_PCT) &&
              (!h_comp || fabs(e_comp) <= OSTEL_MEMMODEL_BAR_COMPUTE_PCT);
    cJSON_AddBoolToObject(o, "within_bars", ok);
    if (r->note[0])
        cJSON_AddStringToObject(o, "note", r->note);
    else
        cJSON_AddNullToObject(o, "note");
    return o;
}

cJSON *ostel_memmodel_compare_json(const struct ostel_memmodel_shape *gguf_shape,
                                   const struct ostel_memmodel_params *pin,
                                   const struct ostel_log_result *log, char *err, size_t err_size)
{
    /* measured, per device and kind */
    struct log_measured m = {{{0}, {0}}, {{0}, {0}}, {{0}, {0}}, {{0}, {0}}};
    if (!measure_log(log, &m)) {
        snprintf(err, err_size, "the log holds no buffer sizes to compare with");
        return NULL;
    }

    struct ostel_memmodel_shape log_shape;
    memset(&log_shape, 0, sizeof(log_shape));
    const struct ostel_memmodel_shape *shape = gguf_shape;
    const char *source = "gguf";
    if (!shape) {
        source = "log";
        if (ostel_memmodel_shape_from_log(&log_shape, log, err, err_size) != 0)
            return NULL;
        shape = &log_shape;
    }

    struct ostel_memmodel_params p = pin ? *pin : ostel_memmodel_default_params();
    struct ostel_memmodel_log_settings ls = ostel_memmodel_log_settings_of(log);
    ostel_memmodel_params_from_log(&p, &ls);
    /* the log's own KV size decides whether the window cache applies: keep the shape's */

    struct ostel_memmodel_result r;
    if (ostel_memmodel_predict(shape, &p, &r, err, err_size) != 0) {
        ostel_memmodel_shape_free(&log_shape);
        return NULL;
    }
    cJSON *o = compare_result_json(&r, &p, source, &m);
    ostel_memmodel_shape_free(&log_shape);
    return o;
}
