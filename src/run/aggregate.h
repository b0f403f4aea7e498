/*
 * aggregate: telemetry of a run reduced per phase (load, prompt, generate, teardown) and overall,
 * from metrics.csv rows. Pure: no I/O. The result is summary.json's "telemetry" object
 * (docs/run-directory.md).
 */
#ifndef OSTEL_AGGREGATE_H
#define OSTEL_AGGREGATE_H

#include "rundir/rundir_metrics.h"

#include <cJSON.h>

struct ostel_phase_stats {
    size_t samples;
    double start_ts, end_ts;
    /* Each value is valid only when its source column had at least one value in the phase. */
    bool has_rss, has_anon, has_file, has_cpu, has_pageins, has_pageouts, has_majflt, has_minflt;
    bool has_swapins, has_swapouts, has_pressure, has_avail, has_sys_avail, has_psi_some;
    bool has_psi_full, has_swap, has_threads, has_footprint, has_footprint_life;
    double rss_peak_mib, rss_sum, rss_mean_mib, rss_anon_peak_mib, rss_file_peak_mib;
    double cpu_sum, cpu_mean_pct, cpu_peak_pct;
    size_t rss_n, cpu_n;
    double pageins, pageouts, majflt, minflt, swapins, swapouts;
    double pressure_worst, avail_min_pct, sys_avail_min_mib, psi_some_max_pct, psi_full_max_pct;
    double swap_peak_mib, threads_peak;
    double footprint_peak_mib;          /* macOS: the largest sampled phys_footprint */
    double footprint_lifetime_peak_mib; /* macOS: the kernel's high-water mark, to the phase end */
};

/* Reduces rows whose phase is `phase` (OSTEL_PHASE_NONE = every row) into *out. */
void ostel_aggregate_phase(const struct ostel_metrics_row *rows, size_t n, enum ostel_phase phase,
                           struct ostel_phase_stats *out);
/* The stats as a JSON object, or a JSON null when the phase has no sample. Caller owns the result.
 */
cJSON *ostel_aggregate_to_json(const struct ostel_phase_stats *s);

/*
 * summary.json's "telemetry": samples, intervals (mean and p99 of the gaps between sample
 * timestamps, in ms), "overall" and "phases". interval_ms is the requested interval. Caller owns
 * the result.
 */
cJSON *ostel_aggregate_telemetry_json(const struct ostel_metrics_row *rows, size_t n,
                                      double interval_ms);

#endif
