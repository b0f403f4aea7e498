/*
 * report: the analysis behind every output format of `ostel report`. It groups a run set, computes
 * each group's statistics over its successful runs, compares every group with the baseline, fits
 * trends over successive runs and turns what it finds into notes and an interpretation — all from
 * the data, with no I/O, so Markdown, CSV, JSON and HTML say the same things. The thresholds are
 * in report_notes.c and documented in docs/report.md. The memory prediction against measurement
 * and the sweep over contexts are report_sweep.c.
 */
#include "report/report_internal.h"
#include "rundir/rundir_phase_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The comparison with the baseline (docs/report.md). */
#define SIGNIFICANCE 0.05

static const struct ostel_report_metric_info metric_info[OSTEL_REPORT_NMETRIC] = {
    [OSTEL_REPORT_M_PROMPT_TPS] = {"prompt_tps", "Prompt TPS", "tok/s", OSTEL_REPORT_BETTER_HIGH,
                                   OSTEL_REPORT_AGG_MEAN, 2, true},
    [OSTEL_REPORT_M_GEN_TPS] = {"gen_tps", "Generation TPS", "tok/s", OSTEL_REPORT_BETTER_HIGH,
                                OSTEL_REPORT_AGG_MEAN, 2, true},
    [OSTEL_REPORT_M_WALL_S] = {"duration_s", "Duration (s)", "s", OSTEL_REPORT_BETTER_LOW,
                               OSTEL_REPORT_AGG_MEAN, 2, true},
    [OSTEL_REPORT_M_DEV_USED_MIB] = {"device_used_mib", "Used (MiB)", "MiB",
                                     OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEDIAN, 0, true},
    [OSTEL_REPORT_M_MODEL_MIB] = {"model_mib", "Model (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                  OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_CONTEXT_MIB] = {"context_mib", "Context (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                    OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_COMPUTE_MIB] = {"compute_mib", "Compute (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                    OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_HOST_MIB] = {"host_mib", "Host (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                 OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_RSS_PEAK_MIB] = {"rss_peak_mib", "Peak RSS (MiB)", "MiB",
                                     OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MAX, 0, true},
    [OSTEL_REPORT_M_CPU_MEAN_PCT] = {"cpu_mean_pct", "Mean CPU %", "%", OSTEL_REPORT_BETTER_NONE,
                                     OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_PAGEINS] = {"pageins", "Pageins", "pages", OSTEL_REPORT_BETTER_LOW,
                                OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_PAGEOUTS] = {"pageouts", "Pageouts", "pages", OSTEL_REPORT_BETTER_LOW,
                                 OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_MAJFLT] = {"majflt", "Major faults", "faults", OSTEL_REPORT_BETTER_LOW,
                               OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_PRESSURE_WORST] = {"pressure_worst", "Worst pressure", "",
                                       OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MAX, 0, false},
    [OSTEL_REPORT_M_AVAIL_MIN_PCT] = {"avail_min_pct", "Lowest available %", "%",
                                      OSTEL_REPORT_BETTER_HIGH, OSTEL_REPORT_AGG_MIN, 1, false},
    [OSTEL_REPORT_M_RSS_ANON_PEAK_MIB] = {"rss_anon_peak_mib", "Peak anon (MiB)", "MiB",
                                          OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MAX, 0, false},
    [OSTEL_REPORT_M_RSS_FILE_PEAK_MIB] = {"rss_file_peak_mib", "Peak file (MiB)", "MiB",
                                          OSTEL_REPORT_BETTER_NONE, OSTEL_REPORT_AGG_MAX, 0, false},
    [OSTEL_REPORT_M_GPU_DEV_PEAK_MIB] = {"gpu_device_peak_mib", "GPU device peak (MiB)", "MiB",
                                         OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, true},
    [OSTEL_REPORT_M_GPU_PROC_PEAK_MIB] = {"gpu_process_peak_mib", "GPU process peak (MiB)", "MiB",
                                          OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, true},
    [OSTEL_REPORT_M_GPU_LLAMA_MIB] = {"gpu_llama_mib", "llama.cpp on GPU (MiB)", "MiB",
                                      OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_GPU_BEYOND_MIB] = {"gpu_beyond_llama_mib", "Beyond llama.cpp (MiB)", "MiB",
                                       OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_GPU_POWER_PEAK_W] = {"gpu_power_peak_w", "GPU peak power (W)", "W",
                                         OSTEL_REPORT_BETTER_NONE, OSTEL_REPORT_AGG_MEAN, 1, false},
    [OSTEL_REPORT_M_GPU_GEN_POWER_W] = {"gpu_generate_power_w", "GPU power, generate (W)", "W",
                                        OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 1, true},
    [OSTEL_REPORT_M_GPU_J_PER_TOKEN] = {"gpu_j_per_token", "Energy per token (J)", "J/token",
                                        OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 3, true},
    [OSTEL_REPORT_M_GPU_TOKENS_PER_J] = {"gpu_tokens_per_j", "Tokens per joule", "tok/J",
                                         OSTEL_REPORT_BETTER_HIGH, OSTEL_REPORT_AGG_MEAN, 3, true},
};

bool ostel_report_metric_is_gpu(int metric)
{
    return metric >= OSTEL_REPORT_M_GPU_FIRST && metric < OSTEL_REPORT_NMETRIC;
}

const struct ostel_report_metric_info *ostel_report_metric_info(int metric)
{
    OSTEL_ASSERT(metric >= 0 && metric < OSTEL_REPORT_NMETRIC);
    return &metric_info[metric];
}

static const struct {
    const char *name;
    int metric;
} trends[OSTEL_REPORT_NTREND] = {
    [OSTEL_REPORT_TREND_RSS] = {"peak RSS", OSTEL_REPORT_M_RSS_PEAK_MIB},
    [OSTEL_REPORT_TREND_PAGEINS] = {"pageins", OSTEL_REPORT_M_PAGEINS},
    [OSTEL_REPORT_TREND_PAGEOUTS] = {"pageouts", OSTEL_REPORT_M_PAGEOUTS},
    [OSTEL_REPORT_TREND_MAJFLT] = {"major faults", OSTEL_REPORT_M_MAJFLT},
};

const char *ostel_report_trend_name(int t)
{
    OSTEL_ASSERT(t >= 0 && t < OSTEL_REPORT_NTREND);
    return trends[t].name;
}

int ostel_report_trend_metric(int t)
{
    OSTEL_ASSERT(t >= 0 && t < OSTEL_REPORT_NTREND);
    return trends[t].metric;
}

static const struct {
    const char *name;
    unsigned bit;
} group_keys[] = {{"tag", OSTEL_REPORT_BY_TAG},           {"model", OSTEL_REPORT_BY_MODEL},
                  {"ctx", OSTEL_REPORT_BY_CTX},           {"gen", OSTEL_REPORT_BY_GEN},
                  {"scenario", OSTEL_REPORT_BY_SCENARIO}, {"host", OSTEL_REPORT_BY_HOST}};

bool ostel_report_parse_group_by(const char *s, unsigned *out)
{
    unsigned bits = 0;
    struct ostel_str rest = ostel_str_from_cstr(s);
    while (rest.n > 0) {
        long comma = ostel_str_find(rest, ",");
        size_t n = comma < 0 ? rest.n : (size_t)comma;
        struct ostel_str key = ostel_str_trim(ostel_str_make(rest.p, n));
        bool found = false;
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(group_keys); i++)
            if (ostel_str_eq(key, group_keys[i].name)) {
                bits |= group_keys[i].bit;
                found = true;
            }
        if (!found)
            return false;
        rest = comma < 0 ? ostel_str_make(rest.p + rest.n, 0)
                         : ostel_str_make(rest.p + n + 1, rest.n - n - 1);
    }
    if (!bits)
        return false;
    *out = bits;
    return true;
}

/* The model's file name without its directory. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static char *group_label(const struct ostel_report_run *r, unsigned by)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 4096);
    const char *sep = "";
    if (by & OSTEL_REPORT_BY_HOST) {
        ostel_buf_printf(&b, "%s%s", sep, *r->host ? r->host : "(unknown host)");
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_TAG) {
        ostel_buf_printf(&b, "%s%s", sep, *r->tag ? r->tag : "(untagged)");
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_MODEL) {
        ostel_buf_printf(&b, "%s%s", sep, *r->model ? base_name(r->model) : "(no model)");
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_CTX) {
        if (r->ctx >= 0)
            ostel_buf_printf(&b, "%sctx %lld", sep, r->ctx);
        else
            ostel_buf_printf(&b, "%sctx ?", sep);
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_GEN) {
        if (r->gen >= 0)
            ostel_buf_printf(&b, "%sgen %lld", sep, r->gen);
        else
            ostel_buf_printf(&b, "%sgen ?", sep);
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_SCENARIO)
        ostel_buf_printf(&b, "%s%s", sep, *r->scenario ? r->scenario : "none");
    return ostel_buf_detach(&b);
}

/* ---- building ---- */

/* Values of one metric over the group's ok runs, in start order; the caller frees. */
double *ostel_report_ok_values(const struct ostel_report_set *set,
                               const struct ostel_report_group *g, int metric,
                               const struct ostel_report_run ***runs_out)
{
    double *v = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*v));
    const struct ostel_report_run **runs = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*runs));
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!r->ok)
            continue;
        runs[k] = r;
        v[k++] = r->metric[metric];
    }
    if (runs_out)
        *runs_out = runs;
    else
        free(runs);
    return v;
}

double ostel_report_median(const double *v, size_t n)
{
    struct ostel_stats_summary s;
    ostel_stats_summarize(v, n, &s);
    return s.median;
}

static void group_stats(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++) {
        double *v = ostel_report_ok_values(set, g, m, NULL);
        struct ostel_stats_summary *s = &g->stat[m];
        ostel_stats_summarize(v, g->n_ok, s);
        switch (metric_info[m].agg) {
        case OSTEL_REPORT_AGG_MEAN:
            g->value[m] = s->mean;
            break;
        case OSTEL_REPORT_AGG_MEDIAN:
            g->value[m] = s->median;
            break;
        case OSTEL_REPORT_AGG_MAX:
            g->value[m] = s->max;
            break;
        default:
            g->value[m] = s->min;
            break;
        }
        free(v);
    }
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++) {
        for (int t = 0; t < OSTEL_REPORT_NTEL; t++) {
            double *v = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*v));
            size_t k = 0;
            for (size_t i = 0; i < g->n; i++) {
                const struct ostel_report_run *r = &set->runs[g->runs[i]];
                if (!r->ok)
                    continue;
                g->phase_present[p] |= r->phase_present[p];
                v[k++] = r->tel[p][t];
            }
            struct ostel_stats_summary s;
            ostel_stats_summarize(v, k, &s);
            /* Peaks and lows over runs as what they are (the table's MAX and MIN); amounts, means
             * and durations as means. */
            switch (ostel_phase_stat((enum ostel_phase_stat)ostel_phase_stat_of_report(t))->agg) {
            case OSTEL_PHASE_AGG_MAX:
                g->phase_value[p][t] = s.max;
                break;
            case OSTEL_PHASE_AGG_MIN:
                g->phase_value[p][t] = s.min;
                break;
            default:
                g->phase_value[p][t] = s.mean;
                break;
            }
            free(v);
        }
    }
    for (int t = 0; t < OSTEL_REPORT_NTREND; t++) {
        double *v = ostel_report_ok_values(set, g, trends[t].metric, NULL);
        ostel_stats_trend_fit(v, g->n_ok, &g->trend[t]);
        free(v);
    }
}

static char *common_string(const struct ostel_report_set *set, const struct ostel_report_group *g,
                           bool model)
{
    const char *first = NULL;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        const char *s = model ? base_name(r->model) : r->device;
        if (!*s)
            continue;
        if (!first)
            first = s;
        else if (strcmp(first, s) != 0)
            return ostel_xstrdup(model ? "(mixed)" : "");
    }
    return ostel_xstrdup(first ? first : "");
}

static int cmp_start(const void *a, const void *b, const struct ostel_report_set *set)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double tx = set->runs[x].start_ts, ty = set->runs[y].start_ts;
    if (!isnan(tx) && !isnan(ty) && tx != ty)
        return tx < ty ? -1 : 1;
    if (isnan(tx) != isnan(ty))
        return isnan(tx) ? 1 : -1;
    return (x > y) - (x < y);
}

/* A stable merge sort (qsort has no context argument in C11, and is not stable): a group of
 * 10,000 runs copied in turn from a few templates is far from start order, which made the former
 * insertion sort quadratic. */
static void sort_runs(size_t *v, size_t n, const struct ostel_report_set *set)
{
    if (n < 2)
        return;
    size_t *tmp = ostel_xmalloc(n * sizeof(*tmp));
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp_start(&v[j], &v[i], set) < 0 ? v[j++] : v[i++];
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
    free(tmp);
}

int ostel_report_build(struct ostel_report *r, const struct ostel_report_set *set,
                       const struct ostel_report_options *opt, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    r->set = set;
    r->group_by = opt->group_by ? opt->group_by : OSTEL_REPORT_BY_TAG;
    if (set->n == 0) {
        snprintf(err, err_size, "no runs to report on");
        return OSTEL_ERR;
    }
    char **labels = ostel_xmalloc(set->n * sizeof(*labels));
    for (size_t i = 0; i < set->n; i++) {
        labels[i] = group_label(&set->runs[i], r->group_by);
        r->gpu |= set->runs[i].has_gpu;
    }
    r->groups = ostel_xcalloc(set->n, sizeof(*r->groups));
    for (size_t i = 0; i < set->n; i++) {
        if (ostel_report_quality_apart(set, i))
            continue;
        size_t gi = 0;
        while (gi < r->ngroups && strcmp(r->groups[gi].label, labels[i]) != 0)
            gi++;
        struct ostel_report_group *g = &r->groups[gi];
        if (gi == r->ngroups) {
            r->ngroups++;
            g->label = ostel_xstrdup(labels[i]);
        }
        if ((g->n & (g->n - 1)) == 0) /* 0, 1, 2, 4...: doubling, not set->n per group */
            g->runs = ostel_xrealloc(g->runs, (g->n ? 2 * g->n : 1) * sizeof(*g->runs));
        g->runs[g->n++] = i;
        g->n_ok += set->runs[i].ok;
    }
    for (size_t i = 0; i < set->n; i++)
        free(labels[i]);
    free(labels);

    r->baseline = 0;
    if (opt->baseline) {
        size_t found = r->ngroups;
        for (size_t gi = 0; gi < r->ngroups && found == r->ngroups; gi++)
            if (strcmp(r->groups[gi].label, opt->baseline) == 0)
                found = gi;
        for (size_t gi = 0; gi < r->ngroups && found == r->ngroups; gi++)
            if (strcmp(set->runs[r->groups[gi].runs[0]].tag, opt->baseline) == 0)
                found = gi;
        if (found == r->ngroups) {
            struct ostel_buf b;
            ostel_buf_init(&b, 4096);
            for (size_t gi = 0; gi < r->ngroups; gi++)
                ostel_buf_printf(&b, "%s'%s'", gi ? ", " : "", r->groups[gi].label);
            snprintf(err, err_size, "baseline '%s' matches no group (the groups are %s)",
                     opt->baseline, b.data);
            ostel_buf_free(&b);
            return OSTEL_ERR;
        }
        r->baseline = found;
    }

    ostel_report_quality_link(r);
    ostel_report_read_models(r);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        sort_runs(g->runs, g->n, set);
        g->model = common_string(set, g, true);
        g->device = common_string(set, g, false);
        group_stats(set, g);
        ostel_report_group_notes(set, g);
        ostel_report_group_predictions(set, g);
        ostel_report_group_sweep(r, g);
        ostel_report_group_machine(set, g);
    }
    const struct ostel_report_group *base = &r->groups[r->baseline];
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++) {
            struct ostel_report_cmp *c = &g->cmp[m];
            ostel_stats_ratio_ci(&g->stat[m], &base->stat[m], &c->ratio);
            ostel_stats_welch_test(&g->stat[m], &base->stat[m], &c->welch);
            c->significant = gi != r->baseline && !isnan(c->welch.p) && c->welch.p < SIGNIFICANCE;
        }
    }
    return 0;
}

void ostel_report_free(struct ostel_report *r)
{
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        free(g->label);
        free(g->model);
        free(g->device);
        free(g->runs);
        for (size_t i = 0; i < g->nnotes; i++) {
            free(g->notes[i].brief);
            free(g->notes[i].text);
        }
        free(g->notes);
        free(g->interpretation);
        free(g->pred);
        free(g->sweep.params);
        free(g->sweep.marks);
        free(g->sweep.note);
    }
    free(r->groups);
    for (size_t i = 0; i < r->nmodels; i++) {
        free(r->models[i].path);
        free(r->models[i].err);
        if (r->models[i].ok)
            ostel_memmodel_shape_free(&r->models[i].shape);
    }
    free(r->models);
    memset(r, 0, sizeof(*r));
}

/* ---- formats and shared helpers ---- */

static const struct ostel_report_format formats[] = {
    {"csv", ostel_report_csv_write},
    {"html", ostel_report_html_write},
    {"json", ostel_report_json_write},
    {"md", ostel_report_md_write},
};

const struct ostel_report_format *ostel_report_find_format(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(formats); i++)
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    return NULL;
}

void ostel_report_escape_html(struct ostel_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            ostel_buf_puts(out, "&lt;");
            break;
        case '>':
            ostel_buf_puts(out, "&gt;");
            break;
        case '&':
            ostel_buf_puts(out, "&amp;");
            break;
        case '"':
            ostel_buf_puts(out, "&quot;");
            break;
        case '\'':
            ostel_buf_puts(out, "&#39;");
            break;
        default:
            ostel_buf_putc(out, *s);
            break;
        }
    }
}

void ostel_report_escape_script_json(struct ostel_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<' || c == '>' || c == '&') {
            ostel_buf_printf(out, "\\u%04x", c);
        } else if (c == 0xe2 && (unsigned char)s[1] == 0x80 &&
                   ((unsigned char)s[2] == 0xa8 || (unsigned char)s[2] == 0xa9)) {
            ostel_buf_printf(out, "\\u%04x", (unsigned char)s[2] == 0xa8 ? 0x2028 : 0x2029);
            s += 2;
        } else {
            ostel_buf_putc(out, (char)c);
        }
    }
}

char *ostel_report_fmt_num(double v, int decimals, char *out, size_t size)
{
    if (isnan(v) || isinf(v)) {
        snprintf(out, size, "—");
        return out;
    }
    char raw[64];
    snprintf(raw, sizeof(raw), "%.*f", decimals, v);
    if (strcmp(raw, "-0") == 0 || strspn(raw, "-0.") == strlen(raw))
        snprintf(raw, sizeof(raw), "%.*f", decimals, 0.0);
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    size_t intlen = strcspn(digits, ".");
    size_t k = 0;
    if (raw[0] == '-' && k + 1 < size)
        out[k++] = '-';
    for (size_t i = 0; digits[i] && k + 2 < size; i++) {
        if (i > 0 && i < intlen && (intlen - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
    return out;
}

char *ostel_report_fmt_mean_sd(const struct ostel_stats_summary *st, int decimals)
{
    char a[64], b[64];
    if (st->n == 0)
        return ostel_xstrdup("—");
    ostel_report_fmt_num(st->mean, decimals, a, sizeof(a));
    if (isnan(st->sd))
        return ostel_xstrdup(a);
    return ostel_xasprintf("%s ± %s", a, ostel_report_fmt_num(st->sd, decimals, b, sizeof(b)));
}

char *ostel_report_fmt_p(double p)
{
    if (isnan(p))
        return ostel_xstrdup("—");
    if (p < 0.001)
        return ostel_xstrdup("<0.001");
    return ostel_xasprintf("%.3f", p);
}
