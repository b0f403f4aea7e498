/*
 * pressure: vm_pressure_flag (1 normal, 2 warning, 4 critical) where the kernel does not give one
 * (Linux). The driver is PSI memory: the share of wall time in which some / all non-idle tasks were
 * stalled waiting for memory (reclaim, refaults, swap-in). The shares of single 100 ms intervals
 * are noisy, so they are averaged exponentially with a 1 s time constant; a level is entered as
 * soon as its threshold is crossed and left only when the average has stayed below a lower exit
 * threshold for 2 s, one level at a time (hysteresis: no flapping at a boundary). Without PSI
 * (kernel built without it, or booted psi=0) the same machine runs on MemAvailable / MemTotal.
 * Thresholds: platform.h and docs/platform.md. Pure: no I/O, no allocation.
 */
#include "platform/platform.h"

#include <math.h>

void ostel_platform_pressure_init(struct ostel_platform_pressure *st)
{
    st->level = 1;
    st->primed = false;
    st->some_pct_avg = 0.0;
    st->full_pct_avg = 0.0;
    st->calm_since_ns = -1;
}

static int target_psi(double some, double full)
{
    if (full >= OSTEL_PRESSURE_CRIT_FULL_PCT || some >= OSTEL_PRESSURE_CRIT_SOME_PCT)
        return 4;
    if (some >= OSTEL_PRESSURE_WARN_SOME_PCT)
        return 2;
    return 1;
}

/* Whether the current level's exit condition holds (the signal is clearly below its entry). */
static bool calm_psi(int level, double some, double full)
{
    if (level == 4)
        return full < OSTEL_PRESSURE_CRIT_EXIT_FULL_PCT && some < OSTEL_PRESSURE_CRIT_EXIT_SOME_PCT;
    return some < OSTEL_PRESSURE_WARN_EXIT_SOME_PCT;
}

static int target_avail(double avail)
{
    if (avail < OSTEL_PRESSURE_AVAIL_CRIT_PCT)
        return 4;
    if (avail < OSTEL_PRESSURE_AVAIL_WARN_PCT)
        return 2;
    return 1;
}

static bool calm_avail(int level, double avail)
{
    double entry = level == 4 ? OSTEL_PRESSURE_AVAIL_CRIT_PCT : OSTEL_PRESSURE_AVAIL_WARN_PCT;
    return avail >= entry + OSTEL_PRESSURE_AVAIL_EXIT_MARGIN;
}

static void step(struct ostel_platform_pressure *st, int target, bool calm, int64_t now_ns)
{
    if (target > st->level) {
        st->level = target;
        st->calm_since_ns = -1;
        return;
    }
    if (st->level == 1 || !calm) {
        st->calm_since_ns = -1;
        return;
    }
    if (st->calm_since_ns < 0) {
        st->calm_since_ns = now_ns;
        return;
    }
    if (now_ns - st->calm_since_ns >= OSTEL_PRESSURE_HOLD_NS) {
        st->level = st->level == 4 ? 2 : 1;
        st->calm_since_ns = -1; /* the next level down needs its own calm period */
    }
}

int ostel_platform_pressure_update(struct ostel_platform_pressure *st, double some_pct,
                                   double full_pct, double avail_pct, int64_t interval_ns,
                                   int64_t now_ns)
{
    if (some_pct >= 0 && full_pct >= 0) {
        if (interval_ns <= 0)
            return st->level;
        double alpha = 1.0 - exp(-(double)interval_ns / (double)OSTEL_PRESSURE_TAU_NS);
        st->some_pct_avg += alpha * (some_pct - st->some_pct_avg);
        st->full_pct_avg += alpha * (full_pct - st->full_pct_avg);
        st->primed = true;
        step(st, target_psi(st->some_pct_avg, st->full_pct_avg),
             calm_psi(st->level, st->some_pct_avg, st->full_pct_avg), now_ns);
        return st->level;
    }
    if (avail_pct >= 0) {
        step(st, target_avail(avail_pct), calm_avail(st->level, avail_pct), now_ns);
        return st->level;
    }
    return 0;
}
