/*
 * gpu_sampler: the GPU telemetry thread (see gpu_sampler.h).
 */
#include "run/gpu_sampler.h"

#include "gpu/gpu.h"
#include "platform/platform.h"
#include "run/gpu_aggregate.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_NS 250000000LL
#define STOP_WAIT_S 2.0

/* struct ostel_gpu_sampler's state: who decides whether NVML, once open, may still be used. */
enum { OPENING, OPENED, ABANDONED };

struct dev_state {
    bool has_prev;
    double energy_total_j; /* the sum of the rows' deltas (the live tap's counter) */
    uint64_t prev_mj;
    int64_t prev_ns;
    /* what happened, for summary.json */
    uint64_t samples, failed_reads, energy_resets, proc_reads, proc_matched_reads;
    uint64_t others_max; /* most processes on the device that were not the tree's */
    bool procs_trunc;
    double lost_at; /* realtime s, < 0 never */
    char first_err[96];
};

struct ostel_gpu_sampler {
    struct ostel_gpu *gpu; /* owned; set by the thread once NVML is open (see state) */
    char *csv_path;        /* owned */
    char why[256];         /* the thread's one line when it found no GPU */
    pid_t root;
    int fd; /* -1 until the thread created the file */
    uint64_t interval_ns;
    unsigned proc_every;
    pthread_t thread;
    atomic_bool stop;
    /* OPENING until the thread has NVML open (OPENED: gpu, fd and why are the thread's until
     * then) or the stopper gave up waiting for it (ABANDONED: the thread creates nothing) */
    atomic_int state;
    atomic_bool done;
    /* Set by the first of the thread (at its end) and a stopper that detached it: the second one
     * frees the sampler, so a thread left in a hung driver call frees all once it returns. */
    atomic_bool left;
    int write_errno; /* the first failed write of gpu_metrics.csv's rows, 0 if none */
    struct dev_state dev[OSTEL_GPU_MAX_DEVICES];
    struct ostel_buf out;
    ostel_gpu_tap_fn tap;
    void *tap_arg;
    uint64_t rows;
    double read_ms_sum, read_ms_max;
    uint64_t reads;
    uint64_t thread_cpu_ns;
};

static double now_real(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static pid_t parent_of(pid_t pid, void *ctx)
{
    (void)ctx;
    return ostel_platform_parent_pid(pid);
}

static void flush(struct ostel_gpu_sampler *s)
{
    size_t off = 0;
    if (s->fd < 0) {
        ostel_buf_reset(&s->out);
        return;
    }
    while (off < s->out.len && !s->write_errno) {
        ssize_t w = write(s->fd, s->out.data + off, s->out.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->write_errno = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    ostel_buf_reset(&s->out);
}

static void sample_all(struct ostel_gpu_sampler *s, uint64_t k)
{
    unsigned n = ostel_gpu_count(s->gpu);
    bool with_procs = s->proc_every <= 1 || k % s->proc_every == 0;
    struct ostel_gpu_reading r;
    for (unsigned i = 0; i < n; i++) {
        struct dev_state *d = &s->dev[i];
        if (d->lost_at >= 0)
            continue; /* a lost device is not asked again: its rows stop */
        int64_t t0 = ostel_mono_ns();
        double ts = now_real();
        bool ok = ostel_gpu_read(s->gpu, i, with_procs, &r);
        int64_t t1 = ostel_mono_ns();
        double ms = (double)(t1 - t0) / 1e6;
        s->read_ms_sum += ms;
        s->reads++;
        if (ms > s->read_ms_max)
            s->read_ms_max = ms;
        d->samples++;
        if (r.n_failed) {
            d->failed_reads++;
            if (!d->first_err[0])
                snprintf(d->first_err, sizeof(d->first_err), "%s", r.first_err);
        }
        if (!ok && r.lost) {
            d->lost_at = ts;
            if (!d->first_err[0])
                snprintf(d->first_err, sizeof(d->first_err), "%s",
                         r.first_err[0] ? r.first_err : "the device is gone");
        }
        struct ostel_gpu_row row;
        memset(&row, 0, sizeof(row));
        row.ts = ts;
        row.gpu = i;
        memcpy(row.v, r.v, sizeof(row.v));
        row.valid = r.valid;
        if (r.energy_valid) {
            if (d->has_prev) {
                const struct ostel_gpu_info *in = ostel_gpu_device_info(s->gpu, i);
                double max_w = in && in->power_limit_w > 0 ? in->power_limit_w * 2 : 5000;
                double j;
                if (ostel_gpu_energy_delta(d->prev_mj, r.energy_mj, (double)(t0 - d->prev_ns) / 1e9,
                                           max_w, &j)) {
                    row.v[OSTEL_GPU_ENERGY_J] = j;
                    row.valid |= 1u << OSTEL_GPU_ENERGY_J;
                    d->energy_total_j += j;
                } else {
                    d->energy_resets++;
                }
            }
            d->has_prev = true;
            d->prev_mj = r.energy_mj;
            d->prev_ns = t0;
        }
        if (r.procs_valid) {
            size_t matched = 0;
            double mb =
                ostel_gpu_tree_mem_mb(r.procs, r.n_procs, s->root, parent_of, NULL, &matched);
            row.v[OSTEL_GPU_PROC_MEM_MB] = mb;
            row.valid |= 1u << OSTEL_GPU_PROC_MEM_MB;
            d->proc_reads++;
            if (matched)
                d->proc_matched_reads++;
            if (r.n_procs - matched > d->others_max)
                d->others_max = r.n_procs - matched;
            if (r.procs_trunc)
                d->procs_trunc = true;
        }
        /* not after a stop: a thread left behind in a hung NVML call outlives the tap's owner */
        if (s->tap && !atomic_load(&s->stop))
            s->tap(s->tap_arg, &row, d->has_prev ? d->energy_total_j : NAN);
        char line[512];
        size_t len = ostel_gpu_metrics_format_row(&row, line, sizeof(line));
        ostel_buf_append(&s->out, line, len);
        s->rows++;
    }
}

/* Opens the backend and the file, on the GPU thread: nvmlInit and the device enumeration can hang
 * in a stuck driver, and the runner must keep draining the child's pipe meanwhile. False when there
 * is nothing to read (s->why says why). */
static bool open_backend(struct ostel_gpu_sampler *s)
{
    const char *want = getenv("OSTEL_GPU");
    /* set before the state says OPENED: a stop that sees OPENED reads it */
    s->gpu = ostel_gpu_open(want && *want ? want : "auto", s->why, sizeof(s->why));
    int expect = OPENING;
    if (!atomic_compare_exchange_strong(&s->state, &expect, OPENED)) {
        /* the stop gave up on a hung nvmlInit and the run may be finalized: nothing is created in
         * its directory */
        ostel_gpu_close(s->gpu);
        s->gpu = NULL;
        return false;
    }
    if (ostel_gpu_count(s->gpu) == 0)
        return false;
    if (atomic_load(&s->stop)) {
        /* NVML answered only once the run was ending: its stop may already have given up waiting,
         * so no file is created in a directory that may be finalized */
        snprintf(s->why, sizeof(s->why), "NVML answered only after the run had ended");
        return false;
    }
    s->fd = open(s->csv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    if (s->fd < 0) {
        snprintf(s->why, sizeof(s->why), "cannot create %s: %s", s->csv_path, strerror(errno));
        return false;
    }
    char hdr[512];
    size_t hl = ostel_gpu_metrics_format_header(hdr, sizeof(hdr));
    ostel_buf_append(&s->out, hdr, hl);
    flush(s);
    return true;
}

static void free_sampler(struct ostel_gpu_sampler *s);

/* The thread's or a detaching stopper's last step: the second of them frees the sampler. */
static void leave(struct ostel_gpu_sampler *s)
{
    if (atomic_exchange(&s->left, true))
        free_sampler(s);
}

static void *thread_main(void *arg)
{
    struct ostel_gpu_sampler *s = arg;
    bool ok = open_backend(s);
    int64_t next = ostel_mono_ns();
    int64_t last_flush = next;
    for (uint64_t k = 0; ok && !atomic_load(&s->stop); k++) {
        sample_all(s, k);
        int64_t now = ostel_mono_ns();
        if (now - last_flush >= FLUSH_NS || (int64_t)s->interval_ns >= FLUSH_NS) {
            flush(s);
            last_flush = now;
        }
        next += (int64_t)s->interval_ns;
        if (next < now) /* reads slower than the interval: skip the missed deadlines */
            next = now + (int64_t)s->interval_ns;
        /* Sleep to the deadline in slices, so a stop is seen within 20 ms. */
        while (!atomic_load(&s->stop)) {
            int64_t left = next - ostel_mono_ns();
            if (left <= 0)
                break;
            if (left > 20000000)
                left = 20000000;
            struct timespec t = {0, (long)left};
            nanosleep(&t, NULL);
        }
    }
    flush(s);
    s->thread_cpu_ns = ostel_thread_cpu_ns();
    atomic_store(&s->done, true);
    leave(s); /* s may be freed now */
    return NULL;
}

struct ostel_gpu_sampler *ostel_gpu_sampler_start(pid_t root, const char *csv_path,
                                                  uint64_t interval_ns, unsigned proc_every,
                                                  char *why, size_t why_size)
{
    return ostel_gpu_sampler_start_tap(root, csv_path, interval_ns, proc_every, why, why_size, NULL,
                                       NULL);
}

struct ostel_gpu_sampler *ostel_gpu_sampler_start_tap(pid_t root, const char *csv_path,
                                                      uint64_t interval_ns, unsigned proc_every,
                                                      char *why, size_t why_size,
                                                      ostel_gpu_tap_fn tap, void *tap_arg)
{
    if (interval_ns == 0) {
        snprintf(why, why_size, "GPU telemetry off (--gpu-interval off)");
        return NULL;
    }
    const char *want = getenv("OSTEL_GPU");
    if (want && strcmp(want, "none") == 0) {
        snprintf(why, why_size, "GPU telemetry off (OSTEL_GPU=none)");
        return NULL;
    }
    struct ostel_gpu_sampler *s = ostel_xcalloc(1, sizeof(*s));
    s->csv_path = ostel_xstrdup(csv_path);
    s->root = root;
    s->fd = -1;
    s->interval_ns = interval_ns;
    s->proc_every = proc_every ? proc_every : 1;
    s->tap = tap;
    s->tap_arg = tap_arg;
    for (unsigned i = 0; i < OSTEL_GPU_MAX_DEVICES; i++)
        s->dev[i].lost_at = -1;
    ostel_buf_init(&s->out, 0);
    atomic_init(&s->stop, false);
    atomic_init(&s->state, OPENING);
    atomic_init(&s->done, false);
    atomic_init(&s->left, false);
    if (pthread_create(&s->thread, NULL, thread_main, s) != 0) {
        snprintf(why, why_size, "cannot start the GPU sampling thread");
        ostel_buf_free(&s->out);
        free(s->csv_path);
        free(s);
        return NULL;
    }
    return s;
}

static cJSON *num_or_null(double v, bool ok)
{
    return ok && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void add_calls(cJSON *o, const struct ostel_gpu *g)
{
    const struct ostel_gpu_caps *c = ostel_gpu_capabilities(g);
    cJSON *caps = cJSON_AddObjectToObject(o, "calls");
    cJSON_AddStringToObject(caps, "init", c->init_fn ? c->init_fn : "");
    cJSON_AddStringToObject(caps, "memory", c->memory_fn ? c->memory_fn : "");
    cJSON_AddStringToObject(caps, "processes", c->procs_fn ? c->procs_fn : "");
    cJSON_AddBoolToObject(caps, "field_values", c->field_values);
    cJSON_AddBoolToObject(caps, "energy", c->energy);
    cJSON_AddBoolToObject(caps, "clock_events", c->clock_events);
}

static void free_sampler(struct ostel_gpu_sampler *s)
{
    if (s->fd >= 0)
        close(s->fd);
    ostel_buf_free(&s->out);
    ostel_gpu_close(s->gpu);
    free(s->csv_path);
    free(s);
}

cJSON *ostel_gpu_sampler_stop(struct ostel_gpu_sampler *s, int *write_errno, char *why,
                              size_t why_size)
{
    *write_errno = 0;
    atomic_store(&s->stop, true);
    double t0 = ostel_mono_s();
    while (!atomic_load(&s->done) && ostel_mono_s() - t0 < STOP_WAIT_S) {
        struct timespec t = {0, 2000000};
        nanosleep(&t, NULL);
    }
    bool joined = atomic_load(&s->done);
    int expect = OPENING;
    bool opened = joined || !atomic_compare_exchange_strong(&s->state, &expect, ABANDONED);
    if (joined && (ostel_gpu_count(s->gpu) == 0 || s->fd < 0)) { /* nothing was read */
        pthread_join(s->thread, NULL);
        snprintf(why, why_size, "%s", s->why[0] ? s->why : "no GPU telemetry");
        free_sampler(s);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    if (!opened) {
        /* Stuck in nvmlInit or the device enumeration: leave the thread; abandoned, it creates no
         * file once the call returns, and the last of it and this stop frees the sampler. */
        cJSON_AddStringToObject(o, "backend", "nvml");
        cJSON_AddStringToObject(o, "library", "");
        cJSON_AddStringToObject(o, "driver", "");
        cJSON_AddNumberToObject(o, "interval_ms", (double)s->interval_ns / 1e6);
        pthread_detach(s->thread);
        leave(s); /* s may be freed now */
        cJSON_AddBoolToObject(o, "open_timed_out", true);
        cJSON_AddBoolToObject(o, "stop_timed_out", true);
        cJSON_AddItemToObject(o, "devices", cJSON_CreateArray());
        cJSON_AddStringToObject(o, "note",
                                "NVML did not answer while starting (nvmlInit or the "
                                "device enumeration hung): no GPU row was recorded");
        return o;
    }
    /* Opened: gpu's name, library, driver and capabilities no longer change. */
    cJSON_AddStringToObject(o, "backend", ostel_gpu_backend_name(s->gpu));
    cJSON_AddStringToObject(o, "library", ostel_gpu_library(s->gpu));
    cJSON_AddStringToObject(o, "driver", ostel_gpu_driver_version(s->gpu));
    cJSON_AddNumberToObject(o, "interval_ms", (double)s->interval_ns / 1e6);
    cJSON_AddNumberToObject(o, "proc_every", s->proc_every);
    add_calls(o, s->gpu);
    cJSON_AddBoolToObject(o, "open_timed_out", false);
    cJSON_AddBoolToObject(o, "stop_timed_out", !joined);
    if (!joined) {
        /* The thread is stuck in a driver call: leave it; the last of it and this stop frees. */
        cJSON_AddItemToObject(o, "devices", cJSON_CreateArray());
        cJSON_AddStringToObject(o, "note",
                                "the GPU thread did not stop within 2 s (a driver call "
                                "hung); its last rows may be missing");
        pthread_detach(s->thread);
        leave(s); /* s may be freed now */
        return o;
    }
    pthread_join(s->thread, NULL);
    cJSON_AddNumberToObject(o, "rows", (double)s->rows);
    cJSON_AddItemToObject(
        o, "read_ms_mean",
        num_or_null(round(s->read_ms_sum / (double)s->reads * 1000) / 1000, s->reads > 0));
    cJSON_AddItemToObject(o, "read_ms_max",
                          num_or_null(round(s->read_ms_max * 1000) / 1000, s->reads > 0));
    cJSON_AddItemToObject(
        o, "thread_cpu_ms",
        num_or_null(round((double)s->thread_cpu_ns / 1e3) / 1e3, s->thread_cpu_ns > 0));
    /* the file's rows are complete only once they are on disk: fsync and close are checked too */
    if (!s->write_errno && fsync(s->fd) != 0 && errno != EINVAL)
        s->write_errno = errno;
    if (close(s->fd) != 0 && !s->write_errno)
        s->write_errno = errno;
    s->fd = -1;
    *write_errno = s->write_errno;
    cJSON_AddBoolToObject(o, "write_failed", s->write_errno != 0);
    cJSON *devs = cJSON_AddArrayToObject(o, "devices");
    for (unsigned i = 0; i < ostel_gpu_count(s->gpu); i++) {
        const struct ostel_gpu_info *in = ostel_gpu_device_info(s->gpu, i);
        const struct dev_state *d = &s->dev[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "index", i);
        cJSON_AddStringToObject(j, "name", in->name);
        cJSON_AddStringToObject(j, "uuid", in->uuid);
        cJSON_AddItemToObject(j, "mem_total_mb",
                              num_or_null(round(in->mem_total_mb), in->mem_total_mb >= 0));
        cJSON_AddItemToObject(j, "power_limit_w",
                              num_or_null(in->power_limit_w, in->power_limit_w >= 0));
        cJSON_AddNumberToObject(j, "samples", (double)d->samples);
        cJSON_AddNumberToObject(j, "failed_reads", (double)d->failed_reads);
        cJSON_AddItemToObject(j, "first_error",
                              d->first_err[0] ? cJSON_CreateString(d->first_err)
                                              : cJSON_CreateNull());
        cJSON_AddItemToObject(j, "lost_at",
                              num_or_null(round(d->lost_at * 1000) / 1000, d->lost_at >= 0));
        cJSON_AddNumberToObject(j, "energy_resets", (double)d->energy_resets);
        cJSON_AddNumberToObject(j, "proc_reads", (double)d->proc_reads);
        cJSON_AddNumberToObject(j, "proc_matched_reads", (double)d->proc_matched_reads);
        cJSON_AddNumberToObject(j, "other_procs_max", (double)d->others_max);
        cJSON_AddBoolToObject(j, "procs_truncated", d->procs_trunc);
        cJSON_AddItemToArray(devs, j);
    }
    free_sampler(s);
    return o;
}

void ostel_gpu_sampler_config_line(const cJSON *collection, char *out, size_t out_size)
{
    if (!collection || !out_size)
        return;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    const cJSON *be = cJSON_GetObjectItem(collection, "backend");
    const cJSON *dr = cJSON_GetObjectItem(collection, "driver");
    ostel_buf_printf(&b, "%s", cJSON_IsString(be) ? be->valuestring : "?");
    if (cJSON_IsString(dr) && dr->valuestring[0])
        ostel_buf_printf(&b, ", driver %s", dr->valuestring);
    const cJSON *d;
    const char *sep = ": ";
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(collection, "devices"))
    {
        const cJSON *nm = cJSON_GetObjectItem(d, "name");
        ostel_buf_printf(&b, "%sGPU %d %s", sep, cJSON_GetObjectItem(d, "index")->valueint,
                         cJSON_IsString(nm) ? nm->valuestring : "");
        if (cJSON_IsNumber(cJSON_GetObjectItem(d, "lost_at")))
            ostel_buf_puts(&b, " (lost during the run)");
        sep = ", ";
    }
    if (cJSON_IsTrue(cJSON_GetObjectItem(collection, "open_timed_out")))
        ostel_buf_puts(&b, ": NVML hung while starting, nothing recorded");
    else if (cJSON_IsTrue(cJSON_GetObjectItem(collection, "stop_timed_out")))
        ostel_buf_puts(&b, " (the GPU thread hung at the end)");
    snprintf(out, out_size, "%s", b.data ? b.data : "");
    ostel_buf_free(&b);
}
