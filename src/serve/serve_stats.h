/*
 * serve_stats: the latency distribution of one serving level — mean, sample sd, the percentiles
 * p50/p90/p95/p99/p99.9 (linear interpolation between order statistics, numpy's default and R's
 * type 7, as vLLM's np.percentile) and max. Pure: NAN entries ("not available") are skipped; a
 * statistic that cannot be formed is NAN. Definitions: docs/serve.md.
 */
#ifndef OSTEL_SERVE_STATS_H
#define OSTEL_SERVE_STATS_H

#include <stddef.h>

struct ostel_serve_dist {
    size_t n;
    double mean, sd, p50, p90, p95, p99, p999, max, min;
};

/* Summarises x[0..n); x is reordered in place (sorted, NANs moved to the end). */
void ostel_serve_dist_compute(double *x, size_t n, struct ostel_serve_dist *out);
/* The q-quantile (0 ≤ q ≤ 1) of sorted[0..n), NAN-free; NAN when n == 0. */
double ostel_serve_quantile_sorted(const double *sorted, size_t n, double q);

#endif
