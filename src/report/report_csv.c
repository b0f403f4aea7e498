/*
 * report_csv: one CSV row per group (RFC 4180; docs/report.md has the schema). Where a column means
 * what llama-bench's CSV column of that name means, it has that name (model_filename, model_type,
 * model_size, model_n_params, n_prompt, n_gen, avg_ts, stddev_ts), so scripts written for
 * llama-bench read it: avg_ts / stddev_ts are the generation speed, as in a llama-bench "tg" row.
 * Not available is an empty cell, never 0. The memory prediction's columns (predicted_*,
 * measured_*, error_*) come last, after notes, so scripts reading columns by position still work.
 */
#include "report/report.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void csv_str(struct ostel_buf *out, const char *s)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        ostel_buf_puts(out, s);
        return;
    }
    ostel_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"')
            ostel_buf_putc(out, '"');
        ostel_buf_putc(out, *s);
    }
    ostel_buf_putc(out, '"');
}

void ostel_report_csv_num(struct ostel_buf *out, double v)
{
    if (!isfinite(v))
        return;
    char b[64];
    snprintf(b, sizeof(b), "%.4f", v);
    char *dot = strchr(b, '.');
    if (dot) {
        char *e = b + strlen(b) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    if (strcmp(b, "-0") == 0)
        strcpy(b, "0");
    ostel_buf_puts(out, b);
}

/* A comparison with the baseline: ratio, its 95% CI (lo, hi), Welch's p and significant (1/0);
 * five empty cells for the baseline itself. */
static void csv_cmp(struct ostel_buf *out, const struct ostel_report_cmp *c, bool base)
{
    ostel_report_csv_num(out, base ? NAN : c->ratio.ratio);
    ostel_buf_putc(out, ',');
    ostel_report_csv_num(out, base ? NAN : c->ratio.lo);
    ostel_buf_putc(out, ',');
    ostel_report_csv_num(out, base ? NAN : c->ratio.hi);
    ostel_buf_putc(out, ',');
    ostel_report_csv_num(out, base ? NAN : c->welch.p);
    ostel_buf_putc(out, ',');
    if (!base && !isnan(c->welch.p))
        ostel_buf_puts(out, c->significant ? "1" : "0");
}

static const char *const columns[] = {"group",
                                      "tag",
                                      "model_filename",
                                      "model_type",
                                      "model_size",
                                      "model_n_params",
                                      "n_ctx",
                                      "n_prompt",
                                      "n_gen",
                                      "runs",
                                      "runs_ok",
                                      "avg_ts",
                                      "stddev_ts",
                                      "median_ts",
                                      "min_ts",
                                      "max_ts",
                                      "ci95_lo_ts",
                                      "ci95_hi_ts",
                                      "cv_ts",
                                      "prompt_avg_ts",
                                      "prompt_stddev_ts",
                                      "prompt_median_ts",
                                      "duration_avg_s",
                                      "duration_stddev_s",
                                      "device",
                                      "device_used_mib",
                                      "model_mib",
                                      "context_mib",
                                      "compute_mib",
                                      "host_mib",
                                      "rss_peak_mib",
                                      "cpu_mean_pct",
                                      "pageins",
                                      "pageouts",
                                      "majflt",
                                      "pressure_worst",
                                      "avail_min_pct",
                                      "plan_mib",
                                      "plan_basis",
                                      "gen_ratio",
                                      "gen_ratio_ci95_lo",
                                      "gen_ratio_ci95_hi",
                                      "gen_p",
                                      "gen_significant",
                                      "notes",
                                      "predicted_model_mib",
                                      "measured_model_mib",
                                      "error_model_pct",
                                      "predicted_context_mib",
                                      "measured_context_mib",
                                      "error_context_pct",
                                      "predicted_compute_mib",
                                      "measured_compute_mib",
                                      "error_compute_pct",
                                      "prediction_within_bars",
                                      "rss_anon_peak_mib",
                                      "rss_file_peak_mib"};

/* The group's value of a run field when all its runs agree, else NAN / "". */
static const char *common_model(const struct ostel_report *r, const struct ostel_report_group *g)
{
    const char *m = NULL;
    for (size_t i = 0; i < g->n; i++) {
        const char *s = r->set->runs[g->runs[i]].model;
        if (!*s)
            continue;
        if (m && strcmp(m, s) != 0)
            return "";
        m = s;
    }
    return m ? m : "";
}

static const char *common_str_field(const struct ostel_report *r,
                                    const struct ostel_report_group *g, size_t off)
{
    const char *v = NULL;
    for (size_t i = 0; i < g->n; i++) {
        const char *s = *(char *const *)((const char *)&r->set->runs[g->runs[i]] + off);
        if (!*s)
            continue;
        if (v && strcmp(v, s) != 0)
            return "";
        v = s;
    }
    return v ? v : "";
}

static double median_field(const struct ostel_report *r, const struct ostel_report_group *g,
                           size_t off, bool is_ll)
{
    double *v = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) {
        const char *run = (const char *)&r->set->runs[g->runs[i]];
        if (is_ll) {
            long long x = *(const long long *)(run + off);
            v[k++] = x < 0 ? NAN : (double)x;
        } else {
            v[k++] = *(const double *)(run + off);
        }
    }
    struct ostel_stats_summary s;
    ostel_stats_summarize(v, k, &s);
    free(v);
    return s.median;
}

/* The header: the columns, the GPU's when some run has GPU telemetry (the serving ones follow). */
static void csv_header(const struct ostel_report *r, struct ostel_buf *out)
{
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(columns); c++)
        ostel_buf_printf(out, "%s%s", c ? "," : "", columns[c]);
    if (r->gpu) {
        for (int m = OSTEL_REPORT_M_GPU_FIRST; m < OSTEL_REPORT_NMETRIC; m++) {
            const char *k = ostel_report_metric_info(m)->key;
            ostel_buf_printf(out, ",%s_mean,%s_sd,%s_ci95_lo,%s_ci95_hi", k, k, k, k);
        }
        ostel_buf_puts(out, ",gpu_j_per_token_ratio,gpu_j_per_token_ratio_ci95_lo,"
                            "gpu_j_per_token_ratio_ci95_hi,gpu_j_per_token_p,"
                            "gpu_j_per_token_significant");
    }
}

/* A group's row, section by section: the first cell (the label) comes first, every later cell of
 * every section after a comma. */
#define SEP ostel_buf_putc(out, ',')

/* The group and its runs' facts, from the label to n_gen (llama-bench's names). */
static void row_facts(const struct ostel_report *r, const struct ostel_report_group *g,
                      struct ostel_buf *out)
{
    double size_mib = median_field(r, g, offsetof(struct ostel_report_run, model_size_mib), false);
    double n_gen = median_field(r, g, offsetof(struct ostel_report_run, n_gen), false);
    if (isnan(n_gen))
        n_gen = median_field(r, g, offsetof(struct ostel_report_run, gen), true);
    csv_str(out, g->label);
    SEP;
    csv_str(out, common_str_field(r, g, offsetof(struct ostel_report_run, tag)));
    SEP;
    csv_str(out, common_model(r, g));
    SEP;
    csv_str(out, common_str_field(r, g, offsetof(struct ostel_report_run, model_type)));
    SEP;
    ostel_report_csv_num(out, isnan(size_mib) ? NAN : round(size_mib * 1048576.0));
    SEP;
    ostel_report_csv_num(
        out, median_field(r, g, offsetof(struct ostel_report_run, model_n_params), false));
    SEP;
    ostel_report_csv_num(out, median_field(r, g, offsetof(struct ostel_report_run, ctx), true));
    SEP;
    ostel_report_csv_num(out,
                         median_field(r, g, offsetof(struct ostel_report_run, n_prompt), false));
    SEP;
    ostel_report_csv_num(out, n_gen);
}

/* The runs and the speeds: generation's statistics, prompt processing's and the wall time's. */
static void row_speeds(const struct ostel_report_group *g, struct ostel_buf *out)
{
    const struct ostel_stats_summary *gen = &g->stat[OSTEL_REPORT_M_GEN_TPS];
    const struct ostel_stats_summary *pp = &g->stat[OSTEL_REPORT_M_PROMPT_TPS];
    const struct ostel_stats_summary *wall = &g->stat[OSTEL_REPORT_M_WALL_S];
    SEP;
    ostel_report_csv_num(out, (double)g->n);
    SEP;
    ostel_report_csv_num(out, (double)g->n_ok);
    SEP;
    ostel_report_csv_num(out, gen->mean);
    SEP;
    ostel_report_csv_num(out, gen->sd);
    SEP;
    ostel_report_csv_num(out, gen->median);
    SEP;
    ostel_report_csv_num(out, gen->min);
    SEP;
    ostel_report_csv_num(out, gen->max);
    SEP;
    ostel_report_csv_num(out, gen->ci_lo);
    SEP;
    ostel_report_csv_num(out, gen->ci_hi);
    SEP;
    ostel_report_csv_num(out, gen->cv);
    SEP;
    ostel_report_csv_num(out, pp->mean);
    SEP;
    ostel_report_csv_num(out, pp->sd);
    SEP;
    ostel_report_csv_num(out, pp->median);
    SEP;
    ostel_report_csv_num(out, wall->mean);
    SEP;
    ostel_report_csv_num(out, wall->sd);
}

/* The device, memory and the machine's pressure, then the plan. */
static void row_memory(const struct ostel_report_group *g, struct ostel_buf *out)
{
    static const int mem[] = {
        OSTEL_REPORT_M_DEV_USED_MIB, OSTEL_REPORT_M_MODEL_MIB,      OSTEL_REPORT_M_CONTEXT_MIB,
        OSTEL_REPORT_M_COMPUTE_MIB,  OSTEL_REPORT_M_HOST_MIB,       OSTEL_REPORT_M_RSS_PEAK_MIB,
        OSTEL_REPORT_M_CPU_MEAN_PCT, OSTEL_REPORT_M_PAGEINS,        OSTEL_REPORT_M_PAGEOUTS,
        OSTEL_REPORT_M_MAJFLT,       OSTEL_REPORT_M_PRESSURE_WORST, OSTEL_REPORT_M_AVAIL_MIN_PCT};
    SEP;
    csv_str(out, g->device);
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(mem); k++) {
        SEP;
        ostel_report_csv_num(out, g->value[mem[k]]);
    }
    SEP;
    ostel_report_csv_num(out, g->plan_mib);
    SEP;
    csv_str(out, g->plan_basis);
}

/* The notes' brief lines, one cell. */
static void row_notes(const struct ostel_report_group *g, struct ostel_buf *out)
{
    struct ostel_buf notes;
    ostel_buf_init(&notes, 1 << 16);
    for (size_t k = 0; k < g->nnotes; k++)
        ostel_buf_printf(&notes, "%s%s", k ? "; " : "", g->notes[k].brief);
    SEP;
    csv_str(out, notes.data);
    ostel_buf_free(&notes);
}

/* Prediction against measurement, all devices: values only when the group's runs share one
 * context; the error is the largest over its runs. Then the RSS's anonymous and file peaks. */
static void row_prediction(const struct ostel_report_group *g, struct ostel_buf *out)
{
    for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++) {
        SEP;
        ostel_report_csv_num(out, g->pred_total[k].predicted_mib);
        SEP;
        ostel_report_csv_num(out, g->pred_total[k].measured_mib);
        SEP;
        ostel_report_csv_num(out, g->pred_total[k].error_pct);
    }
    SEP;
    if (g->pred_within_bars >= 0)
        ostel_buf_puts(out, g->pred_within_bars ? "1" : "0");
    SEP;
    ostel_report_csv_num(out, g->value[OSTEL_REPORT_M_RSS_ANON_PEAK_MIB]);
    SEP;
    ostel_report_csv_num(out, g->value[OSTEL_REPORT_M_RSS_FILE_PEAK_MIB]);
}

/* The GPU's columns (only when some run has GPU telemetry: a CPU-only CSV keeps its columns): per
 * metric the mean, sd and the 95% CI of the mean; J/token's comparison. */
static void row_gpu(const struct ostel_report_group *g, bool base, struct ostel_buf *out)
{
    for (int m = OSTEL_REPORT_M_GPU_FIRST; m < OSTEL_REPORT_NMETRIC; m++) {
        const struct ostel_stats_summary *s = &g->stat[m];
        SEP;
        ostel_report_csv_num(out, s->n ? s->mean : NAN);
        SEP;
        ostel_report_csv_num(out, s->n ? s->sd : NAN);
        SEP;
        ostel_report_csv_num(out, s->n ? s->ci_lo : NAN);
        SEP;
        ostel_report_csv_num(out, s->n ? s->ci_hi : NAN);
    }
    SEP;
    csv_cmp(out, &g->cmp[OSTEL_REPORT_M_GPU_J_PER_TOKEN], base);
}

void ostel_report_csv_write(const struct ostel_report *r, struct ostel_buf *out)
{
    csv_header(r, out);
    /* The serving columns only when some run served (docs/report.md): per level and metric. */
    struct ostel_report_serve sv;
    bool serve = ostel_report_serve_build(r, &sv);
    if (serve)
        ostel_report_serve_csv(r, &sv, -1, out);
    ostel_buf_puts(out, "\r\n");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        bool base = gi == r->baseline;
        row_facts(r, g, out);
        row_speeds(g, out);
        row_memory(g, out);
        SEP;
        csv_cmp(out, &g->cmp[OSTEL_REPORT_M_GEN_TPS], base);
        row_notes(g, out);
        row_prediction(g, out);
        if (r->gpu)
            row_gpu(g, base, out);
        if (serve)
            ostel_report_serve_csv(r, &sv, (long)gi, out);
        ostel_buf_puts(out, "\r\n");
    }
    if (serve)
        ostel_report_serve_free(&sv);
}

#undef SEP
