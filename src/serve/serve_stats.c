/*
 * serve_stats: the statistics of a serving level (see serve_stats.h).
 */
#include "serve/serve_stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ostel_serve_quantile_sorted(const double *s, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return s[0];
    if (q >= 1)
        return s[n - 1];
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return s[lo] + (h - (double)lo) * (s[hi] - s[lo]);
}

void ostel_serve_dist_compute(double *x, size_t n, struct ostel_serve_dist *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            x[k++] = x[i];
    for (size_t i = k; i < n; i++)
        x[i] = NAN;
    out->n = k;
    out->mean = out->sd = out->p50 = out->p90 = out->p95 = out->p99 = out->p999 = NAN;
    out->max = out->min = NAN;
    if (k == 0)
        return;
    qsort(x, k, sizeof(*x), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += x[i];
    out->mean = sum / (double)k;
    if (k > 1) {
        double ss = 0;
        for (size_t i = 0; i < k; i++)
            ss += (x[i] - out->mean) * (x[i] - out->mean);
        out->sd = sqrt(ss / (double)(k - 1));
    }
    out->p50 = ostel_serve_quantile_sorted(x, k, 0.50);
    out->p90 = ostel_serve_quantile_sorted(x, k, 0.90);
    out->p95 = ostel_serve_quantile_sorted(x, k, 0.95);
    out->p99 = ostel_serve_quantile_sorted(x, k, 0.99);
    out->p999 = ostel_serve_quantile_sorted(x, k, 0.999);
    out->min = x[0];
    out->max = x[k - 1];
}

double ostel_serve_tpot_ms(int64_t first_ns, int64_t end_ns, int output_tokens)
{
    if (output_tokens < 2 || first_ns < 0 || end_ns < first_ns)
        return NAN;
    return (double)(end_ns - first_ns) / 1e6 / (double)(output_tokens - 1);
}

double ostel_serve_itl_mean_ms(const int64_t *tok, size_t n)
{
    return n > 1 ? (double)(tok[n - 1] - tok[0]) / 1e6 / (double)(n - 1) : NAN;
}

double ostel_serve_itl_max_ms(const int64_t *tok, size_t n)
{
    double m = NAN;
    for (size_t i = 1; i < n; i++) {
        double d = (double)(tok[i] - tok[i - 1]) / 1e6;
        if (isnan(m) || d > m)
            m = d;
    }
    return m;
}

bool ostel_serve_slo_met(const struct ostel_serve_slo *slo, double ttft_ms, double itl_mean_ms,
                         double e2e_ms)
{
    if (isfinite(slo->ttft_ms) && !(ttft_ms <= slo->ttft_ms))
        return false;
    if (isfinite(slo->itl_ms) && isfinite(itl_mean_ms) && !(itl_mean_ms <= slo->itl_ms))
        return false;
    if (isfinite(slo->e2e_ms) && !(e2e_ms <= slo->e2e_ms))
        return false;
    return true;
}

void ostel_serve_slope_t(const double *y, size_t n, double *slope, double *t)
{
    *slope = *t = NAN;
    if (n < 3)
        return;
    double mx = (double)(n - 1) / 2, my = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        my += y[i];
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += ((double)i - mx) * ((double)i - mx);
        sxy += ((double)i - mx) * (y[i] - my);
    }
    *slope = sxy / sxx;
    double sse = 0;
    for (size_t i = 0; i < n; i++) {
        double e = y[i] - (my + *slope * ((double)i - mx));
        sse += e * e;
    }
    double se = sqrt(sse / (double)(n - 2) / sxx);
    *t = se > 0 ? *slope / se : (*slope > 0 ? INFINITY : 0);
}

bool ostel_serve_saturated(const double *backlog, size_t n)
{
    if (n < 10)
        return false;
    double s, t;
    ostel_serve_slope_t(backlog, n, &s, &t);
    double now = backlog[n - 1];
    return s > 0 && t > 4 && now >= 8 && now > 1.5 * backlog[n / 2];
}
