/*
 * stats: descriptive statistics, Student t, Welch's test, ratio confidence intervals, trends and
 * outliers for `ostel report`. The Student t distribution comes from the regularized incomplete
 * beta function (continued fraction, modified Lentz), so no table is needed and any df works.
 * Formulas and their sources are in docs/report.md.
 */
#include "report/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Copies the non-NAN values of x, sorted; the caller frees the result. */
static double *sorted_copy(const double *x, size_t n, size_t *m)
{
    double *v = ostel_xmalloc((n ? n : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            v[k++] = x[i];
    qsort(v, k, sizeof(*v), cmp_double);
    *m = k;
    return v;
}

/* Quantile of sorted v[0..n) by linear interpolation between order statistics (R's type 7). */
static double quantile_sorted(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

void ostel_stats_summarize(const double *x, size_t n, struct ostel_stats_summary *out)
{
    size_t m;
    double *v = sorted_copy(x, n, &m);
    out->n = m;
    out->mean = out->sd = out->median = out->min = out->max = NAN;
    out->q1 = out->q3 = out->mad = out->ci_lo = out->ci_hi = out->cv = NAN;
    if (m == 0) {
        free(v);
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < m; i++)
        sum += v[i];
    out->mean = sum / (double)m;
    out->min = v[0];
    out->max = v[m - 1];
    out->median = quantile_sorted(v, m, 0.5);
    out->q1 = quantile_sorted(v, m, 0.25);
    out->q3 = quantile_sorted(v, m, 0.75);
    for (size_t i = 0; i < m; i++)
        v[i] = fabs(v[i] - out->median);
    qsort(v, m, sizeof(*v), cmp_double);
    out->mad = quantile_sorted(v, m, 0.5);
    free(v);
    if (m < 2)
        return;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->sd = sqrt(ss / (double)(m - 1));
    double half = ostel_stats_t_quantile(0.975, (double)(m - 1)) * out->sd / sqrt((double)m);
    out->ci_lo = out->mean - half;
    out->ci_hi = out->mean + half;
    if (out->mean != 0)
        out->cv = out->sd / fabs(out->mean);
}

/* Continued fraction of the incomplete beta function (Numerical Recipes' betacf, modified Lentz).
 */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double beta_reg(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double ostel_stats_t_two_sided_p(double t, double df)
{
    if (isnan(t) || isnan(df) || df <= 0)
        return NAN;
    if (isinf(t))
        return 0;
    return beta_reg(df / 2, 0.5, df / (df + t * t));
}

double ostel_stats_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    /* P(T <= q) for q > 0 is 1 - p2/2, p2 the two-sided tail; solve by bisection on |q|. */
    double target = p > 0.5 ? 2 * (1 - p) : 2 * p; /* two-sided tail at |q| */
    double lo = 0, hi = 1;
    while (ostel_stats_t_two_sided_p(hi, df) > target && hi < 1e12)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = (lo + hi) / 2;
        if (ostel_stats_t_two_sided_p(mid, df) > target)
            lo = mid;
        else
            hi = mid;
    }
    double q = (lo + hi) / 2;
    return p > 0.5 ? q : -q;
}

void ostel_stats_welch_test(const struct ostel_stats_summary *a,
                            const struct ostel_stats_summary *b, struct ostel_stats_welch *out)
{
    out->t = out->df = out->p = NAN;
    if (a->n < 2 || b->n < 2)
        return;
    double va = a->sd * a->sd / (double)a->n, vb = b->sd * b->sd / (double)b->n;
    double diff = a->mean - b->mean;
    if (va + vb == 0) {
        /* Both samples constant: the difference is exact. */
        out->t = diff == 0 ? 0 : (diff > 0 ? INFINITY : -INFINITY);
        out->df = (double)(a->n + b->n - 2);
        out->p = diff == 0 ? 1 : 0;
        return;
    }
    out->t = diff / sqrt(va + vb);
    out->df = (va + vb) * (va + vb) / (va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
    out->p = ostel_stats_t_two_sided_p(out->t, out->df);
}

void ostel_stats_ratio_ci(const struct ostel_stats_summary *a, const struct ostel_stats_summary *b,
                          struct ostel_stats_ratio *out)
{
    out->ratio = out->lo = out->hi = NAN;
    if (a->n == 0 || b->n == 0 || b->mean == 0)
        return;
    out->ratio = a->mean / b->mean;
    if (a->n < 2 || b->n < 2 || !(a->mean > 0) || !(b->mean > 0))
        return;
    /* Var(log mean) ~ sd^2 / (n mean^2) (delta method); the log ratio's variance is their sum. */
    double va = a->sd * a->sd / ((double)a->n * a->mean * a->mean);
    double vb = b->sd * b->sd / ((double)b->n * b->mean * b->mean);
    if (va + vb == 0) {
        out->lo = out->hi = out->ratio;
        return;
    }
    double df =
        (va + vb) * (va + vb) / (va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
    double half = ostel_stats_t_quantile(0.975, df) * sqrt(va + vb);
    out->lo = out->ratio * exp(-half);
    out->hi = out->ratio * exp(half);
}

void ostel_stats_trend_fit(const double *y, size_t n, struct ostel_stats_trend *out)
{
    out->n = 0;
    out->slope = out->intercept = out->p = NAN;
    double sx = 0, sy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        sx += (double)i;
        sy += y[i];
        m++;
    }
    out->n = m;
    if (m < 2)
        return;
    double mx = sx / (double)m, my = sy / (double)m, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        sxx += ((double)i - mx) * ((double)i - mx);
        sxy += ((double)i - mx) * (y[i] - my);
    }
    if (sxx == 0)
        return;
    out->slope = sxy / sxx;
    out->intercept = my - out->slope * mx;
    if (m < 3)
        return;
    double sse = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        double r = y[i] - (out->intercept + out->slope * (double)i);
        sse += r * r;
    }
    double se = sqrt(sse / (double)(m - 2) / sxx);
    if (se == 0 || se < 1e-12 * fabs(out->slope)) {
        /* A perfect line: the slope is exact. */
        out->p = out->slope == 0 ? 1 : 0;
        return;
    }
    out->p = ostel_stats_t_two_sided_p(out->slope / se, (double)(m - 2));
}

size_t ostel_stats_outliers(const double *x, size_t n, bool *flag, double *score)
{
    struct ostel_stats_summary s;
    ostel_stats_summarize(x, n, &s);
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        flag[i] = false;
        if (score)
            score[i] = NAN;
    }
    if (s.n < 3)
        return 0;
    double iqr = s.q3 - s.q1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        if (s.mad > 0) {
            double z = 0.6745 * (x[i] - s.median) / s.mad;
            if (score)
                score[i] = z;
            flag[i] = fabs(z) > OSTEL_STATS_OUTLIER_Z;
        } else if (iqr > 0) {
            flag[i] = x[i] < s.q1 - 1.5 * iqr || x[i] > s.q3 + 1.5 * iqr;
        }
        count += flag[i];
    }
    return count;
}
