/*
 * rundir_phase_stats: summary.json's PHASE STATS table (see rundir_phase_stats.h and
 * docs/run-directory.md).
 */
#include "rundir/rundir_phase_stats.h"

#include <string.h>

static const struct ostel_phase_stat_info stats[OSTEL_PHASE_STAT_COUNT] = {
#define STAT_INFO(id, key, unit, agg, col, sql, report)                                            \
    [OSTEL_PHASE_STAT_##id] = {key, unit, OSTEL_PHASE_AGG_##agg, OSTEL_COL_##col, sql, report},
    OSTEL_PHASE_STATS(STAT_INFO)
#undef STAT_INFO
};

const struct ostel_phase_stat_info *ostel_phase_stat(enum ostel_phase_stat s)
{
    OSTEL_ASSERT((unsigned)s < OSTEL_PHASE_STAT_COUNT);
    return &stats[s];
}

int ostel_phase_stat_find(const char *key)
{
    for (int s = 0; s < OSTEL_PHASE_STAT_COUNT; s++)
        if (strcmp(key, stats[s].key) == 0)
            return s;
    return -1;
}

/* The statistic of each report index (the first OSTEL_PHASE_STAT_NREPORT slots); a statistic the
 * report does not read fills a slot of its own past them. Two statistics of one report index would
 * initialise one slot twice, which -Woverride-init (-Wextra) refuses. */
static const signed char by_report[OSTEL_PHASE_STAT_NREPORT + OSTEL_PHASE_STAT_COUNT] = {
#define BY_REPORT(id, key, unit, agg, col, sql, report)                                            \
    [(report) < 0 ? OSTEL_PHASE_STAT_NREPORT + OSTEL_PHASE_STAT_##id : (report)] =                 \
        OSTEL_PHASE_STAT_##id,
    OSTEL_PHASE_STATS(BY_REPORT)
#undef BY_REPORT
};

int ostel_phase_stat_of_report(int report)
{
    return report >= 0 && report < OSTEL_PHASE_STAT_NREPORT ? by_report[report] : -1;
}
