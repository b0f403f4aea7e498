/*
 * serve_stats: latency distributions (see serve_stats.h).
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
