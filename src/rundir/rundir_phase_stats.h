/*
 * rundir_phase_stats: summary.json's PHASE STATS as code (docs/run-directory.md): the statistics
 * the aggregator reduces each phase's metrics.csv rows to ("telemetry.overall",
 * "telemetry.phases.<phase>", a scenario's "telemetry"). One table, OSTEL_PHASE_STATS, from which
 * everything else comes: the aggregator's reduction and its writer's keys in order
 * (run/aggregate.c), the report's reader (report/report_load.c), the store's phase_summaries
 * columns and their insert (store/store.c; PostgreSQL's rows are copied from SQLite's), and the
 * docs' list (checked by test_rundir_phase_stats). The store's DDL stays written out in its
 * migrations (a migration never changes): test_store checks it against the table. Pure data:
 * nothing here reads or writes JSON.
 */
#ifndef OSTEL_RUNDIR_PHASE_STATS_H
#define OSTEL_RUNDIR_PHASE_STATS_H

#include "rundir/rundir_metrics.h"

/*
 * X(ID, key, unit, agg, col, sql, report), in summary.json's key order; a new statistic is
 * appended (older summaries lack it: readers take it as unknown).
 *   ID      the statistic is OSTEL_PHASE_STAT_<ID>
 *   key     its key in a PHASE STATS object, and its column in the store's phase_summaries
 *   unit    as docs/run-directory.md's table gives it: the source column's, "count" for COUNT
 *   agg     how the aggregator reduces the phase's rows (OSTEL_PHASE_AGG_<agg>): FIRST / LAST the
 *           first / last row's value, SPAN the last row's minus the first's, COUNT the rows;
 *           MAX, MIN, SUM, MEAN over the column's cells that have a value (none: null, never 0)
 *   col     the metrics.csv column it is reduced from (OSTEL_COL_<col>, rundir_metrics.h)
 *   sql     phase_summaries' column type, or NULL: not a column (kept in runs.summary_json)
 *   report  its place in the report's per-phase values (report.h's enum ostel_report_tel: 0 to
 *           n-1, each once; the build refuses two of one place), or -1 when the report does not
 *           read it
 */
#define OSTEL_PHASE_STATS(X)                                                                       \
    X(START_TS, "start_ts", "s", FIRST, TS, "REAL", -1)                                            \
    X(END_TS, "end_ts", "s", LAST, TS, "REAL", -1)                                                 \
    X(DURATION_S, "duration_s", "s", SPAN, TS, "REAL", 0)                                          \
    X(SAMPLES, "samples", "count", COUNT, TS, "INTEGER", -1)                                       \
    X(RSS_PEAK_MIB, "rss_peak_mib", "MiB", MAX, RSS_MB, "REAL", 1)                                 \
    X(RSS_MEAN_MIB, "rss_mean_mib", "MiB", MEAN, RSS_MB, "REAL", 2)                                \
    X(RSS_ANON_PEAK_MIB, "rss_anon_peak_mib", "MiB", MAX, RSS_ANON_MB, "REAL", 11)                 \
    X(RSS_FILE_PEAK_MIB, "rss_file_peak_mib", "MiB", MAX, RSS_FILE_MB, "REAL", 12)                 \
    X(CPU_MEAN_PCT, "cpu_mean_pct", "%", MEAN, CPU_PCT, "REAL", 3)                                 \
    X(CPU_PEAK_PCT, "cpu_peak_pct", "%", MAX, CPU_PCT, "REAL", -1)                                 \
    X(PAGEINS, "pageins", "pages", SUM, PAGEINS_DELTA, "INTEGER", 4)                               \
    X(PAGEOUTS, "pageouts", "pages", SUM, PAGEOUTS_DELTA, "INTEGER", 5)                            \
    X(MAJFLT, "majflt", "faults", SUM, MAJFLT_DELTA, "INTEGER", 6)                                 \
    X(MINFLT, "minflt", "faults", SUM, MINFLT_DELTA, "INTEGER", -1)                                \
    X(SWAPINS, "swapins", "pages", SUM, SWAPIN_DELTA, "INTEGER", -1)                               \
    X(SWAPOUTS, "swapouts", "pages", SUM, SWAPOUT_DELTA, "INTEGER", 7)                             \
    X(PRESSURE_WORST, "pressure_worst", "1, 2, 4", MAX, VM_PRESSURE_FLAG, "INTEGER", 8)            \
    X(AVAIL_MIN_PCT, "avail_min_pct", "%", MIN, AVAIL_MEM_LEVEL, "REAL", 9)                        \
    X(SYS_AVAIL_MIN_MIB, "sys_avail_min_mib", "MiB", MIN, SYS_AVAIL_MB, "REAL", -1)                \
    X(PSI_SOME_MAX_PCT, "psi_some_max_pct", "%", MAX, PSI_SOME_PCT, "REAL", -1)                    \
    X(PSI_FULL_MAX_PCT, "psi_full_max_pct", "%", MAX, PSI_FULL_PCT, "REAL", -1)                    \
    X(SWAP_PEAK_MIB, "swap_peak_mib", "MiB", MAX, SWAP_MB, "REAL", 10)                             \
    X(THREADS_PEAK, "threads_peak", "count", MAX, THREADS, "INTEGER", -1)                          \
    X(FOOTPRINT_PEAK_MIB, "footprint_peak_mib", "MiB", MAX, FOOTPRINT_MB, NULL, -1)                \
    X(FOOTPRINT_LIFETIME_PEAK_MIB, "footprint_lifetime_peak_mib", "MiB", MAX, FOOTPRINT_PEAK_MB,   \
      NULL, -1)

enum ostel_phase_stat {
#define OSTEL_PHASE_STAT_ENUM_(id, key, unit, agg, col, sql, report) OSTEL_PHASE_STAT_##id,
    OSTEL_PHASE_STATS(OSTEL_PHASE_STAT_ENUM_)
#undef OSTEL_PHASE_STAT_ENUM_
        OSTEL_PHASE_STAT_COUNT
};

/* How a statistic is reduced from a phase's rows (the table's agg). */
enum ostel_phase_agg {
    OSTEL_PHASE_AGG_FIRST,
    OSTEL_PHASE_AGG_LAST,
    OSTEL_PHASE_AGG_SPAN,
    OSTEL_PHASE_AGG_COUNT,
    OSTEL_PHASE_AGG_MAX,
    OSTEL_PHASE_AGG_MIN,
    OSTEL_PHASE_AGG_SUM,
    OSTEL_PHASE_AGG_MEAN,
};

/* One row of the table, for code that walks the statistics rather than naming one. */
struct ostel_phase_stat_info {
    const char *key;
    const char *unit;
    enum ostel_phase_agg agg;
    enum ostel_metric_col col;
    const char *sql; /* NULL: not a column of phase_summaries */
    int report;      /* the report's index (enum ostel_report_tel), or -1 */
};

/* The statistic's row of the table (s < OSTEL_PHASE_STAT_COUNT). Static. */
const struct ostel_phase_stat_info *ostel_phase_stat(enum ostel_phase_stat s);
/* The statistic of that key, or -1 when the table has none. */
int ostel_phase_stat_find(const char *key);
/* The statistic whose report index is `report`, or -1 when none is. */
int ostel_phase_stat_of_report(int report);

/* The statistics the report reads: as many as the table's report indices. */
#define OSTEL_PHASE_STAT_REPORT_(id, key, unit, agg, col, sql, report) +((report) >= 0)
enum { OSTEL_PHASE_STAT_NREPORT = 0 OSTEL_PHASE_STATS(OSTEL_PHASE_STAT_REPORT_) };
#undef OSTEL_PHASE_STAT_REPORT_

#endif
