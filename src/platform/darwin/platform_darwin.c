/*
 * platform_darwin: the macOS backend of platform.h, written against Apple's documented interfaces
 * (libproc.h, sys/resource.h, mach/mach.h, sys/sysctl.h). It is compiled and linked on Linux for
 * aarch64 and x86_64 macOS 12 with zig's copy of Apple's headers and libSystem.tbd
 * (scripts/macos-build.sh, the cross/macos test) but has never run on a Mac: everything that
 * computes rather than calls lives in darwin_parse.c, which is built and tested everywhere.
 * docs/platform.md and docs/macos.md list what here is checked against Apple's headers and what
 * not.
 *
 * Per process (the root and its descendants, found with proc_listchildpids() every sample):
 *   proc_pid_rusage(RUSAGE_INFO_V4, macOS 10.13+): ri_resident_size, ri_phys_footprint,
 * ri_lifetime_max_phys_footprint (the kernel's high-water mark: a spike between samples is kept),
 * ri_user_time/ri_system_time and ri_child_user_time/ri_child_system_time (reaped children) in Mach
 * absolute time units; proc_pidinfo(PROC_PIDTASKINFO): pti_faults (all faults), pti_pageins,
 * pti_threadnum. System: host_statistics64(HOST_VM_INFO64) for pageins/pageouts/swapins/swapouts
 * and the page counts available memory is derived from; sysctls kern.memorystatus_vm_pressure_level
 * (1/2/4, used as is), kern.memorystatus_level (available %), hw.memsize, vm.swapusage. MIBs are
 * resolved once in open; sampling makes only syscalls into preallocated memory.
 */
#include "platform/darwin/darwin_parse.h"
#include "platform/platform.h"

#include <errno.h>
#include <libproc.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc_info.h>
#include <sys/resource.h>
#include <sys/sysctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define OSTEL_DARWIN_KIDS_CAP 4096

struct known_proc {
    pid_t pid;
    uint64_t start_abstime; /* ri_proc_start_abstime: tells a reused pid from ours */
};

struct sysctl_mib {
    int mib[CTL_MAXNAME];
    size_t len; /* 0 when the name does not exist on this OS version */
};

struct ostel_platform {
    pid_t root_pid;
    size_t max_procs;
    struct known_proc *known; /* max_procs: the tree of the previous sample */
    size_t nknown;
    struct known_proc *next; /* max_procs: the tree being built */
    pid_t *tree;             /* max_procs */
    pid_t *kids;             /* OSTEL_DARWIN_KIDS_CAP */
    mach_timebase_info_data_t timebase;
    mach_port_t host;
    uint64_t page_size;
    struct sysctl_mib pressure_level, memorystatus_level, memsize, swapusage;
};

const char *ostel_platform_backend_name(void)
{
    return "darwin";
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void resolve_mib(struct sysctl_mib *m, const char *name)
{
    m->len = CTL_MAXNAME;
    if (sysctlnametomib(name, m->mib, &m->len) != 0)
        m->len = 0;
}

/* An integer sysctl through its resolved MIB; false when absent or of an unexpected size. */
static bool read_mib_int(const struct sysctl_mib *m, int64_t *out)
{
    unsigned char buf[8];
    size_t len = sizeof(buf);
    if (m->len == 0 || sysctl((int *)m->mib, (u_int)m->len, buf, &len, NULL, 0) != 0)
        return false;
    return ostel_darwin_sysctl_int(buf, len, out);
}

static bool read_name_int(const char *name, int64_t *out)
{
    unsigned char buf[8];
    size_t len = sizeof(buf);
    if (sysctlbyname(name, buf, &len, NULL, 0) != 0)
        return false;
    return ostel_darwin_sysctl_int(buf, len, out);
}

static void read_name_str(const char *name, char *out, size_t out_size)
{
    size_t len = out_size - 1;
    out[0] = '\0';
    if (sysctlbyname(name, out, &len, NULL, 0) != 0) {
        out[0] = '\0';
        return;
    }
    out[len < out_size ? len : out_size - 1] = '\0';
}

static int list_children(void *ctx, pid_t ppid, pid_t *buf, size_t cap)
{
    (void)ctx;
    memset(buf, 0, cap * sizeof(pid_t));
    int got = proc_listchildpids(ppid, buf, (int)(cap * sizeof(pid_t)));
    if (got < 0)
        return OSTEL_ERR;
    return (int)ostel_darwin_clean_pids(buf, got, cap);
}

static const struct known_proc *find_known(const struct ostel_platform *p, pid_t pid)
{
    for (size_t i = 0; i < p->nknown; i++)
        if (p->known[i].pid == pid)
            return &p->known[i];
    return NULL;
}

int ostel_platform_sample(struct ostel_platform *p, struct ostel_platform_sample *out)
{
    memset(out, 0, sizeof(*out));
    out->realtime_ns = clock_ns(CLOCK_REALTIME);
    out->monotonic_ns = clock_ns(CLOCK_MONOTONIC);

    /* Seeds: the root, then every process tracked last time (kept even when reparented). */
    size_t n = 0;
    p->tree[n++] = p->root_pid;
    for (size_t i = 0; i < p->nknown && n < p->max_procs; i++)
        if (p->known[i].pid != p->root_pid)
            p->tree[n++] = p->known[i].pid;
    bool truncated = false;
    ostel_darwin_walk_tree(p->tree, &n, p->max_procs, p->kids, OSTEL_DARWIN_KIDS_CAP, list_children,
                           NULL, &truncated);

    uint64_t rss = 0, footprint = 0, footprint_peak = 0, cpu_ticks = 0, minflt = 0, majflt = 0,
             threads = 0;
    bool task_ok = true;
    size_t nnext = 0;
    for (size_t i = 0; i < n; i++) {
        pid_t pid = p->tree[i];
        struct rusage_info_v4 ri;
        if (proc_pid_rusage(pid, RUSAGE_INFO_V4, (rusage_info_t *)&ri) != 0)
            continue; /* gone between the walk and now: not an error */
        const struct known_proc *k = find_known(p, pid);
        if (k && k->start_abstime != ri.ri_proc_start_abstime)
            continue; /* the pid was reused by a process that is not ours */
        p->next[nnext].pid = pid;
        p->next[nnext].start_abstime = ri.ri_proc_start_abstime;
        nnext++;
        rss += ri.ri_resident_size;
        footprint += ri.ri_phys_footprint;
        footprint_peak += ri.ri_lifetime_max_phys_footprint;
        cpu_ticks +=
            ri.ri_user_time + ri.ri_system_time + ri.ri_child_user_time + ri.ri_child_system_time;
        struct proc_taskinfo ti;
        int got = proc_pidinfo(pid, PROC_PIDTASKINFO, 0, &ti, (int)sizeof(ti));
        if (got == (int)sizeof(ti)) {
            minflt += (uint64_t)ti.pti_faults;
            majflt += (uint64_t)ti.pti_pageins;
            threads += (uint64_t)ti.pti_threadnum;
            if (pid == p->root_pid)
                out->root_alive = true; /* a zombie has no task: PROC_PIDTASKINFO fails */
        } else {
            task_ok = false;
        }
    }
    memcpy(p->known, p->next, nnext * sizeof(*p->next));
    p->nknown = nnext;

    out->tree_truncated = truncated;
    out->procs = nnext;
    out->rss_bytes = rss;
    out->phys_footprint_bytes = footprint;
    out->phys_footprint_peak_bytes = footprint_peak;
    out->cpu_ns = ostel_darwin_mach_to_ns(cpu_ticks, p->timebase.numer, p->timebase.denom);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PROCS);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_RSS);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT_PEAK);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_CPU);
    if (task_ok) {
        out->minflt = minflt;
        out->majflt = majflt;
        out->threads = threads;
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MINFLT);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MAJFLT);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_THREADS);
    }

    /* System. */
    int64_t v;
    if (read_mib_int(&p->memsize, &v) && v > 0) {
        out->mem_total_bytes = (uint64_t)v;
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MEM_TOTAL);
    }
    vm_statistics64_data_t vm;
    mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
    if (host_statistics64(p->host, HOST_VM_INFO64, (host_info64_t)&vm, &count) == KERN_SUCCESS) {
        out->pageins = vm.pageins;
        out->pageouts = vm.pageouts;
        out->swapins = vm.swapins;
        out->swapouts = vm.swapouts;
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PAGEINS);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PAGEOUTS);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAPINS);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAPOUTS);
        if (ostel_platform_sample_has(out, OSTEL_PLATFORM_FIELD_MEM_TOTAL)) {
            struct ostel_darwin_vm d = {
                .free_count = vm.free_count,
                .active_count = vm.active_count,
                .inactive_count = vm.inactive_count,
                .speculative_count = vm.speculative_count,
                .wire_count = vm.wire_count,
                .purgeable_count = vm.purgeable_count,
                .compressor_page_count = vm.compressor_page_count,
                .internal_page_count = vm.internal_page_count,
                .external_page_count = vm.external_page_count,
            };
            out->mem_avail_bytes = ostel_darwin_avail_bytes(&d, p->page_size, out->mem_total_bytes);
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MEM_AVAIL);
        }
    }
    struct xsw_usage swap;
    size_t len = sizeof(swap);
    if (p->swapusage.len > 0 &&
        sysctl(p->swapusage.mib, (u_int)p->swapusage.len, &swap, &len, NULL, 0) == 0 &&
        len == sizeof(swap)) {
        out->swap_total_bytes = swap.xsu_total;
        out->swap_free_bytes = swap.xsu_avail;
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAP_TOTAL);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAP_FREE);
    }
    if (read_mib_int(&p->pressure_level, &v) && ostel_darwin_pressure_flag(v) != 0) {
        out->pressure_level = ostel_darwin_pressure_flag(v);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PRESSURE_LEVEL);
    }
    if (read_mib_int(&p->memorystatus_level, &v) && ostel_darwin_avail_level(v) >= 0) {
        out->avail_level_pct = ostel_darwin_avail_level(v);
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_AVAIL_LEVEL);
    }
    return OSTEL_OK;
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
    p->max_procs = max_procs;
    p->known = ostel_xcalloc(max_procs, sizeof(*p->known));
    p->next = ostel_xcalloc(max_procs, sizeof(*p->next));
    p->tree = ostel_xcalloc(max_procs, sizeof(*p->tree));
    p->kids = ostel_xcalloc(OSTEL_DARWIN_KIDS_CAP, sizeof(*p->kids));
    if (mach_timebase_info(&p->timebase) != KERN_SUCCESS || p->timebase.denom == 0)
        p->timebase.numer = p->timebase.denom = 1;
    p->host = mach_host_self();
    vm_size_t ps = 0;
    p->page_size = host_page_size(p->host, &ps) == KERN_SUCCESS && ps > 0 ? (uint64_t)ps
                                                                          : (uint64_t)vm_page_size;
    resolve_mib(&p->pressure_level, "kern.memorystatus_vm_pressure_level");
    resolve_mib(&p->memorystatus_level, "kern.memorystatus_level");
    resolve_mib(&p->memsize, "hw.memsize");
    resolve_mib(&p->swapusage, "vm.swapusage");
    return p;
}

void ostel_platform_close(struct ostel_platform *p)
{
    if (!p)
        return;
    if (p->host != MACH_PORT_NULL)
        mach_port_deallocate(mach_task_self(), p->host);
    free(p->known);
    free(p->next);
    free(p->tree);
    free(p->kids);
    free(p);
}

bool ostel_platform_read_oom_kills(struct ostel_platform *p, uint64_t *kills, const char **scope)
{
    /* macOS has no OOM killer counter a user process can read; jetsam kills show as SIGKILL. */
    (void)p;
    (void)kills;
    (void)scope;
    return false;
}

void ostel_platform_describe(const struct ostel_platform *p, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    snprintf(out, out_size,
             "darwin: tree via proc_listchildpids every sample; timebase %u/%u; page %llu bytes; "
             "pressure from kern.memorystatus_vm_pressure_level%s",
             (unsigned)p->timebase.numer, (unsigned)p->timebase.denom,
             (unsigned long long)p->page_size, p->pressure_level.len ? "" : " (absent)");
}

int ostel_platform_host_read(struct ostel_platform_host *out)
{
    memset(out, 0, sizeof(*out));
    read_name_str("kern.hostname", out->hostname, sizeof(out->hostname));
    read_name_str("kern.ostype", out->os, sizeof(out->os));
    read_name_str("kern.osproductversion", out->os_version, sizeof(out->os_version));
    read_name_str("kern.osrelease", out->kernel, sizeof(out->kernel));
    read_name_str("hw.machine", out->machine, sizeof(out->machine));
    read_name_str("machdep.cpu.brand_string", out->cpu_model, sizeof(out->cpu_model));
    int64_t v;
    if (read_name_int("hw.logicalcpu", &v) && v > 0) {
        out->logical_cores = (uint32_t)v;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_CORES;
    }
    if (read_name_int("hw.memsize", &v) && v > 0) {
        out->ram_bytes = (uint64_t)v;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_RAM;
    }
    if (read_name_int("hw.pagesize", &v) && v > 0) {
        out->page_size = (uint64_t)v;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_PAGE_SIZE;
    }
    struct xsw_usage swap;
    size_t len = sizeof(swap);
    if (sysctlbyname("vm.swapusage", &swap, &len, NULL, 0) == 0 && len == sizeof(swap)) {
        out->swap_total_bytes = swap.xsu_total;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_SWAP_TOTAL;
    }
    /*
     * Apple Silicon: the GPU's wired-memory ceiling; 0 means the OS default (absent on Intel).
     * macOS 14 and later name it iogpu.wired_limit_mb (MiB); macOS 13 had debug.iogpu.wired_limit,
     * in bytes (users' reports, not Apple documentation: neither sysctl is documented).
     */
    if (read_name_int("iogpu.wired_limit_mb", &v)) {
        if (ostel_darwin_wired_limit_bytes(v, &out->gpu_wired_limit_bytes))
            out->valid |= 1u << OSTEL_PLATFORM_HOST_GPU_WIRED_LIMIT;
    } else if (read_name_int("debug.iogpu.wired_limit", &v) && v >= 0) {
        out->gpu_wired_limit_bytes = (uint64_t)v;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_GPU_WIRED_LIMIT;
    }
    return OSTEL_OK;
}
