/*
 * Unit tests for report/stats: values checked against published t tables (qt) and hand computation.
 */
#include "testlib.h"
#include "report/stats.h"

#include <math.h>

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) < (eps))

static void test_summary(void **state)
{
    (void)state;
    const double x[] = {10, 12, NAN, 11, 13, 9};
    struct ostel_stats_summary s;
    ostel_stats_summarize(x, 6, &s);
    assert_int_equal(s.n, 5);
    NEAR(s.mean, 11.0, 1e-12);
    NEAR(s.sd, sqrt(2.5), 1e-12);
    NEAR(s.median, 11.0, 1e-12);
    NEAR(s.min, 9.0, 1e-12);
    NEAR(s.max, 13.0, 1e-12);
    NEAR(s.q1, 10.0, 1e-12);
    NEAR(s.q3, 12.0, 1e-12);
    NEAR(s.mad, 1.0, 1e-12);
    /* R: t.test(c(10,12,11,13,9))$conf.int = 9.036757 12.963243 */
    NEAR(s.ci_lo, 9.036757, 1e-5);
    NEAR(s.ci_hi, 12.963243, 1e-5);
    NEAR(s.cv, sqrt(2.5) / 11.0, 1e-12);

    ostel_stats_summarize(x, 1, &s);
    assert_int_equal(s.n, 1);
    assert_true(isnan(s.sd));
    assert_true(isnan(s.ci_lo));
    ostel_stats_summarize(x + 2, 1, &s);
    assert_int_equal(s.n, 0);
    assert_true(isnan(s.mean));
}

static void test_t_distribution(void **state)
{
    (void)state;
    /* R: qt(0.975, c(1, 2, 4, 10, 30, 1000)) */
    NEAR(ostel_stats_t_quantile(0.975, 1), 12.706205, 1e-5);
    NEAR(ostel_stats_t_quantile(0.975, 2), 4.302653, 1e-5);
    NEAR(ostel_stats_t_quantile(0.975, 4), 2.776445, 1e-5);
    NEAR(ostel_stats_t_quantile(0.975, 10), 2.228139, 1e-5);
    NEAR(ostel_stats_t_quantile(0.975, 30), 2.042272, 1e-5);
    NEAR(ostel_stats_t_quantile(0.975, 1000), 1.962339, 1e-5);
    NEAR(ostel_stats_t_quantile(0.025, 10), -2.228139, 1e-5);
    /* 2 * P(T7 > 2.5) by numerical integration of the density = 0.0409922 */
    NEAR(ostel_stats_t_two_sided_p(2.5, 7), 0.0409922, 1e-6);
    NEAR(ostel_stats_t_two_sided_p(0, 7), 1.0, 1e-12);
    assert_true(isnan(ostel_stats_t_quantile(1.5, 3)));
}

static void test_welch_and_ratio(void **state)
{
    (void)state;
    const double a[] = {41.2, 41.0, 41.5, 40.9};
    const double b[] = {24.3, 24.1, 24.6};
    struct ostel_stats_summary sa, sb;
    ostel_stats_summarize(a, 4, &sa);
    ostel_stats_summarize(b, 3, &sb);
    struct ostel_stats_welch w;
    ostel_stats_welch_test(&sb, &sa, &w);
    /* Welch by hand: t = -85.5823, df = 4.58822 */
    NEAR(w.t, -85.5823, 1e-3);
    NEAR(w.df, 4.58822, 1e-4);
    assert_true(w.p < 1e-6);
    struct ostel_stats_ratio r;
    ostel_stats_ratio_ci(&sb, &sa, &r);
    NEAR(r.ratio, 24.333333 / 41.15, 1e-6);
    assert_true(r.lo < r.ratio && r.ratio < r.hi);
    assert_true(r.hi < 1.0);

    /* Same distribution: no difference. */
    const double c[] = {10, 11, 9, 10.5, 9.5};
    const double d[] = {10.2, 9.8, 10.1, 9.9, 10.0};
    struct ostel_stats_summary sc, sd;
    ostel_stats_summarize(c, 5, &sc);
    ostel_stats_summarize(d, 5, &sd);
    ostel_stats_welch_test(&sc, &sd, &w);
    assert_true(w.p > 0.5);
    ostel_stats_ratio_ci(&sc, &sd, &r);
    assert_true(r.lo < 1.0 && r.hi > 1.0);

    /* One run: no test. */
    ostel_stats_summarize(c, 1, &sc);
    ostel_stats_welch_test(&sc, &sd, &w);
    assert_true(isnan(w.p));
    ostel_stats_ratio_ci(&sc, &sd, &r);
    NEAR(r.ratio, 1.0, 1e-12);
    assert_true(isnan(r.lo));
}

static void test_trend(void **state)
{
    (void)state;
    const double up[] = {640, 700, 760};
    struct ostel_stats_trend t;
    ostel_stats_trend_fit(up, 3, &t);
    NEAR(t.slope, 60, 1e-9);
    NEAR(t.intercept, 640, 1e-9);
    assert_true(t.p < 0.001);
    /* y = 5 7 6 9 8 11 over x = 0..5: slope 1.028571, t = 3.92015 (df 4); p from the closed-form
     * Student t CDF for 4 degrees of freedom = 0.017250 */
    const double y[] = {5, 7, 6, 9, 8, 11};
    ostel_stats_trend_fit(y, 6, &t);
    NEAR(t.slope, 1.028571, 1e-5);
    NEAR(t.p, 0.017250, 2e-5);
    const double flat[] = {3, 3, 3, 3};
    ostel_stats_trend_fit(flat, 4, &t);
    NEAR(t.slope, 0, 1e-12);
    NEAR(t.p, 1, 1e-12);
    ostel_stats_trend_fit(flat, 1, &t);
    assert_true(isnan(t.slope));
}

static void test_outliers(void **state)
{
    (void)state;
    const double x[] = {41.2, 41.0, 38.9, 41.5, 41.1};
    bool f[7];
    double z[7];
    assert_int_equal(ostel_stats_outliers(x, 5, f, z), 1);
    assert_true(f[2]);
    assert_false(f[0]);
    assert_true(z[2] < -OSTEL_STATS_OUTLIER_Z);
    const double calm[] = {10, 11, 10.5, 9.8, 10.2};
    assert_int_equal(ostel_stats_outliers(calm, 5, f, NULL), 0);
    /* MAD 0: Tukey's fences decide. */
    const double tied[] = {9, 9, 9, 10, 12.75, 9, 9.5};
    assert_int_equal(ostel_stats_outliers(tied, 7, f, z), 1);
    assert_true(f[4]);
    assert_int_equal(ostel_stats_outliers(tied, 2, f, z), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary),         cmocka_unit_test(test_t_distribution),
        cmocka_unit_test(test_welch_and_ratio), cmocka_unit_test(test_trend),
        cmocka_unit_test(test_outliers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
