/*
 * report_quality: quality passes in the report — what a quantization costs in KL divergence, beside
 * the same group's speed and memory (docs/quality.md).
 *
 * A quality pass's figures are llama-perplexity's as the log parser read them (summary.json
 * "llama.perplexity"); nothing here recomputes them. The only derived numbers are the ratios
 * between groups: a KLD ratio with its error propagated from llama-perplexity's standard errors
 * (first-order: (e_a/a)^2 + (e_b/b)^2), and speed and memory against the baseline from the report's
 * own statistics.
 */
#include "report/report.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static double qnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void qstr(char *dst, size_t n, const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

void ostel_report_quality_load(struct ostel_report_quality *q, const cJSON *root)
{
    memset(q, 0, sizeof(*q));
    const cJSON *qs = cJSON_GetObjectItemCaseSensitive(root, "quality");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(qs, "role");
    if (!cJSON_IsObject(qs) || !cJSON_IsString(role))
        return;
    const cJSON *llama = cJSON_GetObjectItemCaseSensitive(root, "llama");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(llama, "perplexity");
    q->present = true;
    q->base = strcmp(role->valuestring, "base") == 0;
    q->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(qs, "ok"));
    q->synthetic = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(qs, "synthetic"));
    q->ppl = qnum(p, q->base ? "ppl" : "mean_ppl_q");
    q->ppl_err = qnum(p, q->base ? "ppl_stderr" : "mean_ppl_q_stderr");
    q->ppl_ratio = qnum(p, "ppl_ratio");
    q->ppl_ratio_err = qnum(p, "ppl_ratio_stderr");
    q->ppl_diff = qnum(p, "ppl_diff");
    q->ppl_diff_err = qnum(p, "ppl_diff_stderr");
    q->kld_mean = qnum(p, "kld_mean");
    q->kld_err = qnum(p, "kld_mean_stderr");
    q->kld_p99 = qnum(p, "kld_p99");
    q->kld_max = qnum(p, "kld_max");
    q->top_p = qnum(p, "same_top_p_pct");
    q->top_p_err = qnum(p, "same_top_p_stderr");
    q->rms_dp = qnum(p, "rms_dp_pct");
    q->rms_dp_err = qnum(p, "rms_dp_stderr");
    q->ctx = qnum(qs, "ctx");
    q->chunks = qnum(qs, "chunks");
    q->scored = qnum(qs, "scored_tokens");
    q->batch = qnum(qs, "batch");
    q->ubatch = qnum(qs, "ubatch");
    q->n_batch = qnum(qs, "n_batch");
    q->n_ubatch = qnum(qs, "n_ubatch");
    qstr(q->base_tag, sizeof(q->base_tag), qs, "base_tag");
    qstr(q->file_type, sizeof(q->file_type), qs, "file_type");
    qstr(q->text, sizeof(q->text), qs, "text");
}

bool ostel_report_quality_apart(const struct ostel_report_set *set, size_t i)
{
    if (!set->runs[i].quality.present)
        return false;
    for (size_t k = 0; k < set->n; k++)
        if (!set->runs[k].quality.present)
            return true;
    return false; /* only quality passes: they are the groups */
}

void ostel_report_quality_link(struct ostel_report *r)
{
    const struct ostel_report_set *set = r->set;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        g->quality_run = -1;
        if (g->n == 0)
            continue;
        const char *tag = set->runs[g->runs[0]].tag;
        for (size_t i = 0; i < set->n; i++) {
            const struct ostel_report_quality *q = &set->runs[i].quality;
            if (!q->present || strcmp(set->runs[i].tag, tag) != 0)
                continue;
            /* an ok pass wins over a failed one; else the later one */
            if (g->quality_run < 0 || q->ok || !set->runs[g->quality_run].quality.ok)
                g->quality_run = (long)i;
        }
    }
}

static const struct ostel_report_quality *group_q(const struct ostel_report *r, size_t gi)
{
    long i = r->groups[gi].quality_run;
    return i < 0 ? NULL : &r->set->runs[i].quality;
}

/* The group the KLD ratios are taken against: the baseline when it has a KLD (it is not the
 * base), else the candidate with the lowest mean KLD. */
static long kld_reference(const struct ostel_report *r)
{
    const struct ostel_report_quality *b = group_q(r, r->baseline);
    if (b && b->ok && !b->base && b->kld_mean > 0)
        return (long)r->baseline;
    long best = -1;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_quality *q = group_q(r, gi);
        if (q && q->ok && !q->base && q->kld_mean > 0 &&
            (best < 0 || q->kld_mean < group_q(r, (size_t)best)->kld_mean))
            best = (long)gi;
    }
    return best;
}

bool ostel_report_quality_kld_ratio(double a, double ea, double b, double eb, double *ratio,
                                    double *err)
{
    *ratio = *err = NAN;
    if (!(a > 0) || !(b > 0))
        return false;
    *ratio = a / b;
    double ra = ea / a, rb = eb / b;
    *err = *ratio * sqrt(ra * ra + rb * rb); /* NAN when either error is */
    return true;
}

void ostel_report_quality_pareto(const double *mem, const double *tps, const double *kld, size_t n,
                                 bool *front)
{
    for (size_t i = 0; i < n; i++) {
        front[i] = true;
        for (size_t j = 0; j < n && front[i]; j++)
            if (j != i && tps[j] >= tps[i] && mem[j] <= mem[i] && kld[j] <= kld[i] &&
                (tps[j] > tps[i] || mem[j] < mem[i] || kld[j] < kld[i]))
                front[i] = false;
    }
}

/* "2048" as given, "2048 (llama.cpp's default)" as its log printed, else "llama.cpp's default". */
static void put_setting(struct ostel_buf *b, const char *flag, double set, double logged)
{
    if (!isnan(set))
        ostel_buf_printf(b, ", %s %.0f", flag, set);
    else if (!isnan(logged))
        ostel_buf_printf(b, ", %s %.0f (llama.cpp's default)", flag, logged);
    else
        ostel_buf_printf(b, ", %s llama.cpp's default", flag);
}

static char *pm(double v, double e, int dec)
{
    if (isnan(v))
        return ostel_xstrdup("—");
    if (isnan(e))
        return ostel_xasprintf("%.*f", dec, v);
    return ostel_xasprintf("%.*f ± %.*f", dec, v, dec, e);
}

static bool any_synthetic(const struct ostel_report *r)
{
    for (size_t i = 0; i < r->set->n; i++)
        if (r->set->runs[i].quality.present && r->set->runs[i].quality.synthetic)
            return true;
    return false;
}

void ostel_report_quality_tables(const struct ostel_report *r, struct ostel_report_tables *ts)
{
    bool any = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        any |= group_q(r, gi) != NULL;
    if (!any)
        return;
    static const char *const head[] = {"Group",        "Type",     "PPL",      "PPL ratio",
                                       "ΔPPL",         "Mean KLD", "KLD p99",  "KLD max",
                                       "Same top p %", "RMS Δp %", "KLD ratio"};
    enum { NC = 11 };
    ts->t = ostel_xrealloc(ts->t, (ts->n + 1) * sizeof(*ts->t));
    struct ostel_report_table *t = &ts->t[ts->n++];
    memset(t, 0, sizeof(*t));
    t->id = "quality";
    t->title = "Quality (KL divergence against the base model)";
    t->ncols = NC;
    t->head = ostel_xcalloc(NC, sizeof(*t->head));
    t->numeric = ostel_xcalloc(NC, sizeof(*t->numeric));
    for (size_t c = 0; c < NC; c++) {
        t->head[c] = ostel_xstrdup(head[c]);
        t->numeric[c] = c >= 2;
    }
    long ref = kld_reference(r);
    const struct ostel_report_quality *rq = ref >= 0 ? group_q(r, (size_t)ref) : NULL;
    const struct ostel_report_quality *any_q = NULL;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_quality *q = group_q(r, gi);
        if (!q)
            continue;
        any_q = any_q ? any_q : q;
        t->cells = ostel_xrealloc(t->cells, (t->nrows + 1) * NC * sizeof(*t->cells));
        struct ostel_report_cell *row = &t->cells[t->nrows++ * NC];
        memset(row, 0, NC * sizeof(*row));
        row[0].text = ostel_xstrdup(r->groups[gi].label);
        row[1].text = ostel_xstrdup(*q->file_type ? q->file_type : "—");
        if (!q->ok) {
            row[2].text = ostel_xstrdup("pass failed");
            row[2].bad = true;
            for (size_t c = 3; c < NC; c++)
                row[c].text = ostel_xstrdup("—");
            continue;
        }
        row[2].text = pm(q->ppl, q->ppl_err, 4);
        if (q->base) {
            row[3].text = ostel_xstrdup("base");
            for (size_t c = 4; c < NC; c++)
                row[c].text = ostel_xstrdup("—");
            continue;
        }
        row[3].text = pm(q->ppl_ratio, q->ppl_ratio_err, 6);
        row[4].text = pm(q->ppl_diff, q->ppl_diff_err, 4);
        row[5].text = pm(q->kld_mean, q->kld_err, 6);
        row[6].text = pm(q->kld_p99, NAN, 6);
        row[7].text = pm(q->kld_max, NAN, 6);
        row[8].text = pm(q->top_p, q->top_p_err, 3);
        row[9].text = pm(q->rms_dp, q->rms_dp_err, 3);
        double ratio, e;
        if (rq && ostel_report_quality_kld_ratio(q->kld_mean, q->kld_err, rq->kld_mean, rq->kld_err,
                                                 &ratio, &e)) {
            row[10].text = (long)gi == ref ? ostel_xstrdup("1 (reference)")
                           : isnan(e)      ? ostel_xasprintf("%.2f×", ratio)
                                           : ostel_xasprintf("%.2f× ± %.2f", ratio, e);
        } else {
            row[10].text = ostel_xstrdup("—");
        }
    }
    struct ostel_buf c;
    ostel_buf_init(&c, 4096);
    ostel_buf_printf(&c,
                     "llama-perplexity's figures as printed (± its standard errors), each model "
                     "against the logits of the base %s",
                     any_q && *any_q->base_tag ? any_q->base_tag : "model");
    if (any_q && !isnan(any_q->chunks)) {
        ostel_buf_printf(&c, ", %.0f chunks of %.0f tokens (%.0f scored) of %s", any_q->chunks,
                         any_q->ctx, any_q->scored, any_q->text);
        put_setting(&c, "-b", any_q->batch, any_q->n_batch);
        put_setting(&c, "-ub", any_q->ubatch, any_q->n_ubatch);
    }
    if (rq)
        ostel_buf_printf(&c,
                         "; KLD ratio against %s, its error propagated from both standard "
                         "errors as if independent (both are measured on the same tokens, so "
                         "it is approximate)",
                         r->groups[ref].label);
    ostel_buf_puts(&c, ".");
    if (any_synthetic(r))
        ostel_buf_puts(&c, " These models are ostel synth files (random weights): the KL "
                           "divergence measures what the quantizer does to weights of this shape "
                           "and distribution, not a real model's quality.");
    t->caption = ostel_xstrdup(c.data ? c.data : "");
    ostel_buf_free(&c);
}

/* The memory figure a group is planned with, else its peak RSS. */
static double group_mem(const struct ostel_report_group *g)
{
    return !isnan(g->plan_mib) ? g->plan_mib : g->value[OSTEL_REPORT_M_RSS_PEAK_MIB];
}

void ostel_report_quality_md_lines(const struct ostel_report *r, struct ostel_buf *out)
{
    const struct ostel_report_group *b = &r->groups[r->baseline];
    bool any = false;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        const struct ostel_report_quality *q = group_q(r, gi);
        if (!q || !q->ok)
            continue;
        any = true;
        ostel_buf_printf(out, "- **%s**: ", g->label);
        if (gi == r->baseline) {
            ostel_buf_puts(out, "the baseline");
        } else {
            const struct ostel_stats_ratio *sr = &g->cmp[OSTEL_REPORT_M_GEN_TPS].ratio;
            if (!isnan(sr->ratio)) {
                ostel_buf_printf(out, "%.2f× the generation speed", sr->ratio);
                if (!isnan(sr->lo) && !isnan(sr->hi))
                    ostel_buf_printf(out, " (95%% CI %.2f–%.2f×)", sr->lo, sr->hi);
            } else {
                ostel_buf_puts(out, "generation speed not measured");
            }
            double d = group_mem(g) - group_mem(b);
            if (!isnan(d)) {
                const struct ostel_stats_summary *sa = &g->stat[OSTEL_REPORT_M_RSS_PEAK_MIB];
                const struct ostel_stats_summary *sb = &b->stat[OSTEL_REPORT_M_RSS_PEAK_MIB];
                ostel_buf_printf(out, ", %.0f MiB %s memory", fabs(d), d <= 0 ? "less" : "more");
                if (isnan(g->plan_mib) && !isnan(sa->sd) && !isnan(sb->sd))
                    ostel_buf_printf(
                        out, " (± %.0f)",
                        sqrt(sa->sd * sa->sd / (double)sa->n + sb->sd * sb->sd / (double)sb->n));
            }
        }
        if (q->base)
            ostel_buf_printf(out, ", the quality base (PPL %.4f ± %.4f)\n", q->ppl, q->ppl_err);
        else
            ostel_buf_printf(out, ", mean KLD %.6f ± %.6f (same top token %.3f ± %.3f %%)\n",
                             q->kld_mean, q->kld_err, q->top_p, q->top_p_err);
    }
    if (any)
        ostel_buf_putc(out, '\n');
}

/* ---------- the HTML chart: generation speed against memory, KLD as colour and size ---------- */

/* The chart draws at most this many groups (the first ones with a quality pass, speed and memory);
 * the table lists them all, and the chart's note says when some were left out. */
#define QUALITY_CHART_MAX 64

struct qpt {
    size_t g;
    double x, y, kld; /* MiB, tok/s, mean KLD (0 for the base) */
    bool pareto;
};

static void esc_html(struct ostel_buf *out, const char *s)
{
    ostel_report_escape_html(out, s);
}

void ostel_report_quality_html_chart(const struct ostel_report *r, struct ostel_buf *out)
{
    struct qpt pt[QUALITY_CHART_MAX];
    size_t n = 0, left_out = 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        const struct ostel_report_quality *q = group_q(r, gi);
        double x = group_mem(g), y = g->value[OSTEL_REPORT_M_GEN_TPS];
        if (!q || !q->ok || isnan(x) || isnan(y))
            continue;
        double k = q->base ? 0.0 : q->kld_mean;
        if (isnan(k))
            continue;
        if (n == OSTEL_ARRAY_LEN(pt)) {
            left_out++;
            continue;
        }
        pt[n++] = (struct qpt){gi, x, y, k, true};
    }
    if (n < 2)
        return;
    /* Pareto front: no other point is at least as fast, as small and as faithful, and better in
     * one of the three */
    double xs[QUALITY_CHART_MAX], ys[QUALITY_CHART_MAX], ks[QUALITY_CHART_MAX];
    bool front_of[QUALITY_CHART_MAX];
    for (size_t i = 0; i < n; i++) {
        xs[i] = pt[i].x;
        ys[i] = pt[i].y;
        ks[i] = pt[i].kld;
    }
    ostel_report_quality_pareto(xs, ys, ks, n, front_of);
    double xmin = pt[0].x, xmax = pt[0].x, ymax = pt[0].y, kmax = 0;
    for (size_t i = 0; i < n; i++) {
        pt[i].pareto = front_of[i];
        xmin = fmin(xmin, pt[i].x);
        xmax = fmax(xmax, pt[i].x);
        ymax = fmax(ymax, pt[i].y);
        kmax = fmax(kmax, pt[i].kld);
    }
    const double W = 640, H = 360, L = 70, R = 20, T = 20, B = 50;
    double x0 = xmin * 0.9, x1 = xmax * 1.1 + 1, y1 = ymax * 1.15 + 1e-9;
    ostel_buf_puts(out, "<div class=\"card\" id=\"quality-chart\"><h3>Speed, memory and quality"
                        "</h3><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 640 360\" "
                        "width=\"640\" height=\"360\" role=\"img\" aria-label=\"generation speed "
                        "against memory, colour and size by mean KLD\">\n");
    ostel_buf_printf(out,
                     "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                     "fill=\"none\" stroke=\"#888\"/>\n",
                     L, T, W - L - R, H - T - B);
    for (int k = 0; k <= 4; k++) {
        double xv = x0 + (x1 - x0) * k / 4, yv = y1 * k / 4;
        double px = L + (W - L - R) * k / 4, py = H - B - (H - T - B) * k / 4;
        ostel_buf_printf(out,
                         "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">"
                         "%.0f</text>\n",
                         px, H - B + 16, xv);
        ostel_buf_printf(out,
                         "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">"
                         "%.1f</text>\n",
                         L - 6, py + 4, yv);
    }
    ostel_buf_printf(out,
                     "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">"
                     "memory (MiB)</text>\n",
                     L + (W - L - R) / 2, H - 12);
    ostel_buf_printf(out,
                     "<text x=\"16\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\" "
                     "transform=\"rotate(-90 16 %.0f)\">generation tok/s</text>\n",
                     T + (H - T - B) / 2, T + (H - T - B) / 2);
    /* the front as a line through its points in memory order */
    struct qpt front[QUALITY_CHART_MAX];
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        if (pt[i].pareto)
            front[nf++] = pt[i];
    for (size_t i = 1; i < nf; i++)
        for (size_t j = i; j > 0 && front[j - 1].x > front[j].x; j--) {
            struct qpt t = front[j];
            front[j] = front[j - 1];
            front[j - 1] = t;
        }
#define PX(v) (L + (W - L - R) * ((v)-x0) / (x1 - x0))
#define PY(v) (H - B - (H - T - B) * (v) / y1)
    if (nf > 1) {
        ostel_buf_puts(out, "<polyline fill=\"none\" stroke=\"#555\" stroke-dasharray=\"4 3\" "
                            "points=\"");
        for (size_t i = 0; i < nf; i++)
            ostel_buf_printf(out, "%.1f,%.1f ", PX(front[i].x), PY(front[i].y));
        ostel_buf_puts(out, "\"/>\n");
    }
    for (size_t i = 0; i < n; i++) {
        double f = kmax > 0 ? pt[i].kld / kmax : 0; /* 0 faithful (green) .. 1 (red) */
        int red = (int)(40 + 200 * f), green = (int)(170 - 120 * f);
        double rad = 6 + 10 * f;
        const struct ostel_report_quality *q = group_q(r, pt[i].g);
        ostel_buf_printf(out,
                         "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"rgb(%d,%d,60)\" "
                         "fill-opacity=\"0.8\" stroke=\"%s\" stroke-width=\"%d\"><title>",
                         PX(pt[i].x), PY(pt[i].y), rad, red, green, pt[i].pareto ? "#000" : "#fff",
                         pt[i].pareto ? 2 : 1);
        esc_html(out, r->groups[pt[i].g].label);
        if (q->base)
            ostel_buf_printf(out, ": %.0f MiB, %.2f tok/s, the quality base", pt[i].x, pt[i].y);
        else
            ostel_buf_printf(out, ": %.0f MiB, %.2f tok/s, mean KLD %.6f", pt[i].x, pt[i].y,
                             pt[i].kld);
        ostel_buf_puts(out, "</title></circle>\n");
        ostel_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">",
                         PX(pt[i].x) + rad + 3, PY(pt[i].y) + 4);
        esc_html(out, r->groups[pt[i].g].label);
        ostel_buf_puts(out, pt[i].pareto ? " ◆" : "");
        ostel_buf_puts(out, "</text>\n");
    }
#undef PX
#undef PY
    ostel_buf_puts(out,
                   "</svg><div class=\"chart-note\">Colour and size: mean KLD against the base "
                   "(green and small = faithful). ◆ and the dashed line: the Pareto front "
                   "(no other model is at least as fast, as small and as faithful). Memory is "
                   "the figure to plan with (else peak RSS); speed the mean generation "
                   "tok/s.");
    if (left_out)
        ostel_buf_printf(out,
                         " The chart draws the first %d groups; %zu more are in the quality "
                         "table only.",
                         QUALITY_CHART_MAX, left_out);
    ostel_buf_puts(out, "</div></div>\n");
}

static cJSON *num_or_null(double v)
{
    return isnan(v) || isinf(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

cJSON *ostel_report_quality_json(const struct ostel_report *r, size_t group)
{
    const struct ostel_report_quality *q = group_q(r, group);
    if (!q)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", q->base ? "base" : "candidate");
    cJSON_AddBoolToObject(o, "ok", q->ok);
    cJSON_AddBoolToObject(o, "synthetic", q->synthetic);
    cJSON_AddStringToObject(o, "base_tag", q->base_tag);
    cJSON_AddStringToObject(o, "file_type", q->file_type);
    static const struct {
        const char *k;
        size_t off;
    } f[] = {
        {"ppl", offsetof(struct ostel_report_quality, ppl)},
        {"ppl_stderr", offsetof(struct ostel_report_quality, ppl_err)},
        {"ppl_ratio", offsetof(struct ostel_report_quality, ppl_ratio)},
        {"ppl_ratio_stderr", offsetof(struct ostel_report_quality, ppl_ratio_err)},
        {"ppl_diff", offsetof(struct ostel_report_quality, ppl_diff)},
        {"ppl_diff_stderr", offsetof(struct ostel_report_quality, ppl_diff_err)},
        {"kld_mean", offsetof(struct ostel_report_quality, kld_mean)},
        {"kld_mean_stderr", offsetof(struct ostel_report_quality, kld_err)},
        {"kld_p99", offsetof(struct ostel_report_quality, kld_p99)},
        {"kld_max", offsetof(struct ostel_report_quality, kld_max)},
        {"same_top_p_pct", offsetof(struct ostel_report_quality, top_p)},
        {"same_top_p_stderr", offsetof(struct ostel_report_quality, top_p_err)},
        {"rms_dp_pct", offsetof(struct ostel_report_quality, rms_dp)},
        {"rms_dp_stderr", offsetof(struct ostel_report_quality, rms_dp_err)},
        {"ctx", offsetof(struct ostel_report_quality, ctx)},
        {"chunks", offsetof(struct ostel_report_quality, chunks)},
        {"scored_tokens", offsetof(struct ostel_report_quality, scored)},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(f); i++)
        cJSON_AddItemToObject(o, f[i].k,
                              num_or_null(*(const double *)((const char *)q + f[i].off)));
    return o;
}
