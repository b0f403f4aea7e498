/*
 * serve_stats: the statistics of one serving level — the latency distribution (mean, sample sd,
 * the percentiles p50/p90/p95/p99/p99.9 by linear interpolation between order statistics, numpy's
 * default and R's type 7, as vLLM's np.percentile, and max), each request's TPOT and ITL, the SLO
 * test behind goodput, and the open loop's saturation detector. Pure: NAN entries ("not
 * available") are skipped; a statistic that cannot be formed is NAN. Definitions: docs/serve.md.
 */
#ifndef OSTEL_SERVE_STATS_H
#define OSTEL_SERVE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ostel_serve_dist {
    size_t n;
    double mean, sd, p50, p90, p95, p99, p999, max, min;
};

/* Summarises x[0..n); x is reordered in place (sorted, NANs moved to the end). */
void ostel_serve_dist_compute(double *x, size_t n, struct ostel_serve_dist *out);
/* The q-quantile (0 ≤ q ≤ 1) of sorted[0..n), NAN-free; NAN when n == 0. */
double ostel_serve_quantile_sorted(const double *sorted, size_t n, double q);

/* TPOT of one request: (end − first token) / (output tokens − 1); NAN when n < 2 or a time is
 * missing (negative). Times in ns of one clock. */
double ostel_serve_tpot_ms(int64_t first_ns, int64_t end_ns, int output_tokens);
/* The mean gap between consecutive token arrivals tok[0..n) (ns), in ms; NAN when n < 2. */
double ostel_serve_itl_mean_ms(const int64_t *tok_ns, size_t n);
/* The largest of those gaps, in ms; NAN when n < 2. */
double ostel_serve_itl_max_ms(const int64_t *tok_ns, size_t n);

/* An SLO: a request is good when every bound that is set (finite) holds. */
struct ostel_serve_slo {
    double ttft_ms, itl_ms, e2e_ms; /* NAN = no bound */
};
/* Whether a completed request meets slo. A missing TTFT or E2E fails a set bound; a missing ITL
 * (a one-token answer has no gap) passes the ITL bound. */
bool ostel_serve_slo_met(const struct ostel_serve_slo *slo, double ttft_ms, double itl_mean_ms,
                         double e2e_ms);

/* The least-squares slope of y[i] over i and its t statistic; both NAN when n < 3. */
void ostel_serve_slope_t(const double *y, size_t n, double *slope, double *t);
/*
 * The open loop's saturation test over backlog[0..n) (requests in flight, once a second, the last
 * one now): saturated when there are at least 10 samples, the backlog's trend is rising (slope > 0
 * with t > 4), at least 8 are in flight and more than 1.5 times the backlog halfway through. (Not
 * twice: a backlog c + k·t that grows linearly, as a queue fed faster than it drains does, never
 * doubles its value at t/2; 1.5 times it is passed once k·(t/4 − 1) > c/2.)
 */
bool ostel_serve_saturated(const double *backlog, size_t n);

#endif
