/*
 * report_db: fills the report's run set from ostel's results database (`ostel report --db FILE`).
 *
 * The report never speaks SQL: this loader goes through the store's reading API (store.h,
 * store_query.h) and hands each stored run's texts — summary.json and config.txt as imported —
 * to the same pure loaders that read run directories (ostel_report_load_summary / _config); the
 * samples come as typed rows straight into the series. A run from the database is therefore the
 * same run in memory as its directory, time series included.
 */
#ifndef OSTEL_REPORT_DB_H
#define OSTEL_REPORT_DB_H

#include "report/report.h"

/* Which stored runs to load. Both borrowed; NULL = no restriction. */
struct ostel_report_db_select {
    const char *study; /* a study's id or name (ostel_store_find_study) */
    const char *tag;   /* runs with exactly this tag */
};

/*
 * Opens the database at path read-only and appends the selected runs to set, in import order.
 * Prints one error naming the file and returns OSTEL_ERR when path is missing, is not an SQLite
 * database or not ostel's, the study is unknown or ambiguous, no stored run matches, or a stored
 * run does not load (the set may then hold that run partly filled: free the set). sel may be
 * NULL.
 */
int ostel_report_load_db(struct ostel_report_set *set, const char *path,
                         const struct ostel_report_db_select *sel);

/* The same, keeping at most max_points samples of each run's series (LTTB-reduced); 0 reads no
 * sample at all (a format that draws none: all but html). ostel_report_load_db keeps all. Past
 * OSTEL_REPORT_HTML_LAZY_RUNS_MAX runs a finite max_points shrinks with the number of runs
 * (ostel_report_db_series_points), so that the series' memory stays bounded. */
int ostel_report_load_db_series(struct ostel_report_set *set, const char *path,
                                const struct ostel_report_db_select *sel, size_t max_points);

/* Points a run's series keeps when nruns runs are loaded with max_points each (SIZE_MAX: all):
 * max_points up to OSTEL_REPORT_HTML_LAZY_RUNS_MAX runs, where a page lists every run; past that,
 * where it lists a share of each group's runs and draws the others only in their group's overlay,
 * the same total (max_points × that many runs) shared among them, never fewer than
 * OSTEL_REPORT_DB_POINTS_MIN: 24 a run at 100,000 runs, 190 MB of series instead of 1.5 GB. */
#define OSTEL_REPORT_DB_POINTS_MIN 16
size_t ostel_report_db_series_points(size_t max_points, size_t nruns);

#endif
