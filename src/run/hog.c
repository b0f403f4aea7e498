/*
 * hog: memory and CPU load for studies under pressure (see hog.h and docs/hog.md).
 *
 * Threads: the caller's thread fills and then maintains the memory; N CPU threads spin; one thread
 * waits for SIGTERM/SIGINT/SIGHUP with sigwait() (the signals are blocked everywhere else), so no
 * signal handler and no global flag are needed: everything shares one struct hog on the stack.
 * Machine facts (MemTotal, MemAvailable, our RSS) come from platform.h, which every OS backend
 * implements; the one Linux-only knob (/proc/self/oom_score_adj) is written by a helper that fails
 * soft where it does not exist.
 */
#include "run/hog.h"
#include "platform/platform.h"
#include "util/fileio.h"
#include "util/opt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- pure parsers ---------------------------------------------------------------------------- */

static bool ends_with(const char *s, size_t n, const char *suffix, size_t *stem)
{
    size_t k = strlen(suffix);
    if (n < k || memcmp(s + n - k, suffix, k) != 0)
        return false;
    *stem = n - k;
    return true;
}

static int parse_mem(const char *v, size_t n, struct ostel_hog_spec *out, char *err,
                     size_t err_size)
{
    char num[40];
    size_t stem;
    enum ostel_hog_mem_kind kind = OSTEL_HOG_MEM_BYTES;
    if (n > 6 && strncmp(v, "avail-", 6) == 0) {
        /* mem:avail-SIZE: everything available when the hog starts but SIZE */
        if (n - 6 >= sizeof(num) || (memcpy(num, v + 6, n - 6), num[n - 6] = '\0',
                                     !ostel_parse_size_bytes(num, &out->mem_bytes))) {
            snprintf(err, err_size, "mem:avail- needs the size to leave (mem:avail-2G)");
            return OSTEL_ERR;
        }
        out->mem_kind = OSTEL_HOG_MEM_LEAVE_AVAIL;
        return OSTEL_OK;
    }
    if (ends_with(v, n, "%avail", &stem))
        kind = OSTEL_HOG_MEM_PCT_AVAIL;
    else if (ends_with(v, n, "%", &stem))
        kind = OSTEL_HOG_MEM_PCT_TOTAL;
    else
        stem = n;
    if (stem == 0 || stem >= sizeof(num)) {
        snprintf(err, err_size,
                 "mem: needs a size (mem:2G), a share of RAM (mem:70%%) or of "
                 "available memory (mem:70%%avail)");
        return OSTEL_ERR;
    }
    memcpy(num, v, stem);
    num[stem] = '\0';
    out->mem_kind = kind;
    if (kind == OSTEL_HOG_MEM_BYTES) {
        if (!ostel_parse_size_bytes(num, &out->mem_bytes) || out->mem_bytes == 0) {
            snprintf(err, err_size, "mem: bad size '%s' (use e.g. 512M, 2G, 1.5GiB)", num);
            return OSTEL_ERR;
        }
    } else {
        if (!ostel_parse_f64(num, &out->mem_pct) || !(out->mem_pct > 0) || out->mem_pct > 100) {
            snprintf(err, err_size, "mem: bad percentage '%s' (more than 0, at most 100)", num);
            return OSTEL_ERR;
        }
    }
    return OSTEL_OK;
}

int ostel_hog_parse_spec(const char *text, struct ostel_hog_spec *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (!text || !*text) {
        snprintf(err, err_size, "empty load spec (mem:SIZE, mem:PCT%%, mem:PCT%%avail, cpu:N)");
        return OSTEL_ERR;
    }
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char tok[48];
        if (n == 0 || n >= sizeof(tok)) {
            snprintf(err, err_size, "bad load spec '%.60s'", text);
            return OSTEL_ERR;
        }
        memcpy(tok, p, n);
        tok[n] = '\0';
        if (strncmp(tok, "mem:", 4) == 0) {
            if (out->mem_kind != OSTEL_HOG_MEM_NONE) {
                snprintf(err, err_size, "mem: given twice");
                return OSTEL_ERR;
            }
            if (parse_mem(tok + 4, n - 4, out, err, err_size) != OSTEL_OK)
                return OSTEL_ERR;
            snprintf(out->mem_text, sizeof(out->mem_text), "%s", tok);
        } else if (strncmp(tok, "cpu:", 4) == 0) {
            int64_t t;
            if (out->cpu_threads) {
                snprintf(err, err_size, "cpu: given twice");
                return OSTEL_ERR;
            }
            if (!ostel_parse_i64(tok + 4, 1, OSTEL_HOG_MAX_THREADS, &t)) {
                snprintf(err, err_size, "cpu: needs a thread count from 1 to %d, not '%s'",
                         OSTEL_HOG_MAX_THREADS, tok + 4);
                return OSTEL_ERR;
            }
            out->cpu_threads = (int)t;
        } else {
            snprintf(
                err, err_size,
                "unknown load '%s' (mem:SIZE, mem:PCT%%, mem:PCT%%avail, mem:avail-SIZE, cpu:N)",
                tok);
            return OSTEL_ERR;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return OSTEL_OK;
}

static double gib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0 * 1024.0);
}

int ostel_hog_resolve_mem(const struct ostel_hog_spec *spec, const struct ostel_hog_meminfo *mi,
                          uint64_t reserve_bytes, uint64_t *bytes, bool *checked, char *err,
                          size_t err_size)
{
    *bytes = 0;
    *checked = false;
    if (spec->mem_kind == OSTEL_HOG_MEM_NONE)
        return OSTEL_OK;
    if (!mi->valid) {
        if (spec->mem_kind != OSTEL_HOG_MEM_BYTES) {
            snprintf(err, err_size,
                     "%s needs the machine's memory size, which this system does "
                     "not report; give a size (mem:2G)",
                     spec->mem_text);
            return OSTEL_ERR;
        }
        *bytes = spec->mem_bytes;
        return OSTEL_OK;
    }
    uint64_t want = spec->mem_bytes;
    if (spec->mem_kind == OSTEL_HOG_MEM_LEAVE_AVAIL) {
        if (mi->avail_bytes <= spec->mem_bytes + reserve_bytes) {
            snprintf(err, err_size,
                     "%s would leave %.1f GiB but only %.1f GiB is available (keeping %llu MiB "
                     "spare)",
                     spec->mem_text, gib(spec->mem_bytes), gib(mi->avail_bytes),
                     (unsigned long long)(reserve_bytes >> 20));
            return OSTEL_ERR;
        }
        want = mi->avail_bytes - spec->mem_bytes;
    } else if (spec->mem_kind == OSTEL_HOG_MEM_PCT_TOTAL)
        want = (uint64_t)((double)mi->total_bytes * spec->mem_pct / 100.0);
    else if (spec->mem_kind == OSTEL_HOG_MEM_PCT_AVAIL)
        want = (uint64_t)((double)mi->avail_bytes * spec->mem_pct / 100.0);
    uint64_t usable = mi->avail_bytes > reserve_bytes ? mi->avail_bytes - reserve_bytes : 0;
    if (want > usable) {
        snprintf(err, err_size,
                 "%s asks %.1f GiB but only %.1f GiB is available (keeping %llu MiB spare)",
                 spec->mem_text, gib(want), gib(usable), (unsigned long long)(reserve_bytes >> 20));
        return OSTEL_ERR;
    }
    if (want == 0) {
        snprintf(err, err_size, "%s comes to 0 bytes", spec->mem_text);
        return OSTEL_ERR;
    }
    *bytes = want;
    *checked = true;
    return OSTEL_OK;
}

/* ---- the machine ----------------------------------------------------------------------------- */

/* One platform sample of this process (portable: platform.h); false when none could be taken. */
static bool sample_self(struct ostel_platform_sample *out)
{
    char err[160];
    struct ostel_platform *p = ostel_platform_open(getpid(), 4, err, sizeof(err));
    if (!p)
        return false;
    ostel_platform_sample(p, out);
    ostel_platform_close(p);
    return true;
}

void ostel_hog_read_meminfo(struct ostel_hog_meminfo *out)
{
    struct ostel_platform_sample smp;
    memset(out, 0, sizeof(*out));
    if (!sample_self(&smp) || !ostel_platform_sample_has(&smp, OSTEL_PLATFORM_FIELD_MEM_TOTAL) ||
        !ostel_platform_sample_has(&smp, OSTEL_PLATFORM_FIELD_MEM_AVAIL))
        return;
    out->total_bytes = smp.mem_total_bytes;
    out->avail_bytes = smp.mem_avail_bytes;
    out->valid = true;
}

static bool self_rss(uint64_t *bytes)
{
    struct ostel_platform_sample smp;
    if (!sample_self(&smp) || !ostel_platform_sample_has(&smp, OSTEL_PLATFORM_FIELD_RSS))
        return false;
    *bytes = smp.rss_bytes;
    return true;
}

/* Asks the kernel to pick this process first when it must kill one; false where unsupported. */
static bool raise_oom_score(void)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, "1000", 4) == 4;
    close(fd);
    return ok;
}

/* ---- the load -------------------------------------------------------------------------------- */

struct hog {
    atomic_bool stop;
    atomic_int signal; /* the signal that stopped us, 0 = none */
    sigset_t sigs;
    atomic_uint_fast64_t spins; /* CPU threads' loop count, so the work cannot be optimized away */
};

static void *signal_main(void *arg)
{
    struct hog *h = arg;
    int sig = 0;
    if (sigwait(&h->sigs, &sig) == 0 && !atomic_load(&h->stop))
        atomic_store(&h->signal, sig);
    atomic_store(&h->stop, true);
    return NULL;
}

static void *cpu_main(void *arg)
{
    struct hog *h = arg;
    uint64_t x = 88172645463325252ull, n = 0;
    while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
        for (int i = 0; i < 4096; i++) { /* xorshift: pure ALU work */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        n++;
    }
    atomic_fetch_add(&h->spins, n + (x & 1));
    return NULL;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Writes one byte in each of pages [from, from+count) (wrapping); the value changes every cycle so
 * each write really dirties the page. */
static void touch_pages(volatile unsigned char *mem, size_t page, uint64_t npages, uint64_t from,
                        uint64_t count, uint64_t cycle)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t p = (from + i) % npages;
        mem[p * page] = (unsigned char)(((p + cycle) & 0x7f) | 1);
    }
}

/* The memory the hog holds: npages pages of page bytes, mapped at mem (map_len bytes). */
struct hog_mem {
    size_t page;
    uint64_t npages;
    uint64_t bytes; /* the size asked for; npages * page once mapped */
    unsigned char *mem;
    size_t map_len;
};

/* Maps m's pages (huge pages hinted); prints why not (OSTEL_ERR). */
static int map_memory(const struct ostel_hog_spec *spec, struct hog_mem *m)
{
    if (!ostel_mul_u64(m->npages, m->page, &m->bytes) || m->bytes > SIZE_MAX)
        return ostel_error("hog: %s is too large for this system", spec->mem_text);
    m->map_len = (size_t)m->bytes;
    void *p = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        int rc = ostel_error("hog: cannot map %s: %s", spec->mem_text, strerror(errno));
        m->map_len = 0;
        return rc;
    }
    m->mem = p;
    ostel_platform_hint_huge_pages(m->mem, m->map_len);
    return OSTEL_OK;
}

/* Starts n CPU threads into *cpu (allocated, the caller's to free), counting them in *started;
 * prints which could not start (OSTEL_ERR). */
static int start_cpu_threads(struct hog *h, int n, pthread_t **cpu, int *started)
{
    *cpu = ostel_xcalloc((size_t)n, sizeof(**cpu));
    for (; *started < n; (*started)++) {
        if (pthread_create(&(*cpu)[*started], NULL, cpu_main, h) != 0)
            return ostel_error("hog: cannot start CPU thread %d", *started + 1);
    }
    return OSTEL_OK;
}

/* Fill: every page written once, checking for a stop every 16 MiB. Returns false when a signal or
 * the deadline stopped it first. */
static bool fill_memory(struct hog *h, const struct hog_mem *m, double deadline)
{
    uint64_t chunk = ((uint64_t)16 << 20) / m->page;
    for (uint64_t p = 0; p < m->npages && !atomic_load(&h->stop); p += chunk) {
        touch_pages(m->mem, m->page, m->npages, p, m->npages - p < chunk ? m->npages - p : chunk,
                    0);
        if (deadline && ostel_mono_s() >= deadline)
            atomic_store(&h->stop, true);
    }
    return !atomic_load(&h->stop);
}

/*
 * The ready line on out (the RSS as measured, or ~ the memory asked for where it cannot be read)
 * and, when asked for, the ready file (*wrote_ready: it was written, so it is removed at the end).
 * Returns OSTEL_ERR when the ready file could not be written.
 */
static int announce_ready(const struct ostel_hog_spec *spec, const struct ostel_hog_params *params,
                          const struct hog_mem *m, bool oom, uint64_t rate, double t0, FILE *out,
                          bool *wrote_ready)
{
    uint64_t rss = 0;
    bool have_rss = self_rss(&rss);
    fprintf(out, "hog: ready rss=%s%llu MiB mem=%llu MiB cpu=%d pid=%ld oom_score_adj=%s",
            have_rss ? "" : "~", (unsigned long long)((have_rss ? rss : m->bytes) >> 20),
            (unsigned long long)(m->bytes >> 20), spec->cpu_threads, (long)getpid(),
            oom ? "1000" : "unchanged");
    if (m->npages)
        fprintf(out, " rewrite=%llu pages/s (every page each %.1f s)", (unsigned long long)rate,
                rate ? (double)m->npages / (double)rate : 0.0);
    fprintf(out, " fill=%.2f s\n", ostel_mono_s() - t0);
    fflush(out);
    if (params->ready_file) {
        char *txt =
            ostel_xasprintf("pid=%ld\nrss_mib=%llu\nmem_mib=%llu\ncpu_threads=%d\n", (long)getpid(),
                            (unsigned long long)((have_rss ? rss : m->bytes) >> 20),
                            (unsigned long long)(m->bytes >> 20), spec->cpu_threads);
        int w = ostel_file_write_atomic(params->ready_file, txt, strlen(txt));
        free(txt);
        *wrote_ready = w == OSTEL_OK;
        if (w != OSTEL_OK)
            return OSTEL_ERR;
    }
    return OSTEL_OK;
}

/* Maintain: re-write pages at `rate`, in 100 ms ticks, never more than one cycle per tick, until a
 * stop or the deadline. Returns the pages re-written. */
static uint64_t maintain_memory(struct hog *h, const struct hog_mem *m, uint64_t rate,
                                double deadline)
{
    double tm = ostel_mono_s();
    uint64_t done = 0, cursor = 0;
    while (!atomic_load(&h->stop)) {
        double t = ostel_mono_s();
        if (deadline && t >= deadline)
            break;
        if (m->npages && rate) {
            uint64_t due = (uint64_t)((t - tm) * (double)rate);
            uint64_t n = due > done ? due - done : 0;
            if (n > m->npages)
                n = m->npages;
            touch_pages(m->mem, m->page, m->npages, cursor % m->npages, n, 1 + cursor / m->npages);
            cursor += n;
            done = due;
        }
        double left = deadline ? deadline - ostel_mono_s() : 0.1;
        sleep_s(left < 0.1 ? (left > 0 ? left : 0) : 0.1);
    }
    return cursor;
}

/* A signal that arrived after the sigwait thread ended stays pending: drop it before unblocking
 * so that a clean stop does not become a death by signal. */
static void drop_pending_signals(struct hog *h)
{
    sigset_t pending;
    while (sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT) ||
            sigismember(&pending, SIGHUP))) {
        int s;
        if (sigwait(&h->sigs, &s) != 0)
            break;
    }
}

int ostel_hog_run(const struct ostel_hog_spec *spec, uint64_t mem_bytes,
                  const struct ostel_hog_params *params, FILE *out)
{
    struct hog h;
    memset(&h, 0, sizeof(h));
    atomic_init(&h.stop, false);
    atomic_init(&h.signal, 0);
    atomic_init(&h.spins, 0);
    sigemptyset(&h.sigs);
    sigaddset(&h.sigs, SIGTERM);
    sigaddset(&h.sigs, SIGINT);
    sigaddset(&h.sigs, SIGHUP);
    sigset_t old;
    if (pthread_sigmask(SIG_BLOCK, &h.sigs, &old) != 0)
        return ostel_error("hog: cannot block signals");
    pthread_t sig_thread, *cpu = NULL;
    if (pthread_create(&sig_thread, NULL, signal_main, &h) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return ostel_error("hog: cannot start a thread");
    }
    int rc = OSTEL_OK, started = 0;
    bool wrote_ready = false;
    bool oom = raise_oom_score();
    double t0 = ostel_mono_s();
    double deadline = params->duration_ns ? t0 + (double)params->duration_ns / 1e9 : 0;
    struct hog_mem m = {.page = (size_t)sysconf(_SC_PAGESIZE), .bytes = mem_bytes};
    if (m.page == 0 || m.page == (size_t)-1)
        m.page = 4096;
    m.npages = (m.bytes + m.page - 1) / m.page;

    if (m.npages && (rc = map_memory(spec, &m)) != OSTEL_OK)
        goto out;
    if (spec->cpu_threads &&
        (rc = start_cpu_threads(&h, spec->cpu_threads, &cpu, &started)) != OSTEL_OK)
        goto out;
    if (!fill_memory(&h, &m, deadline)) {
        int sig = atomic_load(&h.signal);
        fprintf(out, "hog: stopped (%s) after %.1f s before the memory was in place\n",
                sig ? "signal" : "duration", ostel_mono_s() - t0);
        fflush(out);
        goto out;
    }
    double cycle_s = params->cycle_ns ? (double)params->cycle_ns / 1e9 : OSTEL_HOG_CYCLE_S;
    uint64_t rate =
        params->rate_pages_s ? params->rate_pages_s : (uint64_t)ceil((double)m.npages / cycle_s);
    if ((rc = announce_ready(spec, params, &m, oom, rate, t0, out, &wrote_ready)) != OSTEL_OK)
        goto out;
    uint64_t cursor = maintain_memory(&h, &m, rate, deadline);
    int sig = atomic_load(&h.signal);
    fprintf(out, "hog: stopping (%s) after %.1f s, %llu page rewrites\n",
            sig == SIGTERM  ? "SIGTERM"
            : sig == SIGINT ? "SIGINT"
            : sig == SIGHUP ? "SIGHUP"
                            : "duration",
            ostel_mono_s() - t0, (unsigned long long)cursor);
    fflush(out);
out:
    atomic_store(&h.stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(cpu[i], NULL);
    free(cpu);
    pthread_kill(sig_thread, SIGTERM); /* blocked, so it only wakes the sigwait() */
    pthread_join(sig_thread, NULL);
    if (m.mem)
        munmap(m.mem, m.map_len);
    if (wrote_ready)
        unlink(params->ready_file);
    drop_pending_signals(&h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
