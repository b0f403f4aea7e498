/*
 * report_sweep: each run's memory prediction (ostel fit's model, in summary.json) against what
 * llama.cpp measured, per group, context and device, and the memory model swept over contexts for
 * each group whose model file is readable. Reading those GGUF headers is the analysis's only I/O,
 * kept in one step (ostel_report_read_models) before the pure part; the memory model is arithmetic.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llama/ggml_types.h"
#include "llama/gguf.h"
#include "util/fileio.h"

/* ---- prediction against measurement ---- */

static const char *const part_names[OSTEL_REPORT_NPARTS] = {"model", "context", "compute",
                                                            "output"};

const char *ostel_report_part_name(int part)
{
    OSTEL_ASSERT(part >= 0 && part < OSTEL_REPORT_NPARTS);
    return part_names[part];
}

double ostel_report_part_bar_pct(int part)
{
    switch (part) {
    case OSTEL_REPORT_PART_MODEL:
        return OSTEL_MEMMODEL_BAR_MODEL_PCT;
    case OSTEL_REPORT_PART_CONTEXT:
        return OSTEL_MEMMODEL_BAR_CONTEXT_PCT;
    case OSTEL_REPORT_PART_COMPUTE:
        return OSTEL_MEMMODEL_BAR_COMPUTE_PCT;
    default:
        return INFINITY;
    }
}

/* The run's values of one device row ("all" = the whole prediction), or NULL when it has none. */
static const struct ostel_report_cmpval *pred_parts(const struct ostel_report_prediction *p,
                                                    const char *device)
{
    if (strcmp(device, "all") == 0)
        return p->ndev == 0 ? p->part : NULL;
    for (size_t d = 0; d < p->ndev; d++)
        if (strcmp(p->dev[d].name, device) == 0)
            return p->dev[d].part;
    return NULL;
}

static int device_rank(const char *d)
{
    return strcmp(d, "host") == 0 ? 0 : strcmp(d, "gpu") == 0 ? 1 : 2;
}

void ostel_report_group_predictions(const struct ostel_report_set *set,
                                    struct ostel_report_group *g)
{
    /* Rows: distinct (n_ctx, device) among the ok runs' predictions, by context then device. */
    size_t cap = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!r->ok || !r->pred.present)
            continue;
        g->n_pred++;
        size_t nd = r->pred.ndev ? r->pred.ndev : 1;
        for (size_t d = 0; d < nd; d++) {
            const char *dev = r->pred.ndev ? r->pred.dev[d].name : "all";
            size_t k = 0;
            while (k < g->npred &&
                   !(g->pred[k].n_ctx == r->pred.n_ctx && strcmp(g->pred[k].device, dev) == 0))
                k++;
            if (k < g->npred)
                continue;
            if (g->npred == cap) {
                cap = cap ? cap * 2 : 4;
                g->pred = ostel_xrealloc(g->pred, cap * sizeof(*g->pred));
            }
            struct ostel_report_pred_row *row = &g->pred[g->npred++];
            memset(row, 0, sizeof(*row));
            row->n_ctx = r->pred.n_ctx;
            snprintf(row->device, sizeof(row->device), "%s", dev);
        }
    }
    for (size_t i = 1; i < g->npred; i++) {
        struct ostel_report_pred_row x = g->pred[i];
        size_t j = i;
        while (j > 0 && (g->pred[j - 1].n_ctx > x.n_ctx ||
                         (g->pred[j - 1].n_ctx == x.n_ctx &&
                          device_rank(g->pred[j - 1].device) > device_rank(x.device)))) {
            g->pred[j] = g->pred[j - 1];
            j--;
        }
        g->pred[j] = x;
    }
    double *pv = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*pv));
    double *mv = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*mv));
    for (size_t k = 0; k < g->npred; k++) {
        struct ostel_report_pred_row *row = &g->pred[k];
        for (int part = 0; part < OSTEL_REPORT_PART_OUTPUT; part++) {
            size_t n = 0;
            double worst = NAN;
            for (size_t i = 0; i < g->n; i++) {
                const struct ostel_report_run *r = &set->runs[g->runs[i]];
                if (!r->ok || !r->pred.present || r->pred.n_ctx != row->n_ctx)
                    continue;
                const struct ostel_report_cmpval *v = pred_parts(&r->pred, row->device);
                if (!v)
                    continue;
                if (part == 0)
                    row->runs++;
                pv[n] = v[part].predicted_mib;
                mv[n++] = v[part].measured_mib;
                if (!isnan(v[part].error_pct) &&
                    (isnan(worst) || fabs(v[part].error_pct) > fabs(worst)))
                    worst = v[part].error_pct;
            }
            row->part[part].predicted_mib = ostel_report_median(pv, n);
            row->part[part].measured_mib = ostel_report_median(mv, n);
            row->part[part].error_pct = worst;
            row->outside[part] = !isnan(worst) && fabs(worst) > ostel_report_part_bar_pct(part);
        }
    }
    /* Totals over devices, for one-row-per-group formats (CSV). */
    g->pred_within_bars = -1;
    long long ctx0 = -2;
    bool one_ctx = true;
    for (int part = 0; part < OSTEL_REPORT_PART_OUTPUT; part++) {
        size_t n = 0;
        double worst = NAN;
        for (size_t i = 0; i < g->n; i++) {
            const struct ostel_report_run *r = &set->runs[g->runs[i]];
            if (!r->ok || !r->pred.present)
                continue;
            if (ctx0 == -2)
                ctx0 = r->pred.n_ctx;
            one_ctx &= r->pred.n_ctx == ctx0;
            const struct ostel_report_cmpval *v = &r->pred.part[part];
            pv[n] = v->predicted_mib;
            mv[n++] = v->measured_mib;
            if (!isnan(v->error_pct) && (isnan(worst) || fabs(v->error_pct) > fabs(worst)))
                worst = v->error_pct;
            if (part == 0 && r->pred.within_bars >= 0)
                g->pred_within_bars = g->pred_within_bars == 0 ? 0 : r->pred.within_bars ? 1 : 0;
        }
        g->pred_total[part].predicted_mib = one_ctx ? ostel_report_median(pv, n) : NAN;
        g->pred_total[part].measured_mib = one_ctx ? ostel_report_median(mv, n) : NAN;
        g->pred_total[part].error_pct = worst;
    }
    free(pv);
    free(mv);
}

/* ---- memory against context ---- */

const struct ostel_report_model *ostel_report_find_model(const struct ostel_report *r,
                                                         const char *path)
{
    for (size_t i = 0; i < r->nmodels; i++)
        if (strcmp(r->models[i].path, path) == 0)
            return &r->models[i];
    return NULL;
}

/* The I/O step: the GGUF header of each distinct model file of the runs, read once. A missing
 * file is recorded with an empty error (nothing to say but that it is not here). */
void ostel_report_read_models(struct ostel_report *r)
{
    const struct ostel_report_set *set = r->set;
    for (size_t i = 0; i < set->n; i++) {
        const char *path = set->runs[i].model;
        if (!*path || ostel_report_find_model(r, path))
            continue;
        r->models = ostel_xrealloc(r->models, (r->nmodels + 1) * sizeof(*r->models));
        struct ostel_report_model *m = &r->models[r->nmodels++];
        memset(m, 0, sizeof(*m));
        m->path = ostel_xstrdup(path);
        char err[256] = "";
        if (ostel_is_file(path)) {
            struct ostel_gguf g;
            memset(&g, 0, sizeof(g));
            if (ostel_gguf_read_file(&g, path, err, sizeof(err)) == 0 &&
                ostel_memmodel_shape_from_gguf(&m->shape, &g, err, sizeof(err)) == 0)
                m->ok = true;
            ostel_gguf_free(&g);
        }
        m->err = ostel_xstrdup(m->ok ? "" : err);
    }
}

#define MIB (1024.0 * 1024.0)
#define SWEEP_FIRST_CTX 1024u
#define SWEEP_DEFAULT_TRAIN 131072u /* a model that does not say its trained context */

/* llama.cpp's measured total of a run, split as the sweep splits it (host, gpu). */
static bool measured_total(const struct ostel_report_run *r, bool unified, double *host,
                           double *gpu)
{
    *host = *gpu = NAN;
    if (r->pred.present) {
        const struct ostel_report_prediction *p = &r->pred;
        if (p->ndev == 0) {
            for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
                if (!isnan(p->part[k].measured_mib))
                    *host = (isnan(*host) ? 0 : *host) + p->part[k].measured_mib;
        }
        for (size_t d = 0; d < p->ndev; d++) {
            bool on_gpu = !unified && strcmp(p->dev[d].name, "host") != 0;
            double *dst = on_gpu ? gpu : host;
            for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
                if (!isnan(p->dev[d].part[k].measured_mib))
                    *dst = (isnan(*dst) ? 0 : *dst) + p->dev[d].part[k].measured_mib;
        }
        /* The output (logits) buffer lives on the host. */
        if (p->ndev > 0 && !isnan(p->part[OSTEL_REPORT_PART_OUTPUT].measured_mib) && !isnan(*host))
            *host += p->part[OSTEL_REPORT_PART_OUTPUT].measured_mib;
        if (!isnan(*host) || !isnan(*gpu))
            return true;
    }
    /* Older summaries: llama.cpp's own breakdown. */
    double used = r->metric[OSTEL_REPORT_M_DEV_USED_MIB],
           hostbuf = r->metric[OSTEL_REPORT_M_HOST_MIB];
    if (isnan(used))
        return false;
    bool cpu = !*r->device || strcmp(r->device, "CPU") == 0;
    if (cpu) {
        *host = used;
    } else if (unified) {
        *host = used + (isnan(hostbuf) ? 0 : hostbuf);
    } else {
        *gpu = used;
        *host = hostbuf;
    }
    return true;
}

static void sweep_params_text(struct ostel_report_sweep *sw, const struct ostel_memmodel_params *p,
                              const struct ostel_memmodel_result *r)
{
    const char *tk = ostel_ggml_type_name(p->type_k), *tv = ostel_ggml_type_name(p->type_v);
    const char *backend = p->backend == OSTEL_MEMMODEL_BACKEND_CPU     ? "CPU"
                          : p->backend == OSTEL_MEMMODEL_BACKEND_METAL ? "Metal"
                                                                       : "GPU";
    struct ostel_buf b;
    ostel_buf_init(&b, 4096);
    ostel_buf_printf(&b, "%s · cache %s/%s · flash attention %s", backend, tk ? tk : "?",
                     tv ? tv : "?", r->flash_attn ? "on" : "off");
    if (p->backend != OSTEL_MEMMODEL_BACKEND_CPU)
        ostel_buf_printf(&b, " · %u layers on the GPU", r->layers_gpu);
    if (p->n_seq > 1)
        ostel_buf_printf(&b, " · %u sequences", p->n_seq);
    sw->params = ostel_buf_detach(&b);
}

void ostel_report_group_sweep(const struct ostel_report *rep, struct ostel_report_group *g)
{
    const struct ostel_report_set *set = rep->set;
    struct ostel_report_sweep *sw = &g->sweep;
    sw->n_ctx_train = NAN;
    const struct ostel_report_run *first = NULL, *with_params = NULL;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!*r->model)
            continue;
        if (!first) {
            first = r;
        } else if (strcmp(first->model, r->model) != 0) {
            sw->note = ostel_xstrdup("its runs use different model files: group them by model "
                                     "(--group-by tag,model) to see each one's sweep");
            return;
        }
        if (r->mm_known && (!with_params || (r->ok && !with_params->ok)))
            with_params = r;
    }
    if (!first) {
        sw->note = ostel_xstrdup("its runs name no model file");
        return;
    }
    const struct ostel_report_model *m = ostel_report_find_model(rep, first->model);
    if (!m || !m->ok) {
        if (m && m->err && *m->err)
            sw->note =
                ostel_xasprintf("the model file %s cannot be read: %s", first->model, m->err);
        else
            sw->note = ostel_xasprintf("the model file %s is not on this machine", first->model);
        return;
    }
    struct ostel_memmodel_params p = with_params ? with_params->mm : first->mm;
    bool unified = p.backend == OSTEL_MEMMODEL_BACKEND_METAL;
    sw->gpu = p.backend == OSTEL_MEMMODEL_BACKEND_CUDA;
    uint32_t train = m->shape.n_ctx_train ? m->shape.n_ctx_train : SWEEP_DEFAULT_TRAIN;
    sw->n_ctx_train = m->shape.n_ctx_train ? (double)m->shape.n_ctx_train : NAN;
    uint32_t ctxs[OSTEL_REPORT_SWEEP_MAX];
    size_t nc = 0;
    for (uint64_t c = SWEEP_FIRST_CTX; c < train && nc + 1 < OSTEL_REPORT_SWEEP_MAX; c *= 2)
        ctxs[nc++] = (uint32_t)c;
    ctxs[nc++] = train;
    char err[256] = "";
    for (size_t i = 0; i < nc; i++) {
        struct ostel_memmodel_result r;
        p.n_ctx = ctxs[i];
        if (ostel_memmodel_predict(&m->shape, &p, &r, err, sizeof(err)) != 0)
            continue;
        if (!sw->params)
            sweep_params_text(sw, &p, &r);
        struct ostel_report_sweep_point *pt = &sw->pt[sw->n++];
        pt->n_ctx = ctxs[i];
        pt->model_mib = (double)(r.model_bytes + r.repack_bytes) / MIB;
        pt->kv_mib = (double)r.kv_bytes / MIB;
        pt->compute_mib = (double)r.compute_bytes / MIB;
        if (unified)
            pt->host_mib = (double)(r.model_bytes + r.repack_bytes + r.kv_bytes + r.compute_bytes +
                                    r.output_bytes) /
                           MIB;
        else
            pt->host_mib = (double)r.dev[OSTEL_MEMMODEL_DEV_HOST].total_bytes / MIB;
        pt->gpu_mib =
            sw->gpu && r.n_dev > 1 ? (double)r.dev[OSTEL_MEMMODEL_DEV_GPU].total_bytes / MIB : NAN;
    }
    if (sw->n == 0) {
        sw->note = ostel_xasprintf("the memory model cannot predict %s: %s", first->model, err);
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        double host, gpu;
        double n_ctx = r->pred.n_ctx >= 0 ? (double)r->pred.n_ctx
                       : r->ctx >= 0      ? (double)r->ctx
                                          : NAN;
        if (!r->ok || isnan(n_ctx) || !measured_total(r, unified, &host, &gpu))
            continue;
        sw->marks = ostel_xrealloc(sw->marks, (sw->nmarks + 1) * sizeof(*sw->marks));
        sw->marks[sw->nmarks++] =
            (struct ostel_report_sweep_mark){n_ctx, host, sw->gpu ? gpu : NAN, r->name};
    }
}

/* The machine's RAM and MemAvailable at the runs' start, as medians over the group's runs. */
void ostel_report_group_machine(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    double *ram = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*ram));
    double *avail = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*avail));
    for (size_t i = 0; i < g->n; i++) {
        ram[i] = set->runs[g->runs[i]].ram_mib;
        avail[i] = set->runs[g->runs[i]].avail_start_mib;
    }
    g->ram_mib = ostel_report_median(ram, g->n);
    g->avail_mib = ostel_report_median(avail, g->n);
    free(ram);
    free(avail);
}
