/*
 * phases: when did load, prompt processing, generation and teardown happen? From the arrival times
 * of llama.cpp's log lines (marks recorded by the runner) and the durations in its perf block.
 *
 *   load      child start → the generation loop's first line (EVENT_PROMPT_START), or, lacking it,
 *             the context-creation line;
 *   prompt    → prompt start + "prompt eval time" (or the perf block's arrival − "eval time");
 *   generate  → the arrival of the perf block (EVENT_PERF_START);
 *   teardown  → the child's exit.
 * A boundary that cannot be found leaves the samples after the last known boundary without a phase
 * (an empty cell): ostel does not guess. Pure: no I/O.
 */
#ifndef OSTEL_PHASES_H
#define OSTEL_PHASES_H

#include "llama/logparse.h"
#include "rundir/rundir_metrics.h"

/* One log line's arrival: when its newline was read, and what the classifier said of it. */
struct ostel_line_mark {
    double ts; /* seconds since the epoch */
    enum ostel_logparse_event event;
};

struct ostel_phase_bounds {
    /* Start of each phase in seconds since the epoch; < 0 when unknown. end = the child's exit. */
    double start[OSTEL_PHASE_COUNT];
    double end;
};

/* Computes the boundaries. marks holds only the lines with an event, in arrival order. */
void ostel_phases_compute(const struct ostel_line_mark *marks, size_t n,
                          const struct ostel_log_timings *t, double child_start, double child_end,
                          struct ostel_phase_bounds *out);
/* The phase a sample taken at ts falls into (OSTEL_PHASE_NONE when unknown). */
enum ostel_phase ostel_phases_at(const struct ostel_phase_bounds *b, double ts);
/* Sets each row's phase from its timestamp. */
void ostel_phases_label_rows(const struct ostel_phase_bounds *b, struct ostel_metrics_row *rows,
                             size_t n);

#endif
