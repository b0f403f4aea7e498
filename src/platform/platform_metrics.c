/*
 * platform_metrics: two consecutive raw samples -> the per-interval values of one metrics.csv row
 * (docs/run-directory.md): rates and deltas of cumulative counters, MiB gauges, PSI stall shares,
 * avail_mem_level and vm_pressure_flag. Pure and allocation-free, so it is unit-tested with made-up
 * samples and runs in the sampler's hot path. Which column a value lands in is the sampler's
 * business.
 */
#include "platform/platform.h"

#define MIB 1048576.0

static void set(struct ostel_platform_metrics *m, enum ostel_platform_metric k, double v)
{
    m->v[k] = v;
    m->valid |= 1u << k;
}

static bool both(const struct ostel_platform_sample *a, const struct ostel_platform_sample *b,
                 enum ostel_platform_field f)
{
    return a && ostel_platform_sample_has(a, f) && ostel_platform_sample_has(b, f);
}

/* Tree counters: a process leaving the tree can make the sum go back; that is 0, not negative. */
static void tree_delta(struct ostel_platform_metrics *m, enum ostel_platform_metric k,
                       const struct ostel_platform_sample *prev,
                       const struct ostel_platform_sample *cur, enum ostel_platform_field f,
                       uint64_t a, uint64_t b)
{
    if (both(prev, cur, f))
        set(m, k, b >= a ? (double)(b - a) : 0.0);
}

/* System counters only go back when the source changed: the delta is unknown then. */
static void sys_delta(struct ostel_platform_metrics *m, enum ostel_platform_metric k,
                      const struct ostel_platform_sample *prev,
                      const struct ostel_platform_sample *cur, enum ostel_platform_field f,
                      uint64_t a, uint64_t b)
{
    if (both(prev, cur, f) && b >= a)
        set(m, k, (double)(b - a));
}

/* Share of the wall interval spent stalled, %, from a cumulative microsecond counter. */
static double stall_share(uint64_t a_us, uint64_t b_us, int64_t interval_ns)
{
    if (b_us < a_us || interval_ns <= 0)
        return -1.0;
    double pct = (double)(b_us - a_us) * 1000.0 * 100.0 / (double)interval_ns;
    return pct > 100.0 ? 100.0 : pct;
}

void ostel_platform_metrics_compute(const struct ostel_platform_sample *prev,
                                    const struct ostel_platform_sample *cur,
                                    struct ostel_platform_pressure *st,
                                    struct ostel_platform_metrics *out)
{
    const struct ostel_platform_sample *p = prev;
    out->valid = 0;
    for (int k = 0; k < OSTEL_PLATFORM_METRIC_COUNT; k++)
        out->v[k] = 0.0;
    int64_t dt_ns = p ? cur->monotonic_ns - p->monotonic_ns : 0;
    if (p && dt_ns <= 0)
        p = NULL; /* same instant or clock trouble: no rates */

    set(out, OSTEL_PLATFORM_METRIC_TS, (double)cur->realtime_ns / 1e9);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_RSS))
        set(out, OSTEL_PLATFORM_METRIC_RSS_MIB, (double)cur->rss_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_RSS_ANON))
        set(out, OSTEL_PLATFORM_METRIC_RSS_ANON_MIB, (double)cur->rss_anon_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_RSS_FILE))
        set(out, OSTEL_PLATFORM_METRIC_RSS_FILE_MIB, (double)cur->rss_file_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_SWAP))
        set(out, OSTEL_PLATFORM_METRIC_SWAP_MIB, (double)cur->swap_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_THREADS))
        set(out, OSTEL_PLATFORM_METRIC_THREADS, (double)cur->threads);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_MEM_AVAIL))
        set(out, OSTEL_PLATFORM_METRIC_SYS_AVAIL_MIB, (double)cur->mem_avail_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_CGROUP_USAGE))
        set(out, OSTEL_PLATFORM_METRIC_CGROUP_MEM_MIB, (double)cur->cgroup_usage_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT))
        set(out, OSTEL_PLATFORM_METRIC_FOOTPRINT_MIB, (double)cur->phys_footprint_bytes / MIB);
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT_PEAK))
        set(out, OSTEL_PLATFORM_METRIC_FOOTPRINT_PEAK_MIB,
            (double)cur->phys_footprint_peak_bytes / MIB);

    if (both(p, cur, OSTEL_PLATFORM_FIELD_CPU)) {
        uint64_t d = cur->cpu_ns >= p->cpu_ns ? cur->cpu_ns - p->cpu_ns : 0;
        set(out, OSTEL_PLATFORM_METRIC_CPU_PCT, (double)d * 100.0 / (double)dt_ns);
    }
    tree_delta(out, OSTEL_PLATFORM_METRIC_MINFLT_DELTA, p, cur, OSTEL_PLATFORM_FIELD_MINFLT,
               p ? p->minflt : 0, cur->minflt);
    tree_delta(out, OSTEL_PLATFORM_METRIC_MAJFLT_DELTA, p, cur, OSTEL_PLATFORM_FIELD_MAJFLT,
               p ? p->majflt : 0, cur->majflt);
    sys_delta(out, OSTEL_PLATFORM_METRIC_PAGEINS_DELTA, p, cur, OSTEL_PLATFORM_FIELD_PAGEINS,
              p ? p->pageins : 0, cur->pageins);
    sys_delta(out, OSTEL_PLATFORM_METRIC_PAGEOUTS_DELTA, p, cur, OSTEL_PLATFORM_FIELD_PAGEOUTS,
              p ? p->pageouts : 0, cur->pageouts);
    sys_delta(out, OSTEL_PLATFORM_METRIC_SWAPIN_DELTA, p, cur, OSTEL_PLATFORM_FIELD_SWAPINS,
              p ? p->swapins : 0, cur->swapins);
    sys_delta(out, OSTEL_PLATFORM_METRIC_SWAPOUT_DELTA, p, cur, OSTEL_PLATFORM_FIELD_SWAPOUTS,
              p ? p->swapouts : 0, cur->swapouts);

    double some = -1.0, full = -1.0;
    if (both(p, cur, OSTEL_PLATFORM_FIELD_PSI_SOME_TOTAL)) {
        some = stall_share(p->psi_some_total_us, cur->psi_some_total_us, dt_ns);
        if (some >= 0)
            set(out, OSTEL_PLATFORM_METRIC_PSI_SOME_PCT, some);
    }
    if (both(p, cur, OSTEL_PLATFORM_FIELD_PSI_FULL_TOTAL)) {
        full = stall_share(p->psi_full_total_us, cur->psi_full_total_us, dt_ns);
        if (full >= 0)
            set(out, OSTEL_PLATFORM_METRIC_PSI_FULL_PCT, full);
    }

    double avail = -1.0;
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_AVAIL_LEVEL)) {
        avail = cur->avail_level_pct;
    } else if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_MEM_AVAIL) &&
               ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_MEM_TOTAL) &&
               cur->mem_total_bytes > 0) {
        avail = (double)cur->mem_avail_bytes * 100.0 / (double)cur->mem_total_bytes;
        if (avail > 100.0)
            avail = 100.0;
    }
    if (avail >= 0)
        set(out, OSTEL_PLATFORM_METRIC_AVAIL_MEM_LEVEL, avail);

    int level = 0;
    if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_PRESSURE_LEVEL)) {
        level = cur->pressure_level; /* the kernel's own (macOS), as is */
    } else if (ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_PSI_SOME_TOTAL) &&
               ostel_platform_sample_has(cur, OSTEL_PLATFORM_FIELD_PSI_FULL_TOTAL)) {
        /* PSI exists: the first sample (no interval yet) reports the state's current level. */
        level = (some >= 0 && full >= 0)
                    ? ostel_platform_pressure_update(st, some, full, -1.0, dt_ns, cur->monotonic_ns)
                    : st->level;
    } else {
        level = ostel_platform_pressure_update(st, -1.0, -1.0, avail, dt_ns, cur->monotonic_ns);
    }
    if (level == 1 || level == 2 || level == 4)
        set(out, OSTEL_PLATFORM_METRIC_VM_PRESSURE_FLAG, level);
}
