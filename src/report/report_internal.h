/*
 * report_internal: what report.c, report_notes.c and report_sweep.c share to build a report, and
 * nothing else sees.
 */
#ifndef OSTEL_REPORT_INTERNAL_H
#define OSTEL_REPORT_INTERNAL_H

#include "report/report.h"

/* Values of one metric over the group's ok runs, in start order; the caller frees (and *runs_out,
 * when not NULL, the runs they came from). */
double *ostel_report_ok_values(const struct ostel_report_set *set,
                               const struct ostel_report_group *g, int metric,
                               const struct ostel_report_run ***runs_out);
/* The median of n values (NAN when none). */
double ostel_report_median(const double *v, size_t n);

/* report_notes.c: the group's notes and its interpretation, from its statistics (group_stats). */
void ostel_report_group_notes(const struct ostel_report_set *set, struct ostel_report_group *g);

/* report_sweep.c: the I/O step, the GGUF header of each distinct model file of the runs read once
 * into r->models; then per group the prediction against measurement, the sweep over contexts and
 * the machine's RAM and MemAvailable at the runs' start. */
void ostel_report_read_models(struct ostel_report *r);
void ostel_report_group_predictions(const struct ostel_report_set *set,
                                    struct ostel_report_group *g);
void ostel_report_group_sweep(const struct ostel_report *rep, struct ostel_report_group *g);
void ostel_report_group_machine(const struct ostel_report_set *set, struct ostel_report_group *g);

#endif
