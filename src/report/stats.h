/*
 * stats: the statistics of `ostel report` over repeated runs (hyperfine and llama-bench are the
 * bar).
 *
 * Pure functions over arrays of doubles; NAN entries are "not available" and are skipped. Nothing
 * here allocates beyond a scratch copy it frees, prints or fails on bad numbers: a statistic that
 * cannot be computed (too few values, zero variance where it matters) is NAN. Formulas:
 * docs/report.md.
 */
#ifndef OSTEL_STATS_H
#define OSTEL_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptive statistics of one sample. */
struct ostel_stats_summary {
    size_t n;        /* values that were not NAN */
    double mean;     /* NAN when n == 0 */
    double sd;       /* sample standard deviation (n - 1); NAN when n < 2 */
    double median;   /* NAN when n == 0 */
    double min, max; /* NAN when n == 0 */
    double q1, q3;   /* quartiles (linear interpolation, R type 7); NAN when n == 0 */
    double mad;      /* median absolute deviation (unscaled); NAN when n == 0 */
    double ci_lo;    /* 95% confidence interval of the mean (Student t); NAN when n < 2 */
    double ci_hi;
    double cv; /* coefficient of variation sd / |mean|; NAN when n < 2 or mean == 0 */
};

/* Summarises x[0..n) (NAN entries skipped). x is only read. */
void ostel_stats_summarize(const double *x, size_t n, struct ostel_stats_summary *out);

/* Student t distribution: two-sided tail probability P(|T| >= |t|) with df degrees of freedom. */
double ostel_stats_t_two_sided_p(double t, double df);
/* Student t distribution: the quantile q with P(T <= q) = p, for 0 < p < 1 and df > 0. */
double ostel_stats_t_quantile(double p, double df);

/* Welch's unequal-variance t-test of mean(a) - mean(b). */
struct ostel_stats_welch {
    double t, df, p; /* p: two-sided; all NAN when either sample has n < 2 */
};
void ostel_stats_welch_test(const struct ostel_stats_summary *a,
                            const struct ostel_stats_summary *b, struct ostel_stats_welch *out);

/*
 * Ratio of means mean(a) / mean(b) with its 95% confidence interval by the delta method on the log
 * ratio (Welch-Satterthwaite degrees of freedom on the relative variances). lo/hi are NAN when
 * either sample has n < 2 or a mean is not positive; ratio is NAN only when it cannot be formed.
 */
struct ostel_stats_ratio {
    double ratio, lo, hi;
};
void ostel_stats_ratio_ci(const struct ostel_stats_summary *a, const struct ostel_stats_summary *b,
                          struct ostel_stats_ratio *out);

/* Least-squares line y = intercept + slope * i over i = 0..n-1 (NAN y skipped), slope's t-test. */
struct ostel_stats_trend {
    size_t n;     /* points used */
    double slope; /* per step of i; NAN when n < 2 */
    double intercept;
    double p; /* two-sided p of slope != 0 (df = n - 2); NAN when n < 3 */
};
void ostel_stats_trend_fit(const double *y, size_t n, struct ostel_stats_trend *out);

/*
 * Outliers by the modified z-score of Iglewicz and Hoaglin, M = 0.6745 (x - median) / MAD, flagged
 * when |M| > 3.5; when MAD is 0, by Tukey's fences (outside [Q1 - 1.5 IQR, Q3 + 1.5 IQR] with IQR >
 * 0). Fills score[i] (NAN for NAN x, or where the fences were used) when score is not NULL and
 * flag[i]; returns the number flagged. Needs n >= 3 values, else flags nothing.
 */
#define OSTEL_STATS_OUTLIER_Z 3.5
size_t ostel_stats_outliers(const double *x, size_t n, bool *flag, double *score);

#endif
