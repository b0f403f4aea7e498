/*
 * report_table: the report's tables as plain cells (text + bold), built once from an analysis and
 * rendered by both the Markdown and the HTML writer, so the two never disagree. Numbers are
 * formatted here (thousands separators, fixed decimals, "—" for not available); escaping is the
 * renderer's job.
 */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXCOLS 18

static const int stat_metrics[] = {OSTEL_REPORT_M_PROMPT_TPS, OSTEL_REPORT_M_GEN_TPS,
                                   OSTEL_REPORT_M_WALL_S, OSTEL_REPORT_M_RSS_PEAK_MIB};

const char *ostel_report_pressure_name(double p)
{
    if (isnan(p))
        return "—";
    if (p >= 4)
        return "critical";
    if (p >= 2)
        return "warning";
    return "normal";
}

struct ostel_report_table *ostel_report_table_new(struct ostel_report_tables *ts, const char *id,
                                                  const char *title, size_t ncols,
                                                  const char *const *head, const char *numeric)
{
    OSTEL_ASSERT(ncols <= MAXCOLS);
    ts->t = ostel_xrealloc(ts->t, (ts->n + 1) * sizeof(*ts->t));
    struct ostel_report_table *t = &ts->t[ts->n++];
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->title = title;
    t->ncols = ncols;
    t->head = ostel_xcalloc(ncols, sizeof(*t->head));
    t->numeric = ostel_xcalloc(ncols, sizeof(*t->numeric));
    for (size_t c = 0; c < ncols; c++) {
        t->head[c] = ostel_xstrdup(head[c]);
        t->numeric[c] = numeric[c] == 'r';
    }
    return t;
}

size_t ostel_report_table_row_add(struct ostel_report_table *t)
{
    t->cells = ostel_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
    for (size_t c = 0; c < t->ncols; c++) {
        t->cells[t->nrows * t->ncols + c].text = NULL;
        t->cells[t->nrows * t->ncols + c].bold = false;
        t->cells[t->nrows * t->ncols + c].bad = false;
    }
    return t->nrows++;
}

/* Sets a cell, taking ownership of text. */
static void cell(struct ostel_report_table *t, size_t row, size_t col, char *text)
{
    struct ostel_report_cell *c = &t->cells[row * t->ncols + col];
    free(c->text);
    c->text = text;
}

static char *num(double v, int decimals)
{
    char b[64];
    return ostel_xstrdup(ostel_report_fmt_num(v, decimals, b, sizeof(b)));
}

/* The group's headline cell for a metric: mean ± sd, or the aggregate. */
static char *metric_cell(const struct ostel_report_group *g, int m)
{
    const struct ostel_report_metric_info *mi = ostel_report_metric_info(m);
    if (m == OSTEL_REPORT_M_PRESSURE_WORST)
        return ostel_xstrdup(ostel_report_pressure_name(g->value[m]));
    if (mi->agg == OSTEL_REPORT_AGG_MEAN &&
        (m == OSTEL_REPORT_M_PROMPT_TPS || m == OSTEL_REPORT_M_GEN_TPS ||
         m == OSTEL_REPORT_M_WALL_S))
        return ostel_report_fmt_mean_sd(&g->stat[m], mi->decimals);
    return num(g->value[m], mi->decimals);
}

/* Bolds the best value of column col (rows' values in v; NAN skipped) when two or more differ. */
static void bold_best(struct ostel_report_table *t, size_t col, const double *v, int better)
{
    if (better == OSTEL_REPORT_BETTER_NONE)
        return;
    size_t have = 0;
    double best = NAN, other = NAN;
    for (size_t i = 0; i < t->nrows; i++) {
        if (isnan(v[i]))
            continue;
        have++;
        if (isnan(best) || (better == OSTEL_REPORT_BETTER_HIGH ? v[i] > best : v[i] < best))
            best = v[i];
    }
    for (size_t i = 0; i < t->nrows; i++)
        if (!isnan(v[i]) && v[i] != best)
            other = v[i];
    if (have < 2 || isnan(other))
        return;
    for (size_t i = 0; i < t->nrows; i++)
        if (v[i] == best)
            t->cells[i * t->ncols + col].bold = true;
}

/* Bolds the best group of each column first_col + k, k < n, holding metric metrics[k]. */
static void bold_best_metrics(struct ostel_report_table *t, const struct ostel_report *r,
                              size_t first_col, const int *metrics, size_t n)
{
    double *v = ostel_xmalloc(r->ngroups * sizeof(*v));
    for (size_t k = 0; k < n; k++) {
        for (size_t gi = 0; gi < r->ngroups; gi++)
            v[gi] = r->groups[gi].value[metrics[k]];
        bold_best(t, first_col + k, v, ostel_report_metric_info(metrics[k])->better);
    }
    free(v);
}

static char *notes_cell(const struct ostel_report_group *g)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < g->nnotes; i++)
        ostel_buf_printf(&b, "%s%s", i ? "; " : "", g->notes[i].brief);
    return ostel_buf_detach(&b);
}

static void build_throughput(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    static const char *const head[] = {"Group",          "Model",        "Runs", "Prompt TPS",
                                       "Generation TPS", "Duration (s)", "Notes"};
    static const int cols[] = {OSTEL_REPORT_M_PROMPT_TPS, OSTEL_REPORT_M_GEN_TPS,
                               OSTEL_REPORT_M_WALL_S};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "throughput", "Throughput & runtime", 7, head, "llrrrrl");
    t->caption = ostel_xasprintf(
        "Mean ± standard deviation over the successful runs; (1.23×) is the ratio to the baseline "
        "%s; the best of each column is in bold.",
        r->groups[r->baseline].label);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        size_t row = ostel_report_table_row_add(t);
        cell(t, row, 0, ostel_xstrdup(g->label));
        cell(t, row, 1, ostel_xstrdup(*g->model ? g->model : "—"));
        cell(t, row, 2,
             g->n_ok == g->n ? ostel_xasprintf("%zu", g->n)
                             : ostel_xasprintf("%zu of %zu", g->n_ok, g->n));
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(cols); k++) {
            char *text = metric_cell(g, cols[k]);
            double ratio = g->cmp[cols[k]].ratio.ratio;
            if (gi != r->baseline && !isnan(ratio) && !isnan(g->value[cols[k]])) {
                char *with = ostel_xasprintf("%s (%.2f×)", text, ratio);
                free(text);
                text = with;
            }
            cell(t, row, 3 + k, text);
        }
        cell(t, row, 6, notes_cell(g));
    }
    bold_best_metrics(t, r, 3, cols, OSTEL_ARRAY_LEN(cols));
}

static void build_memory(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    const char *dev = NULL;
    bool mixed = false;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const char *d = r->groups[gi].device;
        if (!*d)
            continue;
        if (!dev)
            dev = d;
        else if (strcmp(dev, d) != 0)
            mixed = true;
    }
    char *used_head = ostel_xasprintf("%s Used (MiB)", dev && !mixed ? dev : "Device");
    const char *head[] = {"Group",           "Model",           used_head,        "Model (MiB)",
                          "Context (MiB)",   "Compute (MiB)",   "Host (MiB)",     "Peak RSS (MiB)",
                          "Peak anon (MiB)", "Peak file (MiB)", "Plan with (MiB)"};
    static const int cols[] = {OSTEL_REPORT_M_DEV_USED_MIB,      OSTEL_REPORT_M_MODEL_MIB,
                               OSTEL_REPORT_M_CONTEXT_MIB,       OSTEL_REPORT_M_COMPUTE_MIB,
                               OSTEL_REPORT_M_HOST_MIB,          OSTEL_REPORT_M_RSS_PEAK_MIB,
                               OSTEL_REPORT_M_RSS_ANON_PEAK_MIB, OSTEL_REPORT_M_RSS_FILE_PEAK_MIB};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "memory", "Memory breakdown", 11, head, "llrrrrrrrrr");
    free(used_head);
    t->caption = ostel_xstrdup(
        "llama.cpp's own accounting (its memory breakdown, or its buffer sizes): Used = model + "
        "context + compute on the device named by the log; Host = its host-side buffers. Peak RSS "
        "is the highest over the runs, split into anon (the process's own memory) and file "
        "(file-backed pages, mostly the mmap'd model: page cache, reclaimable), each its own peak. "
        "Plan with: the figure to plan capacity with (see below).");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        size_t row = ostel_report_table_row_add(t);
        cell(t, row, 0, ostel_xstrdup(g->label));
        cell(t, row, 1, ostel_xstrdup(*g->model ? g->model : "—"));
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(cols); k++) {
            char *text = metric_cell(g, cols[k]);
            if (k == 0 && mixed && *g->device && !isnan(g->value[cols[k]])) {
                char *with = ostel_xasprintf("%s (%s)", text, g->device);
                free(text);
                text = with;
            }
            cell(t, row, 2 + k, text);
        }
        cell(t, row, 10, num(g->plan_mib, 0));
    }
    bold_best_metrics(t, r, 2, cols, OSTEL_ARRAY_LEN(cols));
    double *v = ostel_xmalloc(r->ngroups * sizeof(*v));
    for (size_t gi = 0; gi < r->ngroups; gi++)
        v[gi] = r->groups[gi].plan_mib;
    bold_best(t, 10, v, OSTEL_REPORT_BETTER_LOW);
    free(v);
}

/* ---- the GPU ---- */

/* mean ± sd of a GPU metric, "—" without a value. */
static char *gpu_cell(const struct ostel_report_group *g, int m)
{
    const struct ostel_stats_summary *s = &g->stat[m];
    return ostel_report_fmt_mean_sd(s, ostel_report_metric_info(m)->decimals);
}

static const int gpu_cols[] = {OSTEL_REPORT_M_GPU_LLAMA_MIB,    OSTEL_REPORT_M_GPU_PROC_PEAK_MIB,
                               OSTEL_REPORT_M_GPU_BEYOND_MIB,   OSTEL_REPORT_M_GPU_DEV_PEAK_MIB,
                               OSTEL_REPORT_M_GPU_POWER_PEAK_W, OSTEL_REPORT_M_GPU_GEN_POWER_W,
                               OSTEL_REPORT_M_GPU_J_PER_TOKEN,  OSTEL_REPORT_M_GPU_TOKENS_PER_J};

/* Only when some run has GPU telemetry: a CPU-only report has no such table. */
static void build_gpu(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    if (!r->gpu)
        return;
    static const char *const head[] = {"Group",
                                       "GPU runs",
                                       "llama.cpp (MiB)",
                                       "Process peak (MiB)",
                                       "Beyond llama.cpp (MiB)",
                                       "Device peak (MiB)",
                                       "Peak power (W)",
                                       "Power, generate (W)",
                                       "Energy per token (J)",
                                       "95% CI (J/token)",
                                       "Tokens per joule"};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "gpu", "GPU", 11, head, "lrrrrrrrrrr");
    t->caption = ostel_xstrdup(
        "Mean ± SD over each group's successful runs with GPU telemetry (NVML), summed over the "
        "run's GPUs. llama.cpp: its own accounting on its CUDA devices (the memory breakdown's "
        "self); process peak: what NVML saw the run's processes hold; beyond llama.cpp: process "
        "peak − llama.cpp (CUDA context, cuBLAS workspaces, allocator slack); device peak: the "
        "whole GPU's memory used, every process. Energy per token: the generate phase's energy "
        "(NVML's energy counter) / generated tokens.");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        size_t n = 0;
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(gpu_cols); k++)
            if (g->stat[gpu_cols[k]].n > n)
                n = g->stat[gpu_cols[k]].n;
        size_t row = ostel_report_table_row_add(t);
        cell(t, row, 0, ostel_xstrdup(g->label));
        cell(t, row, 1, ostel_xasprintf("%zu", n));
        for (size_t k = 0; k < 7; k++)
            cell(t, row, 2 + k, gpu_cell(g, gpu_cols[k]));
        const struct ostel_stats_summary *e = &g->stat[OSTEL_REPORT_M_GPU_J_PER_TOKEN];
        char a[64], b[64];
        cell(t, row, 9,
             isnan(e->ci_lo) ? ostel_xstrdup("—")
                             : ostel_xasprintf("%s – %s", ostel_report_fmt_num(e->ci_lo, 3, a, 64),
                                               ostel_report_fmt_num(e->ci_hi, 3, b, 64)));
        cell(t, row, 10, gpu_cell(g, OSTEL_REPORT_M_GPU_TOKENS_PER_J));
    }
    static const int bold_cols[] = {OSTEL_REPORT_M_GPU_J_PER_TOKEN};
    bold_best_metrics(t, r, 8, bold_cols, 1);
}

/* ---- prediction against measurement ---- */

/* MiB with 2 decimals below 100, 1 above: the predictions are rounded to 0.01 MiB. */
static char *mib_cell(double v)
{
    return num(v, isnan(v) || fabs(v) < 100 ? 2 : 1);
}

static char *err_cell(double e, bool outside)
{
    if (isnan(e))
        return ostel_xstrdup("—");
    if (fabs(e) < 0.005)
        return ostel_xstrdup("0.00%");
    return ostel_xasprintf("%+.2f%%%s", e, outside ? " ⚠" : "");
}

static bool any_prediction(const struct ostel_report *r)
{
    for (size_t gi = 0; gi < r->ngroups; gi++)
        if (r->groups[gi].npred > 0)
            return true;
    return false;
}

static void build_prediction(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    if (!any_prediction(r))
        return;
    static const char *const head[] = {"Group",
                                       "ctx",
                                       "Device",
                                       "Model predicted",
                                       "Model measured",
                                       "Model error",
                                       "Context predicted",
                                       "Context measured",
                                       "Context error",
                                       "Compute predicted",
                                       "Compute measured",
                                       "Compute error"};
    struct ostel_report_table *t = ostel_report_table_new(
        ts, "prediction", "Predicted vs measured memory", 12, head, "lrlrrrrrrrrr");
    struct ostel_buf cap;
    ostel_buf_init(&cap, 1 << 16);
    ostel_buf_printf(&cap,
                     "ostel fit's memory model (docs/fit.md) against the buffer sizes llama.cpp "
                     "printed, in MiB, per context and device (host: RAM; gpu: the GPU's memory); "
                     "error = (predicted − measured) / measured. The model's error bars: weights "
                     "and context (KV cache) ±%.0f%%, compute buffers ±%.0f%%; ⚠ marks an error "
                     "beyond its bar. Median over the group's successful runs; the error shown is "
                     "the largest over them. — : no prediction (a summary from before ostel fit, "
                     "or a command that is not llama.cpp).",
                     OSTEL_MEMMODEL_BAR_MODEL_PCT, OSTEL_MEMMODEL_BAR_COMPUTE_PCT);
    /* What the model approximated, said once per distinct note. */
    size_t from_log = 0, notes = 0;
    for (size_t i = 0; i < r->set->n; i++) {
        const struct ostel_report_prediction *p = &r->set->runs[i].pred;
        if (!p->present)
            continue;
        from_log += strcmp(p->source, "log") == 0;
        bool seen = !*p->note;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(r->set->runs[k].pred.note, p->note) == 0;
        if (!seen && notes++ < 3)
            ostel_buf_printf(&cap, " Note from the model: %s.", p->note);
    }
    if (from_log)
        ostel_buf_printf(&cap,
                         " %zu run%s predicted without the GGUF (the model file was not readable "
                         "at the end of the run): from the log's model header, less exact.",
                         from_log, from_log == 1 ? " was" : "s were");
    t->caption = ostel_buf_detach(&cap);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        if (g->npred == 0) {
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(g->label));
            for (size_t c = 1; c < t->ncols; c++)
                cell(t, row, c, ostel_xstrdup("—"));
            continue;
        }
        for (size_t k = 0; k < g->npred; k++) {
            const struct ostel_report_pred_row *p = &g->pred[k];
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(g->label));
            cell(t, row, 1, p->n_ctx >= 0 ? ostel_xasprintf("%lld", p->n_ctx) : ostel_xstrdup("—"));
            cell(t, row, 2, ostel_xstrdup(strcmp(p->device, "all") == 0 ? "—" : p->device));
            for (int part = 0; part < OSTEL_REPORT_PART_OUTPUT; part++) {
                cell(t, row, 3 + 3 * (size_t)part, mib_cell(p->part[part].predicted_mib));
                cell(t, row, 4 + 3 * (size_t)part, mib_cell(p->part[part].measured_mib));
                cell(t, row, 5 + 3 * (size_t)part,
                     err_cell(p->part[part].error_pct, p->outside[part]));
                t->cells[row * t->ncols + 5 + 3 * (size_t)part].bad = p->outside[part];
            }
        }
    }
}

/* ---- memory against context ---- */

bool ostel_report_has_sweep(const struct ostel_report *r)
{
    for (size_t gi = 0; gi < r->ngroups; gi++)
        if (r->groups[gi].sweep.n > 0)
            return true;
    return false;
}

char *ostel_report_sweep_notes(const struct ostel_report *r)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 16);
    size_t n = 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        if (g->sweep.n > 0 || !g->sweep.note)
            continue;
        ostel_buf_printf(&b, "%s%s: %s", n ? "; " : "No memory sweep for ", g->label,
                         g->sweep.note);
        n++;
    }
    if (!n) {
        ostel_buf_free(&b);
        return NULL;
    }
    ostel_buf_putc(&b, '.');
    return ostel_buf_detach(&b);
}

/* "1k", "32k", "128k", or the number when it is no multiple of 1024. */
static char *ctx_label(double c)
{
    if (c >= 1024 && fmod(c, 1024) == 0)
        return ostel_xasprintf("%.0fk", c / 1024);
    return ostel_xasprintf("%.0f", c);
}

#define SWEEP_MAXCTX 14

static void build_sweep(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    if (!ostel_report_has_sweep(r))
        return;
    /* Columns: the union of the groups' contexts, ascending, at most SWEEP_MAXCTX. */
    double ctx[SWEEP_MAXCTX];
    size_t nctx = 0;
    bool cut = false;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_sweep *sw = &r->groups[gi].sweep;
        for (size_t i = 0; i < sw->n; i++) {
            double c = sw->pt[i].n_ctx;
            size_t k = 0;
            while (k < nctx && ctx[k] < c)
                k++;
            if (k < nctx && ctx[k] == c)
                continue;
            if (nctx == SWEEP_MAXCTX) {
                cut = true;
                if (k == nctx)
                    continue;
                nctx--; /* drop the largest */
            }
            memmove(ctx + k + 1, ctx + k, (nctx - k) * sizeof(*ctx));
            ctx[k] = c;
            nctx++;
        }
    }
    size_t ncols = 3 + nctx;
    char *head[MAXCOLS];
    char numeric[MAXCOLS + 1];
    head[0] = ostel_xstrdup("Group");
    head[1] = ostel_xstrdup("Device");
    numeric[0] = numeric[1] = 'l';
    for (size_t k = 0; k < nctx; k++) {
        head[2 + k] = ctx_label(ctx[k]);
        numeric[2 + k] = 'r';
    }
    head[ncols - 1] = ostel_xstrdup("Settings");
    numeric[ncols - 1] = 'l';
    numeric[ncols] = '\0';
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "sweep", "Memory against context (predicted)", ncols,
                               (const char *const *)head, numeric);
    for (size_t c = 0; c < ncols; c++)
        free(head[c]);
    struct ostel_buf cap;
    ostel_buf_init(&cap, 1 << 16);
    ostel_buf_puts(&cap, "What llama.cpp will allocate (MiB) for each group's model file with its "
                         "runs' settings, by context up to the model's trained context, as 'ostel "
                         "fit --ctx-sweep' computes it: weights, KV cache, compute and output "
                         "buffers. host: RAM (on Apple silicon everything, the memory is "
                         "unified); gpu: a discrete GPU's memory.");
    if (cut)
        ostel_buf_printf(&cap, " Only the %d smallest contexts are shown; the JSON report has all.",
                         SWEEP_MAXCTX);
    const struct ostel_report_group *mg = NULL;
    for (size_t gi = 0; gi < r->ngroups && !mg; gi++)
        if (!isnan(r->groups[gi].ram_mib) && r->groups[gi].sweep.n > 0)
            mg = &r->groups[gi];
    if (mg) {
        char a[64], b[64];
        ostel_buf_printf(&cap, " The machine of %s had %s MiB of RAM", mg->label,
                         ostel_report_fmt_num(mg->ram_mib, 0, a, sizeof(a)));
        if (!isnan(mg->avail_mib))
            ostel_buf_printf(&cap, ", %s MiB available when its runs started",
                             ostel_report_fmt_num(mg->avail_mib, 0, b, sizeof(b)));
        ostel_buf_putc(&cap, '.');
    }
    char *missing = ostel_report_sweep_notes(r);
    if (missing) {
        ostel_buf_printf(&cap, " %s", missing);
        free(missing);
    }
    t->caption = ostel_buf_detach(&cap);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        const struct ostel_report_sweep *sw = &g->sweep;
        if (sw->n == 0)
            continue;
        for (int dev = 0; dev < (sw->gpu ? 2 : 1); dev++) {
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(g->label));
            cell(t, row, 1, ostel_xstrdup(dev ? "gpu" : "host"));
            for (size_t k = 0; k < nctx; k++) {
                double v = NAN;
                for (size_t i = 0; i < sw->n; i++)
                    if (sw->pt[i].n_ctx == ctx[k])
                        v = dev ? sw->pt[i].gpu_mib : sw->pt[i].host_mib;
                cell(t, row, 2 + k, num(v, 0));
            }
            cell(t, row, ncols - 1, ostel_xstrdup(sw->params ? sw->params : "—"));
        }
    }
}

static const int tel_cols[] = {OSTEL_REPORT_TEL_RSS_PEAK_MIB,
                               OSTEL_REPORT_TEL_RSS_ANON_PEAK_MIB,
                               OSTEL_REPORT_TEL_RSS_FILE_PEAK_MIB,
                               OSTEL_REPORT_TEL_CPU_MEAN_PCT,
                               OSTEL_REPORT_TEL_PAGEINS,
                               OSTEL_REPORT_TEL_PAGEOUTS,
                               OSTEL_REPORT_TEL_MAJFLT,
                               OSTEL_REPORT_TEL_PRESSURE_WORST,
                               OSTEL_REPORT_TEL_AVAIL_MIN_PCT};
static const int tel_metric[] = {
    OSTEL_REPORT_M_RSS_PEAK_MIB, OSTEL_REPORT_M_RSS_ANON_PEAK_MIB, OSTEL_REPORT_M_RSS_FILE_PEAK_MIB,
    OSTEL_REPORT_M_CPU_MEAN_PCT, OSTEL_REPORT_M_PAGEINS,           OSTEL_REPORT_M_PAGEOUTS,
    OSTEL_REPORT_M_MAJFLT,       OSTEL_REPORT_M_PRESSURE_WORST,    OSTEL_REPORT_M_AVAIL_MIN_PCT};

static char *tel_cell(double v, int k)
{
    if (tel_cols[k] == OSTEL_REPORT_TEL_PRESSURE_WORST)
        return ostel_xstrdup(ostel_report_pressure_name(v));
    return num(v, ostel_report_metric_info(tel_metric[k])->decimals);
}

static void build_telemetry(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    static const char *const head[] = {
        "Group",   "Peak RSS (MiB)", "Peak anon (MiB)", "Peak file (MiB)", "Mean CPU %",
        "Pageins", "Pageouts",       "Major faults",    "Worst pressure",  "Lowest available %"};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "telemetry", "OS telemetry", 10, head, "lrrrrrrrrr");
    t->caption = ostel_xstrdup(
        "Whole runs. Peak RSS (and its anonymous and file-backed parts, each its own peak), worst "
        "pressure and lowest available memory are the worst over the runs; CPU (100 = one core), "
        "pageins, pageouts and major faults are means per run. Pageins "
        "and pageouts are system-wide pages, major faults the run's own.");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        size_t row = ostel_report_table_row_add(t);
        cell(t, row, 0, ostel_xstrdup(g->label));
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(tel_cols); k++)
            cell(t, row, 1 + k, tel_cell(g->value[tel_metric[k]], (int)k));
    }
    bold_best_metrics(t, r, 1, tel_metric, OSTEL_ARRAY_LEN(tel_cols));
}

static void build_phases(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    bool any = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        for (int p = 1; p < OSTEL_REPORT_NPHASES; p++)
            any |= r->groups[gi].phase_present[p];
    if (!any)
        return;
    static const char *const head[] = {"Group",          "Phase",           "Duration (s)",
                                       "Peak RSS (MiB)", "Peak anon (MiB)", "Peak file (MiB)",
                                       "Mean CPU %",     "Pageins",         "Pageouts",
                                       "Major faults",   "Worst pressure",  "Lowest available %"};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "phases", "OS telemetry by phase", 12, head, "llrrrrrrrrrr");
    t->caption = ostel_xstrdup("The same figures per phase of the runs (phases from the log's "
                               "timestamps): paging during prompt and generate slows inference, "
                               "paging during load is the model being read.");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (int p = 1; p < OSTEL_REPORT_NPHASES; p++) {
            if (!g->phase_present[p])
                continue;
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(g->label));
            cell(t, row, 1, ostel_xstrdup(ostel_report_phase_name(p)));
            cell(t, row, 2, num(g->phase_value[p][OSTEL_REPORT_TEL_DURATION_S], 2));
            for (size_t k = 0; k < OSTEL_ARRAY_LEN(tel_cols); k++)
                cell(t, row, 3 + k, tel_cell(g->phase_value[p][tel_cols[k]], (int)k));
        }
    }
}

static void build_statistics(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    static const char *const head[] = {"Group",     "Metric",    "n",      "Median",
                                       "Mean ± SD", "Min – Max", "95% CI", "CV"};
    struct ostel_report_table *t = ostel_report_table_new(
        ts, "statistics", "Statistics over repetitions", 8, head, "llrrrrrr");
    t->caption = ostel_xstrdup("Over each group's successful runs. 95% CI: the confidence interval "
                               "of the mean (Student t); CV: standard deviation / mean.");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        size_t nstat = OSTEL_ARRAY_LEN(stat_metrics) + (r->gpu ? OSTEL_ARRAY_LEN(gpu_cols) : 0);
        for (size_t k = 0; k < nstat; k++) {
            int m = k < OSTEL_ARRAY_LEN(stat_metrics) ? stat_metrics[k]
                                                      : gpu_cols[k - OSTEL_ARRAY_LEN(stat_metrics)];
            const struct ostel_stats_summary *s = &g->stat[m];
            const struct ostel_report_metric_info *mi = ostel_report_metric_info(m);
            if (s->n == 0)
                continue;
            size_t row = ostel_report_table_row_add(t);
            char a[64], b[64];
            cell(t, row, 0, ostel_xstrdup(g->label));
            cell(t, row, 1, ostel_xasprintf("%s", mi->label));
            cell(t, row, 2, ostel_xasprintf("%zu", s->n));
            cell(t, row, 3, num(s->median, mi->decimals));
            cell(t, row, 4, ostel_report_fmt_mean_sd(s, mi->decimals));
            cell(t, row, 5,
                 ostel_xasprintf("%s – %s", ostel_report_fmt_num(s->min, mi->decimals, a, 64),
                                 ostel_report_fmt_num(s->max, mi->decimals, b, 64)));
            cell(t, row, 6,
                 isnan(s->ci_lo)
                     ? ostel_xstrdup("—")
                     : ostel_xasprintf("%s – %s",
                                       ostel_report_fmt_num(s->ci_lo, mi->decimals, a, 64),
                                       ostel_report_fmt_num(s->ci_hi, mi->decimals, b, 64)));
            cell(t, row, 7,
                 isnan(s->cv) ? ostel_xstrdup("—") : ostel_xasprintf("%.1f%%", 100 * s->cv));
        }
    }
}

/* "12.3% faster" style wording of a ratio for a metric. */
static char *ratio_words(int m, double ratio)
{
    const char *up, *down;
    switch (m) {
    case OSTEL_REPORT_M_PROMPT_TPS:
    case OSTEL_REPORT_M_GEN_TPS:
        up = "faster";
        down = "slower";
        break;
    case OSTEL_REPORT_M_WALL_S:
        up = "longer";
        down = "shorter";
        break;
    default:
        up = "more";
        down = "less";
        break;
    }
    double pct = 100 * (ratio - 1);
    return ostel_xasprintf("%.1f%% %s", fabs(pct), pct >= 0 ? up : down);
}

static void build_comparison(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    if (r->ngroups < 2)
        return;
    static const char *const head[] = {"Group", "Metric", "Ratio", "95% CI", "Welch p", "Verdict"};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "comparison", "Comparison with the baseline", 6, head, "llrrrl");
    const struct ostel_report_group *base = &r->groups[r->baseline];
    t->caption = ostel_xasprintf(
        "Each group's mean divided by the baseline %s's. The interval is the delta method on the "
        "log ratio; a difference is called significant when Welch's t-test gives p < 0.05.",
        base->label);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        if (gi == r->baseline)
            continue;
        const struct ostel_report_group *g = &r->groups[gi];
        for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++) {
            const struct ostel_report_metric_info *mi = ostel_report_metric_info(m);
            const struct ostel_report_cmp *c = &g->cmp[m];
            if (!mi->compare || isnan(c->ratio.ratio))
                continue;
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(g->label));
            cell(t, row, 1,
                 ostel_xstrdup(m == OSTEL_REPORT_M_DEV_USED_MIB ? "Device used (MiB)" : mi->label));
            cell(t, row, 2, ostel_xasprintf("%.3f×", c->ratio.ratio));
            cell(t, row, 3,
                 isnan(c->ratio.lo) ? ostel_xstrdup("—")
                                    : ostel_xasprintf("%.3f – %.3f", c->ratio.lo, c->ratio.hi));
            cell(t, row, 4, ostel_report_fmt_p(c->welch.p));
            char *words = ratio_words(m, c->ratio.ratio);
            if (isnan(c->welch.p))
                cell(t, row, 5,
                     ostel_xasprintf("%s; untested (needs 2 runs in each group)", words));
            else if (c->significant)
                cell(t, row, 5, ostel_xasprintf("%s, significant", words));
            else
                cell(t, row, 5, ostel_xstrdup("no significant difference"));
            t->cells[row * t->ncols + 5].bold = c->significant;
            free(words);
        }
    }
    if (t->nrows == 0)
        t->caption = (free(t->caption), ostel_xstrdup("No metric could be compared."));
}

static void build_trends(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    static const char *const head[] = {"Group", "Metric", "Runs", "Slope per run", "p", "Verdict"};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "trends", "Trends across repeated runs", 6, head, "llrrrl");
    t->caption = ostel_xstrdup("A least-squares line through each metric over a group's "
                               "successive runs (3 or more); the slope is tested against 0 "
                               "(Student t, n − 2 degrees of freedom).");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (int k = 0; k < OSTEL_REPORT_NTREND; k++) {
            const struct ostel_stats_trend *tr = &g->trend[k];
            if (tr->n < 3 || isnan(tr->slope))
                continue;
            int m = ostel_report_trend_metric(k);
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(g->label));
            cell(t, row, 1, ostel_xasprintf("%s", ostel_report_metric_info(m)->label));
            cell(t, row, 2, ostel_xasprintf("%zu", tr->n));
            char b[64];
            ostel_report_fmt_num(tr->slope, 1, b, sizeof(b));
            cell(t, row, 3, ostel_xasprintf("%s%s", tr->slope > 0 ? "+" : "", b));
            cell(t, row, 4, ostel_report_fmt_p(tr->p));
            bool sig = !isnan(tr->p) && tr->p < 0.05 && tr->slope != 0;
            cell(t, row, 5,
                 ostel_xstrdup(!sig            ? "no significant trend"
                               : tr->slope > 0 ? "grows run after run"
                                               : "shrinks run after run"));
            t->cells[row * t->ncols + 5].bold = sig;
        }
    }
    if (t->nrows == 0) {
        /* Nothing to show: drop the table. */
        for (size_t c = 0; c < t->ncols; c++)
            free(t->head[c]);
        free(t->head);
        free(t->numeric);
        free(t->caption);
        free(t->cells);
        ts->n--;
    }
}

/* A run's prediction in a few words: "within the bars", "compute +18.20% ⚠", "—". */
static char *prediction_words(const struct ostel_report_prediction *p)
{
    if (!p->present)
        return ostel_xstrdup("—");
    struct ostel_buf b;
    ostel_buf_init(&b, 4096);
    for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++) {
        double e = p->part[k].error_pct;
        if (!isnan(e) && fabs(e) > ostel_report_part_bar_pct(k))
            ostel_buf_printf(&b, "%s%s %+.2f%% ⚠", b.len ? ", " : "", ostel_report_part_name(k), e);
    }
    if (b.len)
        return ostel_buf_detach(&b);
    ostel_buf_free(&b);
    if (p->within_bars == 0)
        return ostel_xstrdup("outside the bars ⚠");
    if (p->within_bars == 1)
        return ostel_xstrdup("within the bars");
    bool any = false;
    for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
        any |= !isnan(p->part[k].error_pct);
    return ostel_xstrdup(any ? "within the bars" : "nothing measured");
}

static void build_runs(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    static const char *const head[] = {"Run",
                                       "Group",
                                       "Status",
                                       "ctx",
                                       "gen",
                                       "Prompt TPS",
                                       "Generation TPS",
                                       "Duration (s)",
                                       "Peak RSS (MiB)",
                                       "Peak anon (MiB)",
                                       "Peak file (MiB)",
                                       "Device used (MiB)",
                                       "Prediction"};
    struct ostel_report_table *t =
        ostel_report_table_new(ts, "runs", "Runs", 13, head, "lllrrrrrrrrrl");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t i = 0; i < g->n; i++) {
            const struct ostel_report_run *run = &r->set->runs[g->runs[i]];
            size_t row = ostel_report_table_row_add(t);
            cell(t, row, 0, ostel_xstrdup(run->name));
            cell(t, row, 1, ostel_xstrdup(g->label));
            cell(t, row, 2, ostel_xstrdup(*run->status ? run->status : "—"));
            cell(t, row, 3, run->ctx >= 0 ? ostel_xasprintf("%lld", run->ctx) : ostel_xstrdup("—"));
            cell(t, row, 4, run->gen >= 0 ? ostel_xasprintf("%lld", run->gen) : ostel_xstrdup("—"));
            cell(t, row, 5, num(run->metric[OSTEL_REPORT_M_PROMPT_TPS], 2));
            cell(t, row, 6, num(run->metric[OSTEL_REPORT_M_GEN_TPS], 2));
            cell(t, row, 7, num(run->metric[OSTEL_REPORT_M_WALL_S], 2));
            cell(t, row, 8, num(run->metric[OSTEL_REPORT_M_RSS_PEAK_MIB], 0));
            cell(t, row, 9, num(run->metric[OSTEL_REPORT_M_RSS_ANON_PEAK_MIB], 0));
            cell(t, row, 10, num(run->metric[OSTEL_REPORT_M_RSS_FILE_PEAK_MIB], 0));
            char *used = num(run->metric[OSTEL_REPORT_M_DEV_USED_MIB], 0);
            if (*run->device && !isnan(run->metric[OSTEL_REPORT_M_DEV_USED_MIB])) {
                cell(t, row, 11, ostel_xasprintf("%s (%s)", used, run->device));
                free(used);
            } else {
                cell(t, row, 11, used);
            }
            cell(t, row, 12, prediction_words(&run->pred));
            t->cells[row * t->ncols + 12].bad = run->pred.within_bars == 0;
        }
    }
}

void ostel_report_tables_build(const struct ostel_report *r, struct ostel_report_tables *out)
{
    out->t = NULL;
    out->n = 0;
    build_throughput(r, out);
    build_memory(r, out);
    build_gpu(r, out);
    ostel_report_quality_tables(r, out);
    build_prediction(r, out);
    build_sweep(r, out);
    build_telemetry(r, out);
    build_phases(r, out);
    build_statistics(r, out);
    build_comparison(r, out);
    build_trends(r, out);
    ostel_report_serve_tables(r, out);
    build_runs(r, out);
}

void ostel_report_tables_free(struct ostel_report_tables *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        struct ostel_report_table *t = &ts->t[i];
        for (size_t c = 0; c < t->ncols; c++)
            free(t->head[c]);
        for (size_t k = 0; k < t->nrows * t->ncols; k++)
            free(t->cells[k].text);
        free(t->head);
        free(t->numeric);
        free(t->cells);
        free(t->caption);
    }
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}
