/*
 * aggregate: telemetry of a run reduced per phase (load, prompt, generate, teardown) and overall,
 * from metrics.csv rows. Pure: no I/O. The result is summary.json's "telemetry" object
 * (docs/run-directory.md).
 */
#ifndef OSTEL_AGGREGATE_H
#define OSTEL_AGGREGATE_H

#include "rundir/rundir_phase_stats.h"

#include <cJSON.h>

/* A phase's statistics, one per row of rundir_phase_stats.h's table. */
struct ostel_phase_stats {
    size_t rows;                      /* the phase's rows; 0: the phase is null */
    double v[OSTEL_PHASE_STAT_COUNT]; /* each statistic's value, in its table's unit */
    bool has[OSTEL_PHASE_STAT_COUNT]; /* its source column had a value in the phase */
};

/* Reduces rows whose phase is `phase` (OSTEL_PHASE_NONE = every row) into *out. */
void ostel_aggregate_phase(const struct ostel_metrics_row *rows, size_t n, enum ostel_phase phase,
                           struct ostel_phase_stats *out);
/* The stats as a JSON object (the table's keys in its order; a statistic without a value null),
 * or a JSON null when the phase has no sample. Caller owns the result. */
cJSON *ostel_aggregate_to_json(const struct ostel_phase_stats *s);

/*
 * summary.json's "telemetry": samples, intervals (mean and p99 of the gaps between sample
 * timestamps, in ms), "overall" and "phases". interval_ms is the requested interval. Caller owns
 * the result.
 */
cJSON *ostel_aggregate_telemetry_json(const struct ostel_metrics_row *rows, size_t n,
                                      double interval_ms);

#endif
