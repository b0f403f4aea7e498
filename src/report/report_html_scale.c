/*
 * report_html_scale: downsampling, per-group overlays and the page's compact data for the HTML
 * report (see report_html_scale.h). The page's size grows with the number of groups, the chart
 * limit and a fixed budget for the compact runs, not with samples × runs.
 */
#include "report/report_html_scale.h"

#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_POINTS 400 /* per metric, for a run drawn in full */
/* The compact runs share LAZY_BUDGET_CHARS: a run takes 14 characters a point (7 codes of 2) and
 * up to LAZY_RUN_CHARS more (its ranges, phases, separators and quotes), so 10,000 runs get 14
 * points each. At LAZY_POINTS_MIN points the budget holds about 15,000 runs; up to LAZY_RUNS_MAX
 * the form grows past it (3.5 MB at 20,000), and past that many the page says which runs its list
 * leaves out rather than grow without bound. */
#define LAZY_RUNS_MAX OSTEL_REPORT_HTML_LAZY_RUNS_MAX
#define LAZY_BUDGET_CHARS 2600000
#define LAZY_RUN_CHARS 64
/* Overlays past the first OSTEL_REPORT_OVERLAY_GROUPS_DRAWN groups (drawn only when chosen) share
 * this many characters: fewer points each when there are many groups, never fewer than
 * OVERLAY_POINTS_MIN. An overlay point is 13 numbers of about 7 characters. */
#define OVERLAY_EXTRA_BUDGET_CHARS 400000
#define OVERLAY_POINTS_MIN 20
#define OVERLAY_VALS_BYTES (16u << 20) /* an overlay's interpolated values held at once */
#define LAZY_POINTS_MIN 8
#define LAZY_POINTS_MAX 64
#define QMAX 4094 /* 12-bit codes; 4095 = no value */

size_t ostel_report_lttb(const double *x, const double *y, size_t n, size_t k, size_t *idx)
{
    if (n <= k) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return n;
    }
    if (k < 3) {
        size_t m = 0;
        if (k >= 1)
            idx[m++] = 0;
        if (k >= 2)
            idx[m++] = n - 1;
        return m;
    }
    size_t out = 0, a = 0;
    idx[out++] = 0;
    double every = (double)(n - 2) / (double)(k - 2);
    for (size_t b = 0; b < k - 2; b++) {
        size_t start = (size_t)((double)b * every) + 1;
        size_t end = (size_t)((double)(b + 1) * every) + 1;
        if (end > n - 1)
            end = n - 1;
        if (start >= end)
            start = end - 1;
        size_t ne = (size_t)((double)(b + 2) * every) + 1;
        if (ne > n || b == k - 3)
            ne = n;
        double ax = 0, ay = 0;
        size_t cnt = 0;
        for (size_t j = end; j < ne; j++)
            if (!isnan(y[j])) {
                ax += x[j];
                ay += y[j];
                cnt++;
            }
        double ya = isnan(y[a]) ? 0 : y[a];
        if (cnt) {
            ax /= (double)cnt;
            ay /= (double)cnt;
        } else {
            ax = x[ne - 1];
            ay = ya;
        }
        double best = -1;
        size_t pick = start;
        for (size_t j = start; j < end; j++) {
            if (isnan(y[j]))
                continue;
            double area = fabs((x[a] - ax) * (y[j] - ya) - (x[a] - x[j]) * (ay - ya));
            if (area > best) {
                best = area;
                pick = j;
            }
        }
        idx[out++] = pick;
        a = pick;
    }
    idx[out++] = n - 1;
    return out;
}

void ostel_report_series_reduce(struct ostel_report_series *s, size_t max)
{
    if (s->n <= max)
        return;
    OSTEL_ASSERT(!s->packed); /* the directories' loader reduces, then nothing packs */
    double **cols[] = {&s->t_s,      &s->rss_mib,   &s->cpu_pct,      &s->pageins,     &s->pageouts,
                       &s->pressure, &s->avail_pct, &s->rss_anon_mib, &s->rss_file_mib};
    if (max == 0) {
        for (size_t c = 0; c < OSTEL_ARRAY_LEN(cols); c++) {
            free(*cols[c]);
            *cols[c] = NULL;
        }
        free(s->phase);
        s->phase = NULL;
        s->n = 0;
        return;
    }
    bool rss = false;
    for (size_t i = 0; i < s->n && !rss; i++)
        rss = !isnan(s->rss_mib[i]);
    size_t *idx = ostel_xmalloc(max * sizeof(*idx));
    size_t m = ostel_report_lttb(s->t_s, rss ? s->rss_mib : s->cpu_pct, s->n, max, idx);
    /* idx is increasing: compact each column in place */
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(cols); c++)
        for (size_t i = 0; i < m && *cols[c]; i++)
            (*cols[c])[i] = (*cols[c])[idx[i]];
    for (size_t i = 0; i < m; i++)
        s->phase[i] = s->phase[idx[i]];
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(cols); c++)
        if (*cols[c]) /* the RSS split's columns may be absent (a series built by hand) */
            *cols[c] = ostel_xrealloc(*cols[c], m * sizeof(double)); /* give the rest back */
    s->phase = ostel_xrealloc(s->phase, m);
    s->n = m;
    free(idx);
}

/* ---- overlays ---- */

struct segs {
    double start[OSTEL_REPORT_NPHASES], len[OSTEL_REPORT_NPHASES]; /* start NAN = absent */
    bool any;
    double t_end;
};

/* A run's phases as time segments: each starts at its first sample and ends where the next phase
 * starts (the last at the last sample). */
static void run_segments(const struct ostel_report_series *s, struct segs *g)
{
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++) {
        g->start[p] = NAN;
        g->len[p] = 0;
    }
    g->any = false;
    g->t_end = s->n ? s->t_s[s->n - 1] : 0;
    for (size_t i = 0; i < s->n; i++) {
        int p = s->phase[i];
        if (p > OSTEL_REPORT_PHASE_ALL && p < OSTEL_REPORT_NPHASES && isnan(g->start[p])) {
            g->start[p] = s->t_s[i];
            g->any = true;
        }
    }
    for (int p = 1; p < OSTEL_REPORT_NPHASES; p++) {
        if (isnan(g->start[p]))
            continue;
        double end = g->t_end;
        for (int q = 1; q < OSTEL_REPORT_NPHASES; q++)
            if (q != p && !isnan(g->start[q]) && g->start[q] > g->start[p] && g->start[q] < end)
                end = g->start[q];
        g->len[p] = end - g->start[p];
    }
}

/* Where time t of a run with segments g lies on the group's aligned axis. */
static double warp(const struct segs *g, const struct ostel_report_overlay *ov, double total,
                   double t)
{
    if (!g->any)
        return g->t_end > 0 ? t * total / g->t_end : 0;
    int best = -1;
    int first = -1;
    for (int p = 1; p < OSTEL_REPORT_NPHASES; p++) {
        if (isnan(g->start[p]))
            continue;
        if (first < 0 || g->start[p] < g->start[first])
            first = p;
        if (g->start[p] <= t && (best < 0 || g->start[p] > g->start[best]))
            best = p;
    }
    if (best < 0)
        return ov->phase_start[first] + (t - g->start[first]);
    if (g->len[best] <= 0 || ov->phase_len[best] <= 0)
        return ov->phase_start[best];
    double f = (t - g->start[best]) / g->len[best];
    if (f > 1)
        f = 1;
    return ov->phase_start[best] + f * ov->phase_len[best];
}

static void swapd(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest of v[0..n) (Hoare's selection; v is reordered). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                swapd(&v[i], &v[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

static double median_of(double *v, size_t n)
{
    return n ? select_kth(v, n, n / 2) : NAN;
}

/* The arrays (ostel_report_series_array's bits) that the time and each overlay's metric read. */
#define SERIES_T (1u << 0)
static const unsigned ov_mask[OSTEL_REPORT_NOV] = {1u << 1, 1u << 2, 1u << 4, 1u << 5 | 1u << 6};

static double ov_value(const struct ostel_report_series *s, size_t i, int m)
{
    switch (m) {
    case OSTEL_REPORT_OV_RSS:
        return s->rss_mib[i];
    case OSTEL_REPORT_OV_CPU:
        return s->cpu_pct[i];
    case OSTEL_REPORT_OV_AVAIL:
        return s->avail_pct[i];
    default:
        if (isnan(s->pageins[i]) && isnan(s->pageouts[i]))
            return NAN;
        return (isnan(s->pageins[i]) ? 0 : s->pageins[i]) +
               (isnan(s->pageouts[i]) ? 0 : s->pageouts[i]);
    }
}

void ostel_report_overlay_build(const struct ostel_report *r, size_t gi,
                                struct ostel_report_overlay *ov)
{
    const struct ostel_report_group *g = &r->groups[gi];
    const struct ostel_report_run *runs = r->set->runs;
    memset(ov, 0, sizeof(*ov));
    size_t nr = 0;
    for (size_t i = 0; i < g->n; i++)
        nr += runs[g->runs[i]].series.n >= 2;
    ov->n_runs = nr;
    if (nr == 0)
        return;
    struct segs *sg = ostel_xmalloc(nr * sizeof(*sg));
    const struct ostel_report_series **ss = ostel_xmalloc(nr * sizeof(*ss));
    /* a packed series (both loaders pack) is decoded run by run, only the arrays in use */
    struct ostel_report_series_buf vb = {0};
    for (size_t i = 0, k = 0; i < g->n; i++)
        if (runs[g->runs[i]].series.n >= 2) {
            ss[k] = &runs[g->runs[i]].series;
            run_segments(ostel_report_series_view(ss[k], SERIES_T | OSTEL_REPORT_SERIES_PHASE, &vb),
                         &sg[k]);
            k++;
        }
    /* The group's phase lengths: medians over the runs that have the phase. */
    double *tmp = ostel_xmalloc(nr * sizeof(*tmp));
    double total = 0;
    bool phased = false;
    for (int p = 1; p < OSTEL_REPORT_NPHASES; p++) {
        size_t m = 0;
        for (size_t k = 0; k < nr; k++)
            if (!isnan(sg[k].start[p]) && sg[k].len[p] > 0)
                tmp[m++] = sg[k].len[p];
        ov->phase_start[p] = total;
        ov->phase_len[p] = m ? median_of(tmp, m) : 0;
        total += ov->phase_len[p];
        phased |= m > 0;
    }
    if (!phased) {
        for (size_t k = 0; k < nr; k++)
            tmp[k] = sg[k].t_end;
        total = median_of(tmp, nr);
    }
    if (!(total > 0)) {
        ostel_report_series_buf_free(&vb);
        free(tmp);
        free(sg);
        free(ss);
        ov->n_runs = nr;
        return;
    }
    size_t np = OSTEL_REPORT_OVERLAY_POINTS;
    ov->npts = np;
    for (size_t j = 0; j < np; j++)
        ov->x[j] = total * (double)j / (double)(np - 1);
    ov->x[np - 1] = total; /* exactly where every run's last sample lands */

    /* [point][run] for a block of the points at a time: all of them up to 13,107 runs, fewer
     * past OVERLAY_VALS_BYTES (a group of 50,000 runs took 64 MB for all 160); each block warps
     * the runs' times again, and a run's place in its samples carries over from block to block */
    size_t bp = OVERLAY_VALS_BYTES / (nr * sizeof(double));
    bp = bp < 1 ? 1 : bp > np ? np : bp;
    double *vals = ostel_xmalloc(bp * nr * sizeof(*vals));
    bool *any = ostel_xmalloc(nr * sizeof(*any));
    size_t *cur = ostel_xmalloc(nr * sizeof(*cur));
    size_t xcap = 0;
    double *xa = NULL;
    for (int m = 0; m < OSTEL_REPORT_NOV; m++) {
        memset(any, 0, nr * sizeof(*any));
        for (size_t j0 = 0; j0 < np; j0 += bp) {
            size_t j1 = j0 + bp < np ? j0 + bp : np;
            for (size_t k = 0; k < nr; k++) {
                const struct ostel_report_series *s =
                    ostel_report_series_view(ss[k], SERIES_T | ov_mask[m], &vb);
                if (s->n > xcap) {
                    xcap = s->n;
                    xa = ostel_xrealloc(xa, xcap * sizeof(*xa));
                }
                for (size_t i = 0; i < s->n; i++) {
                    xa[i] = warp(&sg[k], ov, total, s->t_s[i]);
                    if (i > 0 && xa[i] < xa[i - 1])
                        xa[i] = xa[i - 1];
                }
                size_t i = j0 ? cur[k] : 0;
                for (size_t j = j0; j < j1; j++) {
                    double xg = ov->x[j], v = NAN;
                    while (i + 1 < s->n && xa[i + 1] < xg)
                        i++;
                    if (xg >= xa[0] && xg <= xa[s->n - 1]) {
                        double y0 = ov_value(s, i, m);
                        double y1 = i + 1 < s->n ? ov_value(s, i + 1, m) : NAN;
                        if (i + 1 < s->n && !isnan(y0) && !isnan(y1) && xa[i + 1] > xa[i]) {
                            double f = (xg - xa[i]) / (xa[i + 1] - xa[i]);
                            v = y0 + (f < 0 ? 0 : f > 1 ? 1 : f) * (y1 - y0);
                        } else {
                            v = !isnan(y0) ? y0 : y1;
                        }
                    }
                    vals[(j - j0) * nr + k] = v;
                    any[k] |= !isnan(v);
                }
                cur[k] = i;
            }
            for (size_t j = j0; j < j1; j++) {
                const double *row = vals + (j - j0) * nr;
                size_t c = 0;
                for (size_t k = 0; k < nr; k++)
                    if (!isnan(row[k]))
                        tmp[c++] = row[k];
                if (c == 0) {
                    ov->med[m][j] = ov->lo[m][j] = ov->hi[m][j] = NAN;
                    continue;
                }
                /* nearest rank on 0..c-1 */
                ov->med[m][j] = select_kth(tmp, c, (size_t)floor(0.5 * (double)(c - 1) + 0.5));
                ov->lo[m][j] = select_kth(tmp, c, (size_t)floor(0.1 * (double)(c - 1) + 0.5));
                ov->hi[m][j] = select_kth(tmp, c, (size_t)floor(0.9 * (double)(c - 1) + 0.5));
            }
        }
        size_t with = 0;
        for (size_t k = 0; k < nr; k++)
            with += any[k];
        ov->n_at[m] = with;
    }
    free(any);
    free(cur);
    ostel_report_series_buf_free(&vb);
    free(xa);
    free(vals);
    free(tmp);
    free(sg);
    free(ss);
}

/* ---- compact series ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void put_code(struct ostel_buf *out, double v, double lo, double hi)
{
    unsigned c = 4095;
    if (!isnan(v)) {
        double f = hi > lo ? (v - lo) / (hi - lo) : 0;
        c = (unsigned)lround((f < 0 ? 0 : f > 1 ? 1 : f) * QMAX);
    }
    char two[2] = {b64[c >> 6], b64[c & 63]};
    ostel_buf_append(out, two, 2);
}

static double col_value(const struct ostel_report_series *s, int c, size_t i)
{
    const double *cols[] = {s->rss_mib,  s->cpu_pct,  s->pageins,
                            s->pageouts, s->pressure, s->avail_pct};
    return cols[c][i];
}

/* What the compact form reads: all but the RSS split (arrays 7 and 8). */
#define COMPACT_MASK (OSTEL_REPORT_SERIES_ALL & ~(1u << 7 | 1u << 8))

void ostel_report_series_compact(const struct ostel_report_series *s, size_t k,
                                 struct ostel_buf *out)
{
    if (s->n < 2)
        return;
    struct ostel_report_series_buf vb = {0};
    s = ostel_report_series_view(s, COMPACT_MASK, &vb);
    size_t *idx = ostel_xmalloc((k < s->n ? k : s->n) * sizeof(*idx));
    bool rss = false;
    for (size_t i = 0; i < s->n && !rss; i++)
        rss = !isnan(s->rss_mib[i]);
    size_t m = ostel_report_lttb(s->t_s, rss ? s->rss_mib : s->cpu_pct, s->n, k, idx);
    double tmax = s->t_s[s->n - 1];
    ostel_buf_printf(out, "%zu;%.6g;", m, tmax);
    for (size_t i = 0; i < m; i++)
        put_code(out, s->t_s[idx[i]], 0, tmax);
    for (int c = 0; c < 6; c++) {
        double lo = NAN, hi = NAN;
        for (size_t i = 0; i < m; i++) {
            double v = col_value(s, c, idx[i]);
            if (isnan(v))
                continue;
            if (isnan(lo) || v < lo)
                lo = v;
            if (isnan(hi) || v > hi)
                hi = v;
        }
        if (isnan(lo))
            ostel_buf_puts(out, ";0,0,");
        else
            ostel_buf_printf(out, ";%.6g,%.6g,", lo, hi);
        for (size_t i = 0; i < m; i++)
            put_code(out, col_value(s, c, idx[i]), lo, hi);
    }
    ostel_buf_putc(out, ';');
    struct segs g;
    run_segments(s, &g);
    for (int p = 1; p < OSTEL_REPORT_NPHASES; p++) {
        put_code(out, g.start[p], 0, tmax);
        put_code(out, isnan(g.start[p]) ? NAN : g.start[p] + g.len[p], 0, tmax);
    }
    free(idx);
    ostel_report_series_buf_free(&vb);
}

/* ---- the page's data ---- */

static double round4(double v)
{
    char b[32];
    snprintf(b, sizeof(b), "%.4g", v);
    return strtod(b, NULL);
}

static cJSON *num4(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(round4(v)) : cJSON_CreateNull();
}

static cJSON *num_array(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, num4(v[i]));
    return a;
}

/* v's n points as m evenly spaced ones (the first and the last kept): an overlay's median and
 * percentiles are already smooth, so taking every (n-1)/(m-1)th point keeps their shape. tmp has
 * room for m. */
static cJSON *overlay_points(const double *v, size_t n, size_t m, double *tmp)
{
    if (m >= n || m < 2)
        return num_array(v, n);
    for (size_t j = 0; j < m; j++)
        tmp[j] = v[(size_t)llround((double)j * (double)(n - 1) / (double)(m - 1))];
    return num_array(tmp, m);
}

void ostel_report_html_charted(const struct ostel_report *r, size_t limit, bool *chosen)
{
    size_t maxn = 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        if (r->groups[gi].n > maxn)
            maxn = r->groups[gi].n;
    }
    /* chosen has r->set->n entries (the callers' size): runs in no group (a study's quality passes)
     * are never drawn, and a position past the set is never written */
    memset(chosen, 0, r->set->n * sizeof(*chosen));
    size_t picked = 0;
    for (size_t i = 0; i < maxn && picked < limit; i++) {
        size_t base = 0;
        for (size_t gi = 0; gi < r->ngroups && picked < limit; gi++) {
            const struct ostel_report_group *g = &r->groups[gi];
            if (i < g->n && base + i < r->set->n && r->set->runs[g->runs[i]].series.n >= 2) {
                chosen[base + i] = true;
                picked++;
            }
            base += g->n;
        }
    }
}

size_t ostel_report_html_listed(const struct ostel_report *r, const bool *chosen, size_t *pos)
{
    size_t total = r->set->n, nother = 0, k = 0, n = 0;
    for (size_t i = 0; i < total; i++)
        pos[i] = SIZE_MAX;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        for (size_t i = 0; i < r->groups[gi].n && k < total; i++, k++)
            nother += !chosen[k];
    k = 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        size_t m = 0, q, j = 0;
        for (size_t i = 0; i < g->n && k + i < total; i++)
            m += !chosen[k + i];
        /* this group's share of the list; every run when all fit */
        q = nother <= LAZY_RUNS_MAX ? m : (size_t)((double)m * LAZY_RUNS_MAX / (double)nother);
        for (size_t i = 0; i < g->n && k < total; i++, k++) {
            if (!chosen[k]) {
                bool take = m && (j + 1) * q / m > j * q / m; /* q of the m, evenly spaced */
                j++;
                if (!take)
                    continue;
            }
            pos[k] = n++;
        }
    }
    return n;
}

/* A run's GPU samples for the page: per GPU its rows, at most CHART_POINTS of them per column
 * chosen by LTTB on device memory, process memory and power (their union), so a spike in any of
 * them is kept. */
static cJSON *gpu_full_series(const struct ostel_report_gpu_series *s)
{
    cJSON *arr = cJSON_CreateArray();
    unsigned ngpu = s->ngpu;
    size_t *idx = ostel_xmalloc(CHART_POINTS * sizeof(*idx));
    double *col[4];
    for (int c = 0; c < 4; c++)
        col[c] = ostel_xmalloc((s->n ? s->n : 1) * sizeof(double));
    bool *keep = ostel_xmalloc(s->n ? s->n : 1);
    for (unsigned g = 0; g < ngpu; g++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->gpu[i] == g) {
                col[0][n] = s->t_s[i];
                col[1][n] = s->mem_mib[i];
                col[2][n] = s->proc_mib[i];
                col[3][n] = s->power_w[i];
                n++;
            }
        if (n < 2)
            continue;
        memset(keep, 0, n);
        for (int c = 1; c < 4; c++) {
            size_t m = ostel_report_lttb(col[0], col[c], n, CHART_POINTS, idx);
            for (size_t k = 0; k < m; k++)
                keep[idx[k]] = true;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "gpu", g);
        static const char *const names[] = {"t", "mem_mib", "proc_mib", "power_w"};
        for (int c = 0; c < 4; c++) {
            cJSON *a = cJSON_AddArrayToObject(o, names[c]);
            for (size_t k = 0; k < n; k++)
                if (keep[k])
                    cJSON_AddItemToArray(a, num4(col[c][k]));
        }
        cJSON_AddItemToArray(arr, o);
    }
    for (int c = 0; c < 4; c++)
        free(col[c]);
    free(keep);
    free(idx);
    return arr;
}

/* A run drawn in full: the union of LTTB's choices for each chart's metric. */
static cJSON *full_series(const struct ostel_report_series *s)
{
    bool *keep = ostel_xcalloc(s->n, sizeof(*keep));
    size_t *idx = ostel_xmalloc((s->n < CHART_POINTS ? s->n : CHART_POINTS) * sizeof(*idx));
    double *sum = ostel_xmalloc(s->n * sizeof(*sum));
    for (size_t i = 0; i < s->n; i++)
        sum[i] = ov_value(s, i, OSTEL_REPORT_OV_PAGING);
    const double *ys[] = {s->rss_mib, s->cpu_pct, sum, s->avail_pct, s->pressure};
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(ys); c++) {
        size_t m = ostel_report_lttb(s->t_s, ys[c], s->n, CHART_POINTS, idx);
        for (size_t i = 0; i < m; i++)
            keep[idx[i]] = true;
    }
    cJSON *o = cJSON_CreateObject();
    const char *names[] = {"t",        "rss_mib",  "cpu_pct",  "pageins",
                           "pageouts", "pressure", "avail_pct"};
    const double *cols[] = {s->t_s,      s->rss_mib,  s->cpu_pct,  s->pageins,
                            s->pageouts, s->pressure, s->avail_pct};
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(cols); c++) {
        cJSON *a = cJSON_AddArrayToObject(o, names[c]);
        for (size_t i = 0; i < s->n; i++)
            if (keep[i])
                cJSON_AddItemToArray(a, num4(cols[c][i]));
    }
    /* RSS's anonymous and file-backed parts, where the run recorded them */
    const char *split_names[] = {"rss_anon_mib", "rss_file_mib"};
    const double *split[] = {s->rss_anon_mib, s->rss_file_mib};
    for (size_t c = 0; c < 2; c++) {
        bool any = false;
        for (size_t i = 0; split[c] && i < s->n && !any; i++)
            any = !isnan(split[c][i]);
        if (!any)
            continue;
        cJSON *a = cJSON_AddArrayToObject(o, split_names[c]);
        for (size_t i = 0; i < s->n; i++)
            if (keep[i])
                cJSON_AddItemToArray(a, num4(split[c][i]));
    }
    cJSON *phases = cJSON_AddArrayToObject(o, "phases");
    for (size_t i = 0; i < s->n;) {
        size_t j = i;
        while (j < s->n && s->phase[j] == s->phase[i])
            j++;
        if (s->phase[i] != OSTEL_REPORT_PHASE_ALL) {
            cJSON *ph = cJSON_CreateObject();
            cJSON_AddStringToObject(ph, "name", ostel_report_phase_name(s->phase[i]));
            cJSON_AddItemToObject(ph, "start", num4(s->t_s[i]));
            cJSON_AddItemToObject(ph, "end", num4(j < s->n ? s->t_s[j] : s->t_s[j - 1]));
            cJSON_AddItemToArray(phases, ph);
        }
        i = j;
    }
    free(sum);
    free(idx);
    free(keep);
    return o;
}

static double mem_of(const struct ostel_report_run *run)
{
    const double *m = run->metric;
    if (!isnan(m[OSTEL_REPORT_M_DEV_USED_MIB])) {
        bool host =
            *run->device && strcmp(run->device, "CPU") != 0 && !isnan(m[OSTEL_REPORT_M_HOST_MIB]);
        return m[OSTEL_REPORT_M_DEV_USED_MIB] + (host ? m[OSTEL_REPORT_M_HOST_MIB] : 0);
    }
    return m[OSTEL_REPORT_M_RSS_PEAK_MIB];
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of key over the marks at context n_ctx (the upper one of an even count, as the page's
 * chart takes it), NAN when none has a value. */
static double mark_median(const cJSON *ms, double n_ctx, const char *key, double *tmp)
{
    size_t n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, ms)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "n_ctx");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
        if (cJSON_IsNumber(c) && c->valuedouble == n_ctx && cJSON_IsNumber(v))
            tmp[n++] = v->valuedouble;
    }
    if (!n)
        return NAN;
    qsort(tmp, n, sizeof(*tmp), cmp_dbl);
    return tmp[n / 2];
}

/* A sweep's measured marks, one per run (10,000 of them in a big study), as one mark per context:
 * what the chart draws (it takes the median of the runs at each context). */
static cJSON *measured_medians(const cJSON *ms)
{
    size_t n = (size_t)cJSON_GetArraySize(ms);
    double *ctx = ostel_xmalloc((n ? n : 1) * sizeof(*ctx)),
           *tmp = ostel_xmalloc((n ? n : 1) * sizeof(*tmp));
    size_t nc = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, ms)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "n_ctx");
        if (!cJSON_IsNumber(c))
            continue;
        bool seen = false;
        for (size_t i = 0; i < nc && !seen; i++)
            seen = ctx[i] == c->valuedouble;
        if (!seen)
            ctx[nc++] = c->valuedouble;
    }
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; i < nc; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n_ctx", ctx[i]);
        cJSON_AddItemToObject(o, "host_mib", num4(mark_median(ms, ctx[i], "host_mib", tmp)));
        cJSON_AddItemToObject(o, "gpu_mib", num4(mark_median(ms, ctx[i], "gpu_mib", tmp)));
        cJSON_AddItemToArray(out, o);
    }
    free(ctx);
    free(tmp);
    return out;
}

static const char *const ov_keys[OSTEL_REPORT_NOV] = {"rss_mib", "cpu_pct", "avail_pct", "paging"};

cJSON *ostel_report_html_data(const struct ostel_report *r, size_t run_charts)
{
    cJSON *root = ostel_report_json_tree_head(r);
    /* Run names travel once, in runs.name, not again in every group. */
    cJSON *gs = cJSON_GetObjectItemCaseSensitive(root, "groups");
    cJSON *gj;
    cJSON_ArrayForEach(gj, gs)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(gj, "runs");
        cJSON *sw = cJSON_GetObjectItemCaseSensitive(gj, "memory_sweep");
        cJSON *ms = cJSON_GetObjectItemCaseSensitive(sw, "measured");
        if (cJSON_IsArray(ms))
            cJSON_ReplaceItemInObjectCaseSensitive(sw, "measured", measured_medians(ms));
    }

    size_t total = r->set->n;
    bool *chosen = ostel_xmalloc((total ? total : 1) * sizeof(*chosen));
    ostel_report_html_charted(r, run_charts, chosen);
    size_t *pos = ostel_xmalloc((total ? total : 1) * sizeof(*pos));
    size_t nlisted = ostel_report_html_listed(r, chosen, pos);

    cJSON *runs = cJSON_AddObjectToObject(root, "runs");
    cJSON *name = cJSON_AddArrayToObject(runs, "name");
    cJSON *group = cJSON_AddArrayToObject(runs, "group");
    cJSON *status = cJSON_AddArrayToObject(runs, "status");
    cJSON *mem = cJSON_AddArrayToObject(runs, "mem_mib");
    cJSON *gen = cJSON_AddArrayToObject(runs, "gen_tps");
    cJSON *charted = cJSON_AddArrayToObject(root, "charted");
    cJSON *lazy = cJSON_CreateArray();
    size_t nlazy = 0, ncharted = 0;
    for (size_t k = 0; k < total; k++)
        nlazy += !chosen[k];
    if (nlazy > LAZY_RUNS_MAX)
        nlazy = LAZY_RUNS_MAX;
    size_t per_run = nlazy ? LAZY_BUDGET_CHARS / nlazy : SIZE_MAX;
    size_t lazy_pts = per_run > LAZY_RUN_CHARS ? (per_run - LAZY_RUN_CHARS) / 14 : 0;
    if (lazy_pts < LAZY_POINTS_MIN)
        lazy_pts = LAZY_POINTS_MIN;
    if (lazy_pts > LAZY_POINTS_MAX)
        lazy_pts = LAZY_POINTS_MAX;
    size_t k = 0, lazied = 0;
    struct ostel_buf cb;
    ostel_buf_init(&cb, 0);
    struct ostel_report_series_buf vb = {0}; /* a packed run's arrays, one run at a time */
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t i = 0; i < g->n; i++, k++) {
            const struct ostel_report_run *run = &r->set->runs[g->runs[i]];
            if (k >= total || pos[k] == SIZE_MAX)
                continue; /* not listed: only in the overlays and the tables */
            cJSON_AddItemToArray(name, cJSON_CreateString(run->name));
            cJSON_AddItemToArray(group, cJSON_CreateNumber((double)gi));
            cJSON_AddItemToArray(status, cJSON_CreateString(*run->status ? run->status : "?"));
            cJSON_AddItemToArray(mem, num4(run->ok ? mem_of(run) : NAN));
            cJSON_AddItemToArray(gen, num4(run->ok ? run->metric[OSTEL_REPORT_M_GEN_TPS] : NAN));
            if (chosen[k]) {
                cJSON *c = cJSON_CreateObject();
                cJSON_AddNumberToObject(c, "run", (double)pos[k]);
                cJSON_AddItemToObject(c, "series",
                                      full_series(ostel_report_series_view(
                                          &run->series, OSTEL_REPORT_SERIES_ALL, &vb)));
                if (run->gpu_series.n >= 2)
                    cJSON_AddItemToObject(c, "gpu", gpu_full_series(&run->gpu_series));
                if (run->serve_json) /* the serve levels' spans, for the per-level timeline */
                    cJSON_AddItemToObject(c, "levels", ostel_report_serve_run_levels(run));
                cJSON_AddItemToArray(charted, c);
                ncharted++;
                cJSON_AddItemToArray(lazy, cJSON_CreateNull());
                continue;
            }
            ostel_buf_reset(&cb);
            if (lazied < LAZY_RUNS_MAX && run->series.n >= 2) {
                ostel_report_series_compact(
                    ostel_report_series_view(&run->series, COMPACT_MASK, &vb), lazy_pts, &cb);
                lazied++;
            }
            cJSON_AddItemToArray(lazy, cb.len ? cJSON_CreateString(cb.data) : cJSON_CreateNull());
        }
    }
    ostel_buf_free(&cb);
    ostel_report_series_buf_free(&vb);
    cJSON_AddItemToObject(root, "lazy", lazy);

    /* Every group's overlay: the first OSTEL_REPORT_OVERLAY_GROUPS_DRAWN at full resolution (drawn
     * when the page opens), the others at fewer points within a budget (drawn when chosen). */
    cJSON *ovs = cJSON_AddArrayToObject(root, "overlays");
    size_t nov = r->ngroups, ndrawn = nov < OSTEL_REPORT_OVERLAY_GROUPS_DRAWN
                                          ? nov
                                          : OSTEL_REPORT_OVERLAY_GROUPS_DRAWN;
    size_t extra_pts = OSTEL_REPORT_OVERLAY_POINTS;
    if (nov > ndrawn) {
        extra_pts = OVERLAY_EXTRA_BUDGET_CHARS / ((nov - ndrawn) * 13 * 7);
        if (extra_pts < OVERLAY_POINTS_MIN)
            extra_pts = OVERLAY_POINTS_MIN;
        if (extra_pts > OSTEL_REPORT_OVERLAY_POINTS)
            extra_pts = OSTEL_REPORT_OVERLAY_POINTS;
    }
    struct ostel_report_overlay *ov = ostel_xmalloc(sizeof(*ov));
    double *tmp = ostel_xmalloc(OSTEL_REPORT_OVERLAY_POINTS * sizeof(*tmp));
    for (size_t gi = 0; gi < nov; gi++) {
        ostel_report_overlay_build(r, gi, ov);
        size_t m = gi < ndrawn ? ov->npts : (ov->npts < extra_pts ? ov->npts : extra_pts);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "group", (double)gi);
        cJSON_AddNumberToObject(o, "n_runs", (double)ov->n_runs);
        cJSON_AddBoolToObject(o, "drawn", gi < ndrawn);
        cJSON_AddItemToObject(o, "x", overlay_points(ov->x, ov->npts, m, tmp));
        cJSON *ph = cJSON_AddArrayToObject(o, "phases");
        for (int p = 1; p < OSTEL_REPORT_NPHASES; p++) {
            if (!(ov->phase_len[p] > 0))
                continue;
            cJSON *po = cJSON_CreateObject();
            cJSON_AddStringToObject(po, "name", ostel_report_phase_name(p));
            cJSON_AddItemToObject(po, "start", num4(ov->phase_start[p]));
            cJSON_AddItemToObject(po, "end", num4(ov->phase_start[p] + ov->phase_len[p]));
            cJSON_AddItemToArray(ph, po);
        }
        cJSON *ms = cJSON_AddObjectToObject(o, "m");
        for (int mi = 0; mi < OSTEL_REPORT_NOV; mi++) {
            cJSON *mo = cJSON_AddObjectToObject(ms, ov_keys[mi]);
            cJSON_AddNumberToObject(mo, "n", (double)ov->n_at[mi]);
            cJSON_AddItemToObject(mo, "med", overlay_points(ov->med[mi], ov->npts, m, tmp));
            cJSON_AddItemToObject(mo, "lo", overlay_points(ov->lo[mi], ov->npts, m, tmp));
            cJSON_AddItemToObject(mo, "hi", overlay_points(ov->hi[mi], ov->npts, m, tmp));
        }
        cJSON_AddItemToArray(ovs, o);
    }
    free(tmp);
    free(ov);

    cJSON *sum = cJSON_AddObjectToObject(root, "summarised");
    cJSON_AddNumberToObject(sum, "runs", (double)total);
    cJSON_AddNumberToObject(sum, "groups", (double)r->ngroups);
    cJSON_AddNumberToObject(sum, "overlay_groups", (double)nov);
    cJSON_AddNumberToObject(sum, "overlay_groups_drawn", (double)ndrawn);
    cJSON_AddNumberToObject(sum, "overlay_points_chosen", (double)extra_pts);
    cJSON_AddNumberToObject(sum, "lazy_max", LAZY_RUNS_MAX);
    cJSON_AddNumberToObject(sum, "charted", (double)ncharted);
    cJSON_AddNumberToObject(sum, "lazy", (double)lazied);
    cJSON_AddNumberToObject(sum, "lazy_points", (double)lazy_pts);
    cJSON_AddNumberToObject(sum, "overlay_points", OSTEL_REPORT_OVERLAY_POINTS);
    cJSON_AddNumberToObject(sum, "chart_points", CHART_POINTS);
    if (nlisted < total)
        cJSON_AddNumberToObject(sum, "listed", (double)nlisted);
    free(pos);
    free(chosen);
    return root;
}

/* ---- a long table's rows, for the page's pager ---- */

struct cell_ref {
    const char *s;
    size_t row;
};

static int cell_ref_cmp(const void *a, const void *b)
{
    const struct cell_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

cJSON *ostel_report_html_table_rows(const struct ostel_report_table *t, size_t per_page)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)t->nrows);
    cJSON_AddNumberToObject(o, "per", (double)per_page);
    cJSON *cls = cJSON_AddArrayToObject(o, "cls");
    cJSON *cols = cJSON_AddArrayToObject(o, "cols");
    cJSON *flags = cJSON_AddArrayToObject(o, "f");
    size_t n = t->nrows;
    struct cell_ref *refs = ostel_xmalloc((n ? n : 1) * sizeof(*refs));
    char *f = ostel_xmalloc(n + 1);
    for (size_t c = 0; c < t->ncols; c++) {
        bool wrap = strcmp(t->head[c], "Notes") == 0 || strcmp(t->head[c], "Verdict") == 0 ||
                    strcmp(t->head[c], "Settings") == 0;
        char k[32];
        snprintf(k, sizeof(k), "%s%s", t->numeric[c] ? "num" : "", wrap ? " wrap-text" : "");
        cJSON_AddItemToArray(cls, cJSON_CreateString(k));
        bool any = false;
        for (size_t r = 0; r < n; r++) {
            const struct ostel_report_cell *cell = &t->cells[r * t->ncols + c];
            refs[r] = (struct cell_ref){cell->text ? cell->text : "", r};
            f[r] = (char)('0' + (cell->bold ? 1 : 0) + (cell->bad ? 2 : 0));
            any |= f[r] != '0';
        }
        f[n] = '\0';
        cJSON_AddItemToArray(flags, any ? cJSON_CreateString(f) : cJSON_CreateNull());
        /* a column of few distinct values (group, status, ctx) travels as a dictionary and an
         * index per row; any other as its strings */
        qsort(refs, n, sizeof(*refs), cell_ref_cmp);
        size_t distinct = 0;
        for (size_t r = 0; r < n; r++)
            distinct += r == 0 || strcmp(refs[r].s, refs[r - 1].s) != 0;
        cJSON *col = cJSON_CreateObject();
        if (2 * distinct < n) {
            cJSON *v = cJSON_AddArrayToObject(col, "v");
            double *idx = ostel_xmalloc(n * sizeof(*idx));
            size_t d = 0;
            for (size_t r = 0; r < n; r++) {
                if (r > 0 && strcmp(refs[r].s, refs[r - 1].s) != 0)
                    d++;
                if (r == 0 || strcmp(refs[r].s, refs[r - 1].s) != 0)
                    cJSON_AddItemToArray(v, cJSON_CreateString(refs[r].s));
                idx[refs[r].row] = (double)d;
            }
            cJSON *ia = cJSON_AddArrayToObject(col, "i");
            for (size_t r = 0; r < n; r++)
                cJSON_AddItemToArray(ia, cJSON_CreateNumber(idx[r]));
            free(idx);
        } else {
            cJSON *sa = cJSON_AddArrayToObject(col, "s");
            for (size_t r = 0; r < n; r++) {
                const char *text = t->cells[r * t->ncols + c].text;
                cJSON_AddItemToArray(sa, cJSON_CreateString(text ? text : ""));
            }
        }
        cJSON_AddItemToArray(cols, col);
    }
    free(f);
    free(refs);
    return o;
}
