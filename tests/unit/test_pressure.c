/*
 * Unit tests for the pure platform helpers: the vm_pressure_flag state machine (pressure.c) and the
 * per-interval metrics of two samples (platform_metrics.c). Made-up samples, exact expected values.
 */
#include "testlib.h"
#include "platform/platform.h"

#include <string.h>

#define MS 1000000LL

/* Feeds n intervals of dt with constant PSI shares; returns the last level. */
static int feed_psi(struct ostel_platform_pressure *st, int64_t *now, int n, int64_t dt,
                    double some, double full)
{
    int level = 0;
    for (int i = 0; i < n; i++) {
        *now += dt;
        level = ostel_platform_pressure_update(st, some, full, -1.0, dt, *now);
    }
    return level;
}

static void test_pressure_psi(void **state)
{
    (void)state;
    struct ostel_platform_pressure st;
    ostel_platform_pressure_init(&st);
    int64_t now = 0;
    /* Idle: normal. */
    assert_int_equal(feed_psi(&st, &now, 20, 100 * MS, 0, 0), 1);
    /* One 100 ms interval fully stalled (some=100 %) is smoothed to ~9.5 %: still normal. */
    assert_int_equal(feed_psi(&st, &now, 1, 100 * MS, 100, 0), 1);
    assert_true(st.some_pct_avg > 9.0 && st.some_pct_avg < 10.0);
    /* Sustained 20 % some: warning within about half a second. */
    ostel_platform_pressure_init(&st);
    int i = 0;
    while (i < 50 && ostel_platform_pressure_update(&st, 20, 0, -1, 100 * MS, now += 100 * MS) == 1)
        i++;
    assert_true(i >= 3 && i <= 8);
    assert_int_equal(st.level, 2);
    /* 7 % is between exit (5) and entry (10): stays warning (hysteresis). */
    assert_int_equal(feed_psi(&st, &now, 100, 100 * MS, 7, 0), 2);
    /* Full 30 %: critical. */
    assert_int_equal(feed_psi(&st, &now, 10, 100 * MS, 40, 30), 4);
    /* Calm again: critical holds for HOLD_NS after the average drops below its exit, then one
     * step to warning, then after another hold to normal. */
    int steps = 0, last = 4, saw_warning = 0;
    for (; steps < 200 && last != 1; steps++) {
        last = ostel_platform_pressure_update(&st, 0, 0, -1, 100 * MS, now += 100 * MS);
        if (last == 2)
            saw_warning = 1;
    }
    assert_int_equal(last, 1);
    assert_true(saw_warning);
    assert_true(steps >= 2 * (int)(OSTEL_PRESSURE_HOLD_NS / (100 * MS)));
    assert_true(steps < 120);
    /* some >= 50 % alone is critical too. */
    ostel_platform_pressure_init(&st);
    assert_int_equal(feed_psi(&st, &now, 50, 100 * MS, 90, 0), 4);
    /* A zero-length interval changes nothing. */
    assert_int_equal(ostel_platform_pressure_update(&st, 0, 0, -1, 0, now), 4);
}

static void test_pressure_avail_fallback(void **state)
{
    (void)state;
    struct ostel_platform_pressure st;
    ostel_platform_pressure_init(&st);
    int64_t now = 0;
    assert_int_equal(ostel_platform_pressure_update(&st, -1, -1, 50, 100 * MS, now += 100 * MS), 1);
    assert_int_equal(ostel_platform_pressure_update(&st, -1, -1, 9, 100 * MS, now += 100 * MS), 2);
    assert_int_equal(ostel_platform_pressure_update(&st, -1, -1, 4, 100 * MS, now += 100 * MS), 4);
    /* 6 % is above critical's entry but below its exit (5 + 2): stays critical. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(ostel_platform_pressure_update(&st, -1, -1, 6, 100 * MS, now += 100 * MS),
                         4);
    /* 8 %: after the hold, down to warning, and stays there (below 12). */
    int last = 4;
    for (int i = 0; i < 50; i++)
        last = ostel_platform_pressure_update(&st, -1, -1, 8, 100 * MS, now += 100 * MS);
    assert_int_equal(last, 2);
    /* Nothing known: 0. */
    assert_int_equal(ostel_platform_pressure_update(&st, -1, -1, -1, 100 * MS, now), 0);
}

static void mark_all(struct ostel_platform_sample *s, const enum ostel_platform_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ostel_platform_sample_mark(s, f[i]);
}

static void test_metrics(void **state)
{
    (void)state;
    static const enum ostel_platform_field linux_fields[] = {
        OSTEL_PLATFORM_FIELD_RSS,
        OSTEL_PLATFORM_FIELD_RSS_ANON,
        OSTEL_PLATFORM_FIELD_RSS_FILE,
        OSTEL_PLATFORM_FIELD_SWAP,
        OSTEL_PLATFORM_FIELD_CPU,
        OSTEL_PLATFORM_FIELD_MINFLT,
        OSTEL_PLATFORM_FIELD_MAJFLT,
        OSTEL_PLATFORM_FIELD_THREADS,
        OSTEL_PLATFORM_FIELD_PROCS,
        OSTEL_PLATFORM_FIELD_MEM_TOTAL,
        OSTEL_PLATFORM_FIELD_MEM_AVAIL,
        OSTEL_PLATFORM_FIELD_PAGEINS,
        OSTEL_PLATFORM_FIELD_PAGEOUTS,
        OSTEL_PLATFORM_FIELD_SWAPINS,
        OSTEL_PLATFORM_FIELD_SWAPOUTS,
        OSTEL_PLATFORM_FIELD_PSI_SOME_TOTAL,
        OSTEL_PLATFORM_FIELD_PSI_FULL_TOTAL,
    };
    struct ostel_platform_sample a, b;
    memset(&a, 0, sizeof(a));
    mark_all(&a, linux_fields, OSTEL_ARRAY_LEN(linux_fields));
    a.realtime_ns = 1764140000123000000LL;
    a.monotonic_ns = 5000 * MS;
    a.rss_bytes = 512ull << 20;
    a.rss_anon_bytes = 100ull << 20;
    a.rss_file_bytes = 412ull << 20;
    a.cpu_ns = 1000 * MS;
    a.minflt = 100;
    a.majflt = 10;
    a.threads = 9;
    a.mem_total_bytes = 1000ull << 20;
    a.mem_avail_bytes = 250ull << 20;
    a.pageins = 1000;
    a.pageouts = 50;
    a.psi_some_total_us = 1000000;
    a.psi_full_total_us = 500000;
    b = a;
    b.realtime_ns += 100 * MS;
    b.monotonic_ns += 100 * MS;
    b.cpu_ns += 150 * MS; /* 1.5 cores */
    b.minflt = 90;        /* a process left the tree: clamped to 0 */
    b.majflt = 13;
    b.pageins = 1400;
    b.pageouts = 40;              /* system counter went back: invalid */
    b.psi_some_total_us += 25000; /* 25 ms of 100 */
    b.psi_full_total_us += 5000;

    struct ostel_platform_pressure st;
    ostel_platform_pressure_init(&st);
    struct ostel_platform_metrics m;
    ostel_platform_metrics_compute(NULL, &a, &st, &m);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_TS], 1764140000.123, 1e-6);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_RSS_MIB], 512.0, 1e-9);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_AVAIL_MEM_LEVEL], 25.0, 1e-9);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_SYS_AVAIL_MIB], 250.0, 1e-9);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_VM_PRESSURE_FLAG], 1.0, 0);
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_CPU_PCT));
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_PAGEINS_DELTA));
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_PSI_SOME_PCT));

    ostel_platform_metrics_compute(&a, &b, &st, &m);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_CPU_PCT], 150.0, 1e-9);
    assert_true(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_MINFLT_DELTA));
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_MINFLT_DELTA], 0.0, 0);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_MAJFLT_DELTA], 3.0, 0);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_PAGEINS_DELTA], 400.0, 0);
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_PAGEOUTS_DELTA));
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_SWAPIN_DELTA], 0.0, 0);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_PSI_SOME_PCT], 25.0, 1e-9);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_PSI_FULL_PCT], 5.0, 1e-9);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_THREADS], 9.0, 0);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_RSS_FILE_MIB], 412.0, 1e-9);
    assert_true(st.some_pct_avg > 2.0); /* the interval fed the state machine */

    /* An invalid field stays invalid (an empty cell), never 0. */
    b.valid &= ~((uint64_t)1 << OSTEL_PLATFORM_FIELD_SWAP);
    b.valid &= ~((uint64_t)1 << OSTEL_PLATFORM_FIELD_CPU);
    ostel_platform_metrics_compute(&a, &b, &st, &m);
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_SWAP_MIB));
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_CPU_PCT));

    /* The same instant twice: no rates. */
    ostel_platform_metrics_compute(&a, &a, &st, &m);
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_CPU_PCT));
    assert_true(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_RSS_MIB));

    /* A macOS-like sample: the kernel's level and available % are used as they are. */
    struct ostel_platform_sample mac;
    memset(&mac, 0, sizeof(mac));
    mac.realtime_ns = a.realtime_ns;
    mac.monotonic_ns = a.monotonic_ns;
    ostel_platform_sample_mark(&mac, OSTEL_PLATFORM_FIELD_PRESSURE_LEVEL);
    ostel_platform_sample_mark(&mac, OSTEL_PLATFORM_FIELD_AVAIL_LEVEL);
    ostel_platform_sample_mark(&mac, OSTEL_PLATFORM_FIELD_MEM_TOTAL);
    ostel_platform_sample_mark(&mac, OSTEL_PLATFORM_FIELD_MEM_AVAIL);
    mac.pressure_level = 4;
    mac.avail_level_pct = 17;
    mac.mem_total_bytes = 100;
    mac.mem_avail_bytes = 50;
    ostel_platform_metrics_compute(NULL, &mac, &st, &m);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_VM_PRESSURE_FLAG], 4.0, 0);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_AVAIL_MEM_LEVEL], 17.0, 0);
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_RSS_MIB));
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_FOOTPRINT_MIB));
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_FOOTPRINT_PEAK_MIB));
    /* phys_footprint and its lifetime high-water mark, in MiB, each only when read */
    ostel_platform_sample_mark(&mac, OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT);
    mac.phys_footprint_bytes = 300ull * 1024 * 1024;
    ostel_platform_metrics_compute(NULL, &mac, &st, &m);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_FOOTPRINT_MIB], 300.0, 1e-9);
    assert_false(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_FOOTPRINT_PEAK_MIB));
    ostel_platform_sample_mark(&mac, OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT_PEAK);
    mac.phys_footprint_peak_bytes = 1536ull * 1024 * 1024;
    ostel_platform_metrics_compute(NULL, &mac, &st, &m);
    assert_float_equal(m.v[OSTEL_PLATFORM_METRIC_FOOTPRINT_PEAK_MIB], 1536.0, 1e-9);

    /* Stub-like: timestamps only -> only ts. */
    memset(&mac, 0, sizeof(mac));
    mac.realtime_ns = 1;
    mac.monotonic_ns = 1;
    ostel_platform_pressure_init(&st);
    ostel_platform_metrics_compute(NULL, &mac, &st, &m);
    assert_int_equal(m.valid, 1u << OSTEL_PLATFORM_METRIC_TS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pressure_psi),
        cmocka_unit_test(test_pressure_avail_fallback),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
