/*
 * platform_stub: the backend for an OS ostel has no backend for. It builds anywhere with plain C11
 * + POSIX clocks: samples carry only their timestamps, every other field is invalid (empty CSV
 * cells), host facts come from uname(). A run still works; it just measures nothing but time.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct ostel_platform {
    pid_t root_pid;
};

const char *ostel_platform_backend_name(void)
{
    return "stub";
}

struct ostel_platform *ostel_platform_open(pid_t root_pid, size_t max_procs, char *err,
                                           size_t err_size)
{
    if (root_pid <= 0 || max_procs == 0 || max_procs > 65536) {
        if (err && err_size > 0)
            snprintf(err, err_size, "platform: bad root pid or process limit");
        return NULL;
    }
    struct ostel_platform *p = ostel_xcalloc(1, sizeof(*p));
    p->root_pid = root_pid;
    return p;
}

void ostel_platform_close(struct ostel_platform *p)
{
    free(p);
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int ostel_platform_sample(struct ostel_platform *p, struct ostel_platform_sample *out)
{
    (void)p;
    memset(out, 0, sizeof(*out));
    out->realtime_ns = clock_ns(CLOCK_REALTIME);
    out->monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    return OSTEL_OK;
}

bool ostel_platform_read_oom_kills(struct ostel_platform *p, uint64_t *kills, const char **scope)
{
    (void)p;
    (void)kills;
    (void)scope;
    return false;
}

void ostel_platform_describe(const struct ostel_platform *p, char *out, size_t out_size)
{
    (void)p;
    if (out_size > 0)
        snprintf(out, out_size, "stub: no telemetry on this OS (timestamps only)");
}

/* Bounded copy that always terminates (uname fields can be longer than ours). */
static void copy_str(char *dst, size_t dst_size, const char *src)
{
    size_t n = strnlen(src, dst_size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int ostel_platform_host_read(struct ostel_platform_host *out)
{
    memset(out, 0, sizeof(*out));
    struct utsname u;
    if (uname(&u) == 0) {
        copy_str(out->os, sizeof(out->os), u.sysname);
        copy_str(out->kernel, sizeof(out->kernel), u.release);
        copy_str(out->machine, sizeof(out->machine), u.machine);
        copy_str(out->hostname, sizeof(out->hostname), u.nodename);
    }
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) {
        out->page_size = (uint64_t)ps;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_PAGE_SIZE;
    }
    return OSTEL_OK;
}
