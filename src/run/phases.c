/*
 * phases: phase boundaries from log-line arrival times and perf durations (see phases.h).
 */
#include "run/phases.h"

#include <string.h>

static double first_event(const struct ostel_line_mark *m, size_t n, enum ostel_logparse_event e)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].event == e)
            return m[i].ts;
    return -1;
}

void ostel_phases_compute(const struct ostel_line_mark *marks, size_t n,
                          const struct ostel_log_timings *t, double child_start, double child_end,
                          struct ostel_phase_bounds *b)
{
    for (int p = 0; p < OSTEL_PHASE_COUNT; p++)
        b->start[p] = -1;
    b->end = child_end;
    b->start[OSTEL_PHASE_LOAD] = child_start;

    double prompt = first_event(marks, n, OSTEL_LOGPARSE_EVENT_PROMPT_START);
    if (prompt < 0)
        prompt = first_event(marks, n, OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED);
    double perf = first_event(marks, n, OSTEL_LOGPARSE_EVENT_PERF_START);
    if (perf >= 0 && prompt >= 0 && perf < prompt)
        perf = -1; /* a perf block of an earlier stage (never seen): do not trust it */

    double gen = -1;
    if (prompt >= 0 && t->prompt_ms.valid && t->prompt_ms.value >= 0)
        gen = prompt + t->prompt_ms.value / 1000.0;
    else if (perf >= 0 && t->gen_ms.valid && t->gen_ms.value >= 0)
        gen = perf - t->gen_ms.value / 1000.0;
    if (gen >= 0 && perf >= 0 && gen > perf)
        gen = perf;
    if (gen >= 0 && prompt >= 0 && gen < prompt)
        gen = prompt;
    if (prompt < 0 && gen >= 0 && t->prompt_ms.valid)
        prompt = gen - t->prompt_ms.value / 1000.0;
    if (prompt >= 0 && prompt < child_start)
        prompt = child_start;

    b->start[OSTEL_PHASE_PROMPT] = prompt;
    b->start[OSTEL_PHASE_GENERATE] = prompt >= 0 ? gen : -1;
    b->start[OSTEL_PHASE_TEARDOWN] = b->start[OSTEL_PHASE_GENERATE] >= 0 ? perf : -1;
}

enum ostel_phase ostel_phases_at(const struct ostel_phase_bounds *b, double ts)
{
    /* The latest phase that has started by ts; it counts only when its end is known too (the next
     * boundary, or the child's exit for teardown). Otherwise the sample cannot be placed. */
    for (int p = OSTEL_PHASE_COUNT - 1; p >= OSTEL_PHASE_LOAD; p--) {
        if (b->start[p] < 0 || ts < b->start[p])
            continue;
        if (p == OSTEL_PHASE_COUNT - 1 || b->start[p + 1] >= 0)
            return (enum ostel_phase)p;
        return OSTEL_PHASE_NONE;
    }
    return OSTEL_PHASE_NONE;
}

void ostel_phases_label_rows(const struct ostel_phase_bounds *b, struct ostel_metrics_row *rows,
                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        rows[i].phase = ostel_phases_at(b, rows[i].v[OSTEL_COL_TS]);
}
