/*
 * sampler: a thread sampling at absolute deadlines (see sampler.h).
 */
#include "run/sampler.h"

#include "platform/platform.h"
#include "rundir/rundir_metrics.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The column each platform metric fills, from the column table's `src` (rundir_metrics.h). The
 * phase column has none: its NONE lands in the slot past the platform's metrics, never read. Every
 * other column has one metric, so the counts agree; a metric named twice would be an overridden
 * initializer (-Woverride-init, -Werror). */
#define OSTEL_PLATFORM_METRIC_NONE OSTEL_PLATFORM_METRIC_COUNT
static const enum ostel_metric_col metric_to_col[OSTEL_PLATFORM_METRIC_COUNT + 1] = {
#define COL_OF_METRIC(id, name, unit, dec, sql, rule, src)                                         \
    [OSTEL_PLATFORM_METRIC_##src] = OSTEL_COL_##id,
    OSTEL_METRICS_COLUMNS(COL_OF_METRIC)
#undef COL_OF_METRIC
};
_Static_assert(OSTEL_COL_COUNT == OSTEL_PLATFORM_METRIC_COUNT + 1,
               "every metrics.csv column but phase is filled by one platform metric");

/* The rows taken, kept for the caller (ostel_sampler_finish_rows) when start was asked to, in one
 * array grown with realloc by at least ROWS_PER_BLOCK rows at a time (a quarter of what it holds
 * once larger, so the slack stays under a quarter; glibc moves a block this large with mremap,
 * without copying), handed over as it is: no second copy at the end. A failed growth frees it and
 * keeps no more rows (the run reads metrics.csv back). */
#define ROWS_PER_BLOCK 4096
struct ostel_sampler {
    struct ostel_platform *plat;
    struct ostel_platform_pressure pressure;
    struct ostel_platform_sample prev, cur;
    bool have_prev;
    int csv_fd;
    uint64_t interval_ns;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t rows;
    atomic_bool failed;
    atomic_int write_errno; /* the first failed write's errno (ENOSPC, EFBIG), 0 when none */
    uint64_t thread_cpu_ns; /* the thread's own CPU time, read by it as it ends */
    void (*tap)(void *, const struct ostel_platform_sample *); /* or NULL */
    void *tap_arg;
    char row[512];
    /* Rows wait here and are written at least every FLUSH_NS (and when full, and at the end):
     * one write() per row cost about 5 µs, a twentieth of a whole sample, at 10 ms intervals. */
    char pending[32768];
    size_t npending;
    int64_t last_flush_ns;
    /* The rows taken (keep_rows), or none: kept stays NULL and nkept 0 when keep_rows is off or
     * after a failed allocation (rows_complete false). */
    bool keep_rows, rows_complete;
    struct ostel_metrics_row *kept;
    size_t nkept, cap_kept;
    size_t keep_max; /* the test hook's limit (OSTEL_TEST_SAMPLER_KEEP_MAX), or SIZE_MAX */
};

#define FLUSH_NS 250000000LL

static void flush_rows(struct ostel_sampler *s)
{
    const char *p = s->pending;
    size_t n = s->npending;
    while (n > 0) {
        ssize_t w = write(s->csv_fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int expected = 0;
            atomic_compare_exchange_strong(&s->write_errno, &expected, w < 0 ? errno : EIO);
            atomic_store(&s->failed, true);
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    s->npending = 0;
    s->last_flush_ns = ostel_mono_ns();
}

/* Stops keeping rows: frees those kept (memory is short) and says the rows are incomplete. */
static void drop_rows(struct ostel_sampler *s)
{
    free(s->kept);
    s->kept = NULL;
    s->nkept = s->cap_kept = 0;
    s->keep_rows = false;
    s->rows_complete = false;
}

/* Appends r to the kept rows when they are kept; an allocation that fails (ENOMEM, or the test
 * hook's limit) drops them rather than aborting: the sampling and metrics.csv go on. */
static void keep_row(struct ostel_sampler *s, const struct ostel_metrics_row *r)
{
    if (!s->keep_rows)
        return;
    if (s->nkept == s->cap_kept) {
        size_t step = s->cap_kept / 4 > ROWS_PER_BLOCK ? s->cap_kept / 4 : ROWS_PER_BLOCK;
        size_t cap = s->cap_kept + step;
        if (cap > s->keep_max)
            cap = s->keep_max;
        void *p = cap > s->cap_kept && cap <= SIZE_MAX / sizeof(*s->kept)
                      ? realloc(s->kept, cap * sizeof(*s->kept))
                      : NULL;
        if (!p) {
            drop_rows(s);
            return;
        }
        s->kept = p;
        s->cap_kept = cap;
    }
    s->kept[s->nkept++] = *r;
}

static void take_one(struct ostel_sampler *s)
{
    ostel_platform_sample(s->plat, &s->cur);
    struct ostel_platform_metrics m;
    ostel_platform_metrics_compute(s->have_prev ? &s->prev : NULL, &s->cur, &s->pressure, &m);
    s->prev = s->cur;
    s->have_prev = true;
    if (s->tap)
        s->tap(s->tap_arg, &s->cur);

    struct ostel_metrics_row r;
    r.valid = 0;
    r.phase = OSTEL_PHASE_NONE;
    for (int k = 0; k < OSTEL_PLATFORM_METRIC_COUNT; k++)
        if (ostel_platform_metrics_has(&m, (enum ostel_platform_metric)k))
            ostel_metrics_set(&r, metric_to_col[k], m.v[k]);
    size_t n = ostel_metrics_format_row(&r, s->row, sizeof(s->row));
    if (n > 0) /* kept only when written: the rows handed over are the file's */
        keep_row(s, &r);
    if (s->npending + n > sizeof(s->pending))
        flush_rows(s);
    memcpy(s->pending + s->npending, s->row, n);
    s->npending += n;
    if (ostel_mono_ns() - s->last_flush_ns >= FLUSH_NS)
        flush_rows(s);
    if (n > 0)
        atomic_fetch_add(&s->rows, 1);
}

static void add_ns(struct timespec *t, uint64_t ns)
{
    t->tv_sec += (time_t)(ns / 1000000000ull);
    t->tv_nsec += (long)(ns % 1000000000ull);
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/*
 * Sleeps to an absolute CLOCK_MONOTONIC time. macOS has no clock_nanosleep: there the time left is
 * slept with nanosleep, so a preemption between reading the clock and sleeping delays that one
 * wake-up by as much (the deadlines themselves stay absolute, so nothing accumulates).
 */
static void sleep_until(const struct timespec *until)
{
#if defined(__APPLE__)
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > until->tv_sec ||
        (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec))
        return;
    struct timespec left = {until->tv_sec - now.tv_sec, until->tv_nsec - now.tv_nsec};
    if (left.tv_nsec < 0) {
        left.tv_sec--;
        left.tv_nsec += 1000000000L;
    }
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
#else
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, until, NULL) == EINTR)
        ;
#endif
}

static void *loop(void *arg)
{
    struct ostel_sampler *s = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&s->stop)) {
        take_one(s);
        add_ns(&next, s->interval_ns);
        /* A deadline already missed (the machine stalled) is skipped rather than bunched up. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        while (next.tv_sec < now.tv_sec ||
               (next.tv_sec == now.tv_sec && next.tv_nsec <= now.tv_nsec))
            add_ns(&next, s->interval_ns);
        /* Sleep to the absolute deadline in slices of at most 50 ms, so that a stop request (the
         * child exited) is seen promptly even with long intervals. */
        for (;;) {
            if (atomic_load(&s->stop))
                break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            struct timespec slice = now;
            add_ns(&slice, 50000000ull);
            bool last = next.tv_sec < slice.tv_sec ||
                        (next.tv_sec == slice.tv_sec && next.tv_nsec <= slice.tv_nsec);
            const struct timespec *until = last ? &next : &slice;
            sleep_until(until);
            if (last)
                break;
        }
    }
    s->thread_cpu_ns = ostel_thread_cpu_ns();
    return NULL;
}

struct ostel_sampler *ostel_sampler_start(pid_t pid, int csv_fd, uint64_t interval_ns)
{
    return ostel_sampler_start_keep(pid, csv_fd, interval_ns, NULL, NULL, false);
}

struct ostel_sampler *
ostel_sampler_start_tap(pid_t pid, int csv_fd, uint64_t interval_ns,
                        void (*tap)(void *, const struct ostel_platform_sample *), void *tap_arg)
{
    return ostel_sampler_start_keep(pid, csv_fd, interval_ns, tap, tap_arg, false);
}

struct ostel_sampler *ostel_sampler_start_keep(pid_t pid, int csv_fd, uint64_t interval_ns,
                                               void (*tap)(void *,
                                                           const struct ostel_platform_sample *),
                                               void *tap_arg, bool keep_rows)
{
    char err[256];
    struct ostel_sampler *s = ostel_xcalloc(1, sizeof(*s));
    s->tap = tap;
    s->tap_arg = tap_arg;
    s->plat = ostel_platform_open(pid, 4096, err, sizeof(err));
    if (!s->plat) {
        free(s);
        ostel_error("cannot watch process %d: %s", (int)pid, err);
        return NULL;
    }
    ostel_platform_pressure_init(&s->pressure);
    s->keep_rows = s->rows_complete = keep_rows;
    s->keep_max = SIZE_MAX;
    /* Tests only: the kept rows' allocation fails past this many rows, as on ENOMEM. */
    const char *km = getenv("OSTEL_TEST_SAMPLER_KEEP_MAX");
    if (km && *km) {
        char *end;
        unsigned long long v = strtoull(km, &end, 10);
        if (*end == '\0')
            s->keep_max = v < SIZE_MAX ? (size_t)v : SIZE_MAX;
    }
    s->csv_fd = csv_fd;
    s->interval_ns = interval_ns;
    s->last_flush_ns = ostel_mono_ns();
    atomic_init(&s->stop, false);
    atomic_init(&s->rows, 0);
    atomic_init(&s->failed, false);
    atomic_init(&s->write_errno, 0);
    int rc = pthread_create(&s->thread, NULL, loop, s);
    if (rc != 0) {
        ostel_platform_close(s->plat);
        free(s);
        ostel_error("cannot start the sampler thread: %s", strerror(rc));
        return NULL;
    }
    return s;
}

uint64_t ostel_sampler_stop(struct ostel_sampler *s, int64_t *oom_kills, uint64_t *thread_cpu_ns)
{
    return ostel_sampler_finish_rows(s, oom_kills, thread_cpu_ns, NULL, NULL, NULL);
}

uint64_t ostel_sampler_finish(struct ostel_sampler *s, int64_t *oom_kills, uint64_t *thread_cpu_ns,
                              int *write_errno)
{
    return ostel_sampler_finish_rows(s, oom_kills, thread_cpu_ns, write_errno, NULL, NULL);
}

/*
 * v as metrics.csv holds it: what strtod makes of "%.*f" (the writer's cell; the validator's fast
 * path gives the same value), so that statistics of the rows handed over are those of the file's
 * values. NAN where the writer leaves the cell empty. Without printing: printf rounds the exact
 * binary value of v * 10^decimals to the nearest integer n, a tie to even; that product is p + e
 * exactly (fma gives e), and only a p of exactly half an integer can be moved by e. The cell is
 * then n / 10^decimals, which both strtod and the validator round correctly from n. Printed as a
 * fallback where n would not be exact (2^53 and up).
 */
static double as_written(double v, int decimals)
{
    static const double pow10_tab[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    if (!isfinite(v))
        return NAN;
    if (decimals >= 0 && decimals < (int)OSTEL_ARRAY_LEN(pow10_tab)) {
        double sc = pow10_tab[decimals], a = fabs(v);
        double p = a * sc;
        if (p < 9007199254740992.0) {
            double e = fma(a, sc, -p); /* a * sc - p, exactly */
            double f = floor(p), frac = p - f;
            double n = frac > 0.5          ? f + 1
                       : frac < 0.5        ? f
                       : e > 0             ? f + 1
                       : e < 0             ? f
                       : fmod(f, 2.0) == 0 ? f
                                           : f + 1;
            double r = n / sc;
            return signbit(v) ? -r : r; /* "-0.00" is -0 too */
        }
    }
    char cell[400]; /* DBL_MAX printed with 3 decimals: 313 bytes */
    snprintf(cell, sizeof(cell), "%.*f", decimals, v);
    return strtod(cell, NULL);
}

void ostel_sampler_rows_as_written(struct ostel_metrics_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < OSTEL_COL_COUNT; c++) {
            if (c == OSTEL_COL_PHASE || !ostel_metrics_has(&rows[i], (enum ostel_metric_col)c))
                continue;
            double v =
                as_written(rows[i].v[c], ostel_metrics_col((enum ostel_metric_col)c)->decimals);
            if (isnan(v))
                rows[i].valid &= ~(1u << c);
            else
                rows[i].v[c] = v;
        }
}

/* Hands the kept rows over (rows->rows NULL when there are none; the array itself, trimmed to
 * its rows, never copied), or frees them when rows is NULL. */
static void take_rows(struct ostel_sampler *s, struct ostel_metrics_table *rows)
{
    if (!rows) {
        free(s->kept);
    } else {
        rows->n = s->nkept;
        rows->rows = s->kept;
        if (s->nkept && s->nkept < s->cap_kept) { /* trimming in place; kept as is if it fails */
            void *p = realloc(s->kept, s->nkept * sizeof(*s->kept));
            if (p)
                rows->rows = p;
        }
        if (!s->nkept) {
            free(s->kept);
            rows->rows = NULL;
        }
        ostel_sampler_rows_as_written(rows->rows, rows->n);
    }
    s->kept = NULL;
    s->nkept = s->cap_kept = 0;
}

uint64_t ostel_sampler_finish_rows(struct ostel_sampler *s, int64_t *oom_kills,
                                   uint64_t *thread_cpu_ns, int *write_errno,
                                   struct ostel_metrics_table *rows, bool *rows_complete)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    if (thread_cpu_ns)
        *thread_cpu_ns = s->thread_cpu_ns;
    take_one(s); /* the last sample: the child has exited but is not reaped yet */
    flush_rows(s);
    uint64_t n = atomic_load(&s->rows);
    uint64_t kills;
    const char *scope;
    *oom_kills = ostel_platform_read_oom_kills(s->plat, &kills, &scope) ? (int64_t)kills : -1;
    if (write_errno)
        *write_errno = atomic_load(&s->write_errno);
    if (rows_complete)
        *rows_complete = s->rows_complete;
    take_rows(s, rows);
    ostel_platform_close(s->plat);
    free(s);
    return n;
}

const char *ostel_sampler_oom_scope(const struct ostel_sampler *s)
{
    return ostel_platform_oom_scope(s->plat);
}

uint64_t ostel_sampler_rows(const struct ostel_sampler *s)
{
    return atomic_load(&((struct ostel_sampler *)s)->rows);
}

bool ostel_sampler_failed(const struct ostel_sampler *s)
{
    return atomic_load(&((struct ostel_sampler *)s)->failed);
}
