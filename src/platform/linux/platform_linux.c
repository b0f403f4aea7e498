/*
 * platform_linux: the Linux backend of platform.h — the I/O around procfs_parse.c.
 *
 * Everything the sampling loop needs is prepared in ostel_platform_open(): the process slots (up to
 * max_procs), one read buffer, a getdents buffer, and descriptors of /proc, /proc/meminfo,
 * /proc/vmstat, /proc/pressure/memory, /proc/loadavg and the OOM counter, all kept open and read
 * again with pread(). Each process of the tree keeps its /proc/<pid>/stat, statm and status (and
 * its main thread's children file) open; a descriptor refers to the process, not to its number, so
 * a reaped process reads ESRCH and a reused pid is never mistaken for ours.
 * ostel_platform_sample() therefore only opens files of processes it has not seen before, and never
 * allocates (test_platform checks this with a malloc hook) and never prints.
 *
 * What one sample costs is mostly the kernel formatting text (docs/platform.md has the numbers), so
 * a sample reads as little as gives the same values: one read per file where the kernel's seq_file
 * rules prove it is the whole file, statm instead of status while no swap is in use, vmstat only up
 * to its last line in use, and the children files only when /proc/loadavg says a task was created.
 *
 * Tree discovery: where the kernel has /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN),
 * a discovery pass walks it from every known process. Where it does not, every OSTEL_LINUX_SCAN_NS
 * a pass over /proc reads each unknown process's stat and adopts those whose parent is already
 * ours. Known processes stay in the tree until they exit, even when reparented.
 */
#include "platform/linux/cgroup_parse.h"
#include "platform/linux/procfs_parse.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define OSTEL_LINUX_SCAN_NS 500000000LL       /* /proc rescan period without children files */
#define OSTEL_LINUX_REDISCOVER_NS 500000000LL /* longest time between two discovery passes */
#define OSTEL_LINUX_BUF_SIZE (64 * 1024)      /* one read of any /proc file we parse */
#define OSTEL_LINUX_DENTS_SIZE (32 * 1024)    /* getdents64 batch */
#define OSTEL_LINUX_KIDS_CAP 4096             /* children of one thread, per read */
#define OSTEL_LINUX_SEQ_MIN 4096              /* smallest seq_file buffer: PAGE_SIZE >= 4 KiB */
#define OSTEL_LINUX_PID_RECORD_MAX 16         /* one "<pid> " record of a children file */
#define OSTEL_LINUX_VMSTAT_SLACK 128 /* bytes asked of vmstat beyond its last line we use */

/* The vmstat counters a sample uses (oom_kill is read at the end of a run only). */
#define OSTEL_LINUX_VMSTAT_SAMPLED                                                                 \
    ((1u << OSTEL_PROCFS_VMSTAT_PGPGIN) | (1u << OSTEL_PROCFS_VMSTAT_PGPGOUT) |                    \
     (1u << OSTEL_PROCFS_VMSTAT_PSWPIN) | (1u << OSTEL_PROCFS_VMSTAT_PSWPOUT) |                    \
     (1u << OSTEL_PROCFS_VMSTAT_PGMAJFAULT) | (1u << OSTEL_PROCFS_VMSTAT_REFAULT_FILE))

struct proc_slot {
    pid_t pid;
    int stat_fd;
    int status_fd;
    int statm_fd;
    int task_fd; /* /proc/<pid>/task, children mode only */
    int kids_fd; /* /proc/<pid>/task/<pid>/children (the main thread's), children mode only */
    struct ostel_procfs_stat st;
};

struct ostel_platform {
    pid_t root_pid;
    size_t max_procs;
    struct proc_slot *slots; /* max_procs entries, nslots in use */
    size_t nslots;
    bool truncated;
    int proc_fd;
    int meminfo_fd, vmstat_fd, psi_fd;
    bool children_mode;
    bool scan_forced;      /* OSTEL_PLATFORM_SCAN=1 */
    bool status_forced;    /* OSTEL_PLATFORM_STATUS=1: status every sample even without swap */
    uint32_t vmstat_want;  /* OSTEL_LINUX_VMSTAT_SAMPLED bits this kernel's vmstat has */
    size_t vmstat_request; /* bytes one vmstat read asks for: enough for every wanted line */
    bool scanned;
    int64_t last_scan_ns;
    int loadavg_fd;
    bool settled; /* the last discovery pass found nothing new and was not truncated */
    struct ostel_procfs_loadavg settled_at; /* loadavg's task fields read before that pass */
    int64_t settled_ns;                     /* when that pass ran, monotonic */
    uint64_t ns_per_tick;
    uint64_t page_size;
    char *buf;
    char *dents;
    pid_t *kids;
    int oom_fd;
    int cg_usage_fd; /* the root's memory cgroup's memory.current / memory.usage_in_bytes, or -1 */
    const char *oom_key;
    const char *oom_scope;
    uint64_t oom_base;
    bool oom_ok;
    char oom_path[512];
};

const char *ostel_platform_backend_name(void)
{
    return "linux";
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Reads on from offset got to EOF or size - 1 bytes; NUL-terminates; the length or OSTEL_ERR. */
static ssize_t pread_rest(int fd, char *buf, size_t size, size_t got)
{
    while (got < size - 1) {
        ssize_t n = pread(fd, buf + got, size - 1 - got, (off_t)got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return OSTEL_ERR;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Reads a whole (small) file from offset 0 into buf; returns its length or OSTEL_ERR. */
static ssize_t pread_all(int fd, char *buf, size_t size)
{
    if (fd < 0 || size == 0)
        return OSTEL_ERR;
    return pread_rest(fd, buf, size, 0);
}

/* One pread of at most want bytes at offset 0, EINTR retried; the length or OSTEL_ERR. */
static ssize_t pread_first(int fd, char *buf, size_t want)
{
    ssize_t n;
    if (fd < 0)
        return OSTEL_ERR;
    do {
        n = pread(fd, buf, want, 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

/*
 * Reads a procfs file made with single_open() (/proc/<pid>/stat, status, statm, /proc/meminfo,
 * /proc/pressure/memory). The kernel's seq_read_iter() formats the file's one record whole into its
 * own buffer and copies out as much as the caller asked for, so a read shorter than asked is the
 * whole file: the read that would return 0 to confirm EOF is skipped. NUL-terminates; length or
 * OSTEL_ERR.
 */
static ssize_t read_single(int fd, char *buf, size_t size)
{
    ssize_t n = pread_first(fd, buf, size - 1);
    if (n < 0)
        return OSTEL_ERR;
    if ((size_t)n < size - 1) {
        buf[n] = '\0';
        return n;
    }
    return pread_rest(fd, buf, size, (size_t)n);
}

/*
 * Reads a procfs seq_file of short records (a children file: "<pid> " each). seq_read_iter() stops
 * filling a read early only at EOF, at the caller's size, or when the next record would overflow
 * its buffer (a page, >= 4 KiB): a read shorter than asked that leaves room for one more record in
 * 4 KiB therefore ended at EOF. NUL-terminates; the length or OSTEL_ERR.
 */
static ssize_t read_records(int fd, char *buf, size_t size, size_t record_max)
{
    ssize_t n = pread_first(fd, buf, size - 1);
    if (n < 0)
        return OSTEL_ERR;
    if ((size_t)n < size - 1 && (size_t)n + record_max < OSTEL_LINUX_SEQ_MIN) {
        buf[n] = '\0';
        return n;
    }
    return pread_rest(fd, buf, size, (size_t)n);
}

static int open_at(int dirfd, const char *path)
{
    int fd;
    do {
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

static struct proc_slot *find_slot(struct ostel_platform *p, pid_t pid)
{
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].pid == pid)
            return &p->slots[i];
    return NULL;
}

static void close_slot(struct ostel_platform *p, size_t i)
{
    struct proc_slot *s = &p->slots[i];
    close_fd(&s->stat_fd);
    close_fd(&s->status_fd);
    close_fd(&s->statm_fd);
    close_fd(&s->task_fd);
    close_fd(&s->kids_fd);
    p->slots[i] = p->slots[p->nslots - 1];
    p->nslots--;
}

/* Reads and parses the slot's stat; false when the process is gone (or the file is garbage). */
static bool read_stat(struct ostel_platform *p, int fd, struct ostel_procfs_stat *st)
{
    ssize_t n = read_single(fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n <= 0)
        return false;
    return ostel_procfs_parse_stat(p->buf, (size_t)n, st, NULL, 0) == OSTEL_OK;
}

/*
 * Adopts pid into the tree. stat_fd, when >= 0, is its already opened (and parsed, into *st) stat
 * file, which the slot takes over (or closes). A vanished process is silently skipped.
 */
static void add_slot(struct ostel_platform *p, pid_t pid, int stat_fd,
                     const struct ostel_procfs_stat *st)
{
    char path[64];
    if (find_slot(p, pid)) {
        close_fd(&stat_fd);
        return;
    }
    if (p->nslots >= p->max_procs) {
        p->truncated = true;
        close_fd(&stat_fd);
        return;
    }
    struct proc_slot *s = &p->slots[p->nslots];
    s->pid = pid;
    s->status_fd = s->statm_fd = s->task_fd = s->kids_fd = -1;
    if (stat_fd >= 0) {
        s->stat_fd = stat_fd;
        s->st = *st;
    } else {
        snprintf(path, sizeof(path), "%d/stat", (int)pid);
        s->stat_fd = open_at(p->proc_fd, path);
        if (s->stat_fd < 0 || !read_stat(p, s->stat_fd, &s->st)) {
            if (s->stat_fd < 0 && (errno == EMFILE || errno == ENFILE))
                p->truncated = true; /* out of descriptors: like a full table */
            close_fd(&s->stat_fd);
            return;
        }
    }
    /* Both memory files now, while the stat descriptor pins the process: which one a sample reads
     * depends on the system's swap use (read_memory), and opening one later by number could meet a
     * reused pid. */
    snprintf(path, sizeof(path), "%d/status", (int)pid);
    s->status_fd = open_at(p->proc_fd, path);
    snprintf(path, sizeof(path), "%d/statm", (int)pid);
    s->statm_fd = open_at(p->proc_fd, path);
    if (p->children_mode) {
        snprintf(path, sizeof(path), "%d/task", (int)pid);
        s->task_fd = openat(p->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%d/children", (int)pid);
        if (s->task_fd >= 0)
            s->kids_fd = open_at(s->task_fd, path);
    }
    p->nslots++;
}

/* Adopts the children listed in the children file fd. */
static void add_children_from(struct ostel_platform *p, int fd)
{
    ssize_t n = read_records(fd, p->buf, OSTEL_LINUX_BUF_SIZE, OSTEL_LINUX_PID_RECORD_MAX);
    if (n <= 0)
        return;
    size_t count = 0;
    bool more = false;
    ostel_procfs_parse_pids(p->buf, (size_t)n, p->kids, OSTEL_LINUX_KIDS_CAP, &count, &more, NULL,
                            0);
    if (more)
        p->truncated = true;
    for (size_t k = 0; k < count; k++)
        add_slot(p, p->kids[k], -1, NULL);
}

/* Adopts the children listed in <task_fd>/<tid>/children; the main thread's file stays open. */
static void add_children_of_thread(struct ostel_platform *p, const struct proc_slot *s, long tid)
{
    if (tid == (long)s->pid && s->kids_fd >= 0) {
        add_children_from(p, s->kids_fd);
        return;
    }
    char path[64];
    snprintf(path, sizeof(path), "%ld/children", tid);
    int fd = open_at(s->task_fd, path);
    if (fd < 0)
        return;
    add_children_from(p, fd);
    close(fd);
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/*
 * Calls fn for every numeric entry of the directory fd (rewound first), through getdents64 into the
 * preallocated buffer: opendir() would allocate.
 */
static void for_each_pid_entry(struct ostel_platform *p, int dirfd,
                               void (*fn)(struct ostel_platform *, pid_t, void *), void *ctx)
{
    if (dirfd < 0 || lseek(dirfd, 0, SEEK_SET) < 0)
        return;
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, p->dents, OSTEL_LINUX_DENTS_SIZE);
        if (n <= 0)
            return;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(void *)(p->dents + off);
            if (d->d_reclen == 0)
                return;
            off += d->d_reclen;
            pid_t pid;
            if (ostel_procfs_parse_pid_name(d->d_name, &pid))
                fn(p, pid, ctx);
        }
    }
}

static void thread_children_cb(struct ostel_platform *p, pid_t tid, void *ctx)
{
    add_children_of_thread(p, ctx, (long)tid); /* ctx: the slot (slots never move while adding) */
}

static void discover_children(struct ostel_platform *p)
{
    /* nslots grows while we walk: the new processes are walked too (breadth first). */
    for (size_t i = 0; i < p->nslots; i++) {
        struct proc_slot *s = &p->slots[i];
        if (s->task_fd < 0)
            continue;
        if (s->st.num_threads <= 1)
            add_children_of_thread(p, s, (long)s->pid);
        else
            for_each_pid_entry(p, s->task_fd, thread_children_cb, s);
    }
}

static void scan_cb(struct ostel_platform *p, pid_t pid, void *ctx)
{
    (void)ctx;
    if (find_slot(p, pid))
        return;
    char path[32];
    snprintf(path, sizeof(path), "%d/stat", (int)pid);
    int fd = open_at(p->proc_fd, path);
    if (fd < 0)
        return;
    struct ostel_procfs_stat st;
    if (read_stat(p, fd, &st) && st.ppid > 0 && find_slot(p, (pid_t)st.ppid))
        add_slot(p, pid, fd, &st); /* takes fd */
    else
        close(fd);
}

/* Returns whether a pass ran (one every OSTEL_LINUX_SCAN_NS at most). */
static bool discover_scan(struct ostel_platform *p, int64_t now_ns)
{
    if (p->scanned && now_ns - p->last_scan_ns < OSTEL_LINUX_SCAN_NS)
        return false;
    p->scanned = true;
    p->last_scan_ns = now_ns;
    if (p->nslots > 0)
        for_each_pid_entry(p, p->proc_fd, scan_cb, NULL);
    return true;
}

/*
 * Finds processes new to the tree. Every new process takes a new pid, so while /proc/loadavg's last
 * pid and task count are what they were before a pass that found nothing new, nothing can have
 * joined the tree and the pass is skipped: a multi-threaded process (llama.cpp) otherwise costs one
 * children file per thread per sample. fork() hands out the pid a moment before it links the child
 * to its parent, so a pass that ran in between could settle without the child: a pass runs every
 * OSTEL_LINUX_REDISCOVER_NS regardless. A lone single-threaded process has one children file, which
 * costs less to read than loadavg: it is read every sample, ungated.
 */
static void discover(struct ostel_platform *p, int64_t now_ns)
{
    if (p->nslots == 0)
        return; /* the tree is gone: nobody left to have children */
    if (p->children_mode && p->nslots == 1 && p->slots[0].st.num_threads <= 1) {
        discover_children(p);
        p->settled = false;
        return;
    }
    struct ostel_procfs_loadavg la;
    ssize_t n = read_single(p->loadavg_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    bool have = n > 0 && ostel_procfs_parse_loadavg(p->buf, (size_t)n, &la);
    if (have && p->settled && la.last_pid == p->settled_at.last_pid &&
        la.tasks == p->settled_at.tasks && now_ns - p->settled_ns < OSTEL_LINUX_REDISCOVER_NS)
        return;
    size_t before = p->nslots;
    bool ran = true;
    if (p->children_mode)
        discover_children(p);
    else
        ran = discover_scan(p, now_ns);
    if (ran) {
        p->settled = have && p->nslots == before && !p->truncated;
        if (have)
            p->settled_at = la;
        p->settled_ns = now_ns;
    }
}

struct tree_sums {
    uint64_t rss_kib, anon_kib, file_kib, swap_kib;
    bool rss_ok, anon_ok, file_ok, swap_ok;
};

/*
 * Adds one process's memory to the sums. swap_used says whether any swap is in use on the system
 * (meminfo SwapTotal > SwapFree, or unknown). Without it no page table holds a swap entry, so
 * VmSwap is 0 and statm (seven numbers) gives everything else that status (about 1.4 KB of text for
 * the kernel to format) would: resident = VmRSS, resident - shared = RssAnon, shared = RssFile +
 * RssShmem, from the same mm counters.
 */
static void read_memory(struct ostel_platform *p, struct proc_slot *s, bool swap_used,
                        struct tree_sums *t)
{
    if (s->st.state == 'Z' || s->st.state == 'X')
        return; /* no memory left: contributes 0 */
    ssize_t n;
    if (!swap_used) {
        struct ostel_procfs_statm sm;
        uint64_t rss_kib, anon_kib, file_kib;
        n = read_single(s->statm_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
        if (n > 0 && ostel_procfs_parse_statm(p->buf, (size_t)n, &sm, NULL, 0) == OSTEL_OK &&
            ostel_procfs_statm_memory(&sm, p->page_size, &rss_kib, &anon_kib, &file_kib)) {
            /* A process without mm (kernel thread, exiting) reads all zeros: contributes 0. */
            t->rss_kib += rss_kib;
            t->anon_kib += anon_kib;
            t->file_kib += file_kib;
            return;
        }
        /* Unreadable statm: status decides (it tells a vanished process from a missing file). */
    }
    struct ostel_procfs_status status = {0};
    n = read_single(s->status_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n > 0)
        ostel_procfs_parse_status(p->buf, (size_t)n, &status);
    if (n > 0 && !((status.valid >> OSTEL_PROCFS_STATUS_VM_RSS) & 1u))
        return; /* a kernel thread or a process that just exited: no mm */
    bool has_anon = (status.valid >> OSTEL_PROCFS_STATUS_RSS_ANON) & 1u;
    if ((status.valid >> OSTEL_PROCFS_STATUS_VM_RSS) & 1u)
        t->rss_kib += status.vm_rss_kib;
    else
        t->rss_ok = false;
    if ((status.valid >> OSTEL_PROCFS_STATUS_VM_SWAP) & 1u)
        t->swap_kib += status.vm_swap_kib;
    else
        t->swap_ok = false;
    if (has_anon) {
        t->anon_kib += status.rss_anon_kib;
        if ((status.valid >> OSTEL_PROCFS_STATUS_RSS_FILE) & 1u)
            t->file_kib += status.rss_file_kib + status.rss_shmem_kib;
        else
            t->file_ok = false;
        return;
    }
    /* Before Linux 4.5: statm's shared = file-backed + shmem, resident - shared = anonymous. */
    struct ostel_procfs_statm sm;
    uint64_t rss_kib, anon_kib, file_kib;
    n = read_single(s->statm_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n > 0 && ostel_procfs_parse_statm(p->buf, (size_t)n, &sm, NULL, 0) == OSTEL_OK &&
        ostel_procfs_statm_memory(&sm, p->page_size, &rss_kib, &anon_kib, &file_kib)) {
        t->anon_kib += anon_kib;
        t->file_kib += file_kib;
        if (!((status.valid >> OSTEL_PROCFS_STATUS_VM_RSS) & 1u)) {
            t->rss_kib += rss_kib;
            t->rss_ok = true;
        }
    } else {
        t->anon_ok = t->file_ok = false;
    }
}

static void sample_tree(struct ostel_platform *p, bool swap_used, struct ostel_platform_sample *out)
{
    p->truncated = false;
    /* Known processes first: a failing read means it is gone (reaped). */
    for (size_t i = p->nslots; i-- > 0;)
        if (!read_stat(p, p->slots[i].stat_fd, &p->slots[i].st))
            close_slot(p, i);
    discover(p, out->monotonic_ns);

    struct tree_sums t = {0};
    t.rss_ok = t.anon_ok = t.file_ok = t.swap_ok = true;
    uint64_t ticks = 0, minflt = 0, majflt = 0, threads = 0;
    for (size_t i = 0; i < p->nslots; i++) {
        struct proc_slot *s = &p->slots[i];
        /* Own time + reaped children's: a dead descendant's time sits in exactly one live
         * ancestor's cutime/cstime once its parent waited for it. */
        ticks += s->st.utime + s->st.stime + s->st.cutime + s->st.cstime;
        minflt += s->st.minflt + s->st.cminflt;
        majflt += s->st.majflt + s->st.cmajflt;
        threads += s->st.num_threads;
        if (s->pid == p->root_pid)
            out->root_alive = s->st.state != 'Z' && s->st.state != 'X';
        read_memory(p, s, swap_used, &t);
    }
    out->tree_truncated = p->truncated;
    out->procs = p->nslots;
    out->threads = threads;
    out->cpu_ns = ticks * p->ns_per_tick;
    out->minflt = minflt;
    out->majflt = majflt;
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PROCS);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_THREADS);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_CPU);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MINFLT);
    ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MAJFLT);
    out->rss_bytes = t.rss_kib * 1024;
    out->rss_anon_bytes = t.anon_kib * 1024;
    out->rss_file_bytes = t.file_kib * 1024;
    out->swap_bytes = t.swap_kib * 1024;
    if (t.rss_ok)
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_RSS);
    if (t.anon_ok)
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_RSS_ANON);
    if (t.file_ok)
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_RSS_FILE);
    if (t.swap_ok)
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAP);
}

/* /proc/meminfo; returns whether swap may be in use (true when unknown). */
static bool sample_meminfo(struct ostel_platform *p, struct ostel_platform_sample *out)
{
    bool swap_used = true;
    ssize_t n = read_single(p->meminfo_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n > 0) {
        struct ostel_procfs_meminfo mi;
        ostel_procfs_parse_meminfo(p->buf, (size_t)n, &mi);
        if ((mi.valid >> OSTEL_PROCFS_MEMINFO_TOTAL) & 1u) {
            out->mem_total_bytes = mi.mem_total_kib * 1024;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MEM_TOTAL);
        }
        if ((mi.valid >> OSTEL_PROCFS_MEMINFO_AVAILABLE) & 1u) {
            out->mem_avail_bytes = mi.mem_avail_kib * 1024;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_MEM_AVAIL);
        }
        if ((mi.valid >> OSTEL_PROCFS_MEMINFO_SWAP_TOTAL) & 1u) {
            out->swap_total_bytes = mi.swap_total_kib * 1024;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAP_TOTAL);
        }
        if ((mi.valid >> OSTEL_PROCFS_MEMINFO_SWAP_FREE) & 1u) {
            out->swap_free_bytes = mi.swap_free_kib * 1024;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAP_FREE);
        }
        uint32_t both =
            (1u << OSTEL_PROCFS_MEMINFO_SWAP_TOTAL) | (1u << OSTEL_PROCFS_MEMINFO_SWAP_FREE);
        if ((mi.valid & both) == both && mi.swap_free_kib >= mi.swap_total_kib)
            swap_used = false;
    }
    return swap_used || p->status_forced;
}

/* Length of buf[0..n) up to and including its last newline: a read cut inside a line drops it. */
static size_t whole_lines(const char *buf, size_t n)
{
    while (n > 0 && buf[n - 1] != '\n')
        n--;
    return n;
}

/*
 * Sets vmstat_request from a whole vmstat file in buf: the end of the shortest prefix holding every
 * sampled counter this kernel has, plus slack for numbers that grow longer (runs once, and again
 * only when a later read comes up short).
 */
static void learn_vmstat(struct ostel_platform *p, const char *buf, size_t n)
{
    struct ostel_procfs_vmstat vm;
    ostel_procfs_parse_vmstat(buf, n, &vm);
    p->vmstat_want = vm.valid & OSTEL_LINUX_VMSTAT_SAMPLED;
    p->vmstat_request = OSTEL_LINUX_BUF_SIZE - 1;
    for (size_t end = 0; end < n; end++) {
        if (buf[end] != '\n')
            continue;
        ostel_procfs_parse_vmstat(buf, end + 1, &vm);
        if ((vm.valid & p->vmstat_want) == p->vmstat_want) {
            if (end + 1 + OSTEL_LINUX_VMSTAT_SLACK < p->vmstat_request)
                p->vmstat_request = end + 1 + OSTEL_LINUX_VMSTAT_SLACK;
            break;
        }
    }
}

/*
 * /proc/vmstat is a seq_file of one line per counter, served a page at a time (4.1 KB here: two
 * reads and a third for EOF, each recomputing every counter). The counters a sample uses come
 * early, so one read of vmstat_request bytes covers them; the kernel stops formatting there. A read
 * that lacks one of them (the file changed shape) falls back to reading it whole and re-learning.
 */
static bool read_vmstat(struct ostel_platform *p, struct ostel_procfs_vmstat *vm)
{
    ssize_t n = pread_first(p->vmstat_fd, p->buf, p->vmstat_request);
    if (n > 0) {
        ostel_procfs_parse_vmstat(p->buf, whole_lines(p->buf, (size_t)n), vm);
        if ((vm->valid & p->vmstat_want) == p->vmstat_want)
            return true;
    }
    n = pread_all(p->vmstat_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n <= 0)
        return false;
    ostel_procfs_parse_vmstat(p->buf, (size_t)n, vm);
    learn_vmstat(p, p->buf, (size_t)n);
    return true;
}

static void sample_system(struct ostel_platform *p, struct ostel_platform_sample *out)
{
    struct ostel_procfs_vmstat vm;
    if (read_vmstat(p, &vm)) {
        /* pgpgin/pgpgout are KiB actually read from / written to block devices (page cache
         * misses incl. readahead, swap, direct I/O): converted to pages of the host's size. */
        uint64_t kib_per_page = p->page_size / 1024 ? p->page_size / 1024 : 4;
        if ((vm.valid >> OSTEL_PROCFS_VMSTAT_PGPGIN) & 1u) {
            out->pageins = vm.pgpgin_kib / kib_per_page;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PAGEINS);
        }
        if ((vm.valid >> OSTEL_PROCFS_VMSTAT_PGPGOUT) & 1u) {
            out->pageouts = vm.pgpgout_kib / kib_per_page;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PAGEOUTS);
        }
        if ((vm.valid >> OSTEL_PROCFS_VMSTAT_PSWPIN) & 1u) {
            out->swapins = vm.pswpin;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAPINS);
        }
        if ((vm.valid >> OSTEL_PROCFS_VMSTAT_PSWPOUT) & 1u) {
            out->swapouts = vm.pswpout;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SWAPOUTS);
        }
        if ((vm.valid >> OSTEL_PROCFS_VMSTAT_PGMAJFAULT) & 1u) {
            out->sys_majflt = vm.pgmajfault;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_SYS_MAJFLT);
        }
        if ((vm.valid >> OSTEL_PROCFS_VMSTAT_REFAULT_FILE) & 1u) {
            out->refault_file = vm.refault_file;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_REFAULT_FILE);
        }
    }
    ssize_t n = read_single(p->psi_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n > 0) {
        struct ostel_procfs_psi psi;
        ostel_procfs_parse_psi(p->buf, (size_t)n, &psi);
        if ((psi.valid >> OSTEL_PROCFS_PSI_SOME_TOTAL) & 1u) {
            out->psi_some_total_us = psi.some_total_us;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PSI_SOME_TOTAL);
        }
        if ((psi.valid >> OSTEL_PROCFS_PSI_FULL_TOTAL) & 1u) {
            out->psi_full_total_us = psi.full_total_us;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PSI_FULL_TOTAL);
        }
        if ((psi.valid >> OSTEL_PROCFS_PSI_SOME_AVG10) & 1u) {
            out->psi_some_avg10 = psi.some_avg10;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PSI_SOME_AVG10);
        }
        if ((psi.valid >> OSTEL_PROCFS_PSI_FULL_AVG10) & 1u) {
            out->psi_full_avg10 = psi.full_avg10;
            ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_PSI_FULL_AVG10);
        }
    }
}

/* The root's memory cgroup's usage: one pread of an fd opened at open time. */
static void sample_cgroup(struct ostel_platform *p, struct ostel_platform_sample *out)
{
    if (p->cg_usage_fd < 0)
        return;
    ssize_t n = pread_all(p->cg_usage_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n > 0 && ostel_cgroup_parse_bytes(p->buf, (size_t)n, &out->cgroup_usage_bytes))
        ostel_platform_sample_mark(out, OSTEL_PLATFORM_FIELD_CGROUP_USAGE);
}

int ostel_platform_sample(struct ostel_platform *p, struct ostel_platform_sample *out)
{
    memset(out, 0, sizeof(*out));
    out->realtime_ns = clock_ns(CLOCK_REALTIME);
    out->monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    bool swap_used = sample_meminfo(p, out); /* first: it decides status or statm */
    sample_tree(p, swap_used, out);
    sample_system(p, out);
    sample_cgroup(p, out);
    return OSTEL_OK;
}

/* Reads the OOM counter file; false when it cannot be read or parsed. */
static bool read_oom(struct ostel_platform *p, uint64_t *v)
{
    ssize_t n = pread_all(p->oom_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    return n > 0 && ostel_procfs_find_u64(p->buf, (size_t)n, p->oom_key, v);
}

/* Finds the narrowest OOM-kill counter for root_pid: its cgroup v2 memory.events, its cgroup v1
 * memory.oom_control, else the system-wide /proc/vmstat oom_kill. */
static void open_oom_counter(struct ostel_platform *p)
{
    char path[64];
    struct ostel_str v2, v1;
    snprintf(path, sizeof(path), "%d/cgroup", (int)p->root_pid);
    int fd = open_at(p->proc_fd, path);
    if (fd < 0)
        fd = open_at(p->proc_fd, "self/cgroup");
    ssize_t n = pread_all(fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    close_fd(&fd);
    if (n > 0) {
        ostel_procfs_parse_cgroup(p->buf, (size_t)n, &v2, &v1);
        struct {
            struct ostel_str path;
            const char *mount, *file, *scope;
        } cands[] = {
            {v2, "/sys/fs/cgroup", "memory.events", "cgroup v2 memory.events"},
            {v1, "/sys/fs/cgroup/memory", "memory.oom_control", "cgroup v1 memory.oom_control"},
        };
        /* a cgroup ostel made for this run alone (ostel_platform_run_cgroup_create) */
        static const char *const per_run[] = {"per-run cgroup v2 memory.events",
                                              "per-run cgroup v1 memory.oom_control"};
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(cands) && p->oom_fd < 0; k++) {
            if (!cands[k].path.p)
                continue;
            int w = snprintf(p->oom_path, sizeof(p->oom_path), "%s%.*s/%s", cands[k].mount,
                             (int)cands[k].path.n, cands[k].path.p, cands[k].file);
            if (w < 0 || (size_t)w >= sizeof(p->oom_path))
                continue;
            p->oom_fd = open_at(AT_FDCWD, p->oom_path);
            char usage[600];
            static const char *const usage_file[] = {"memory.current", "memory.usage_in_bytes"};
            w = snprintf(usage, sizeof(usage), "%s%.*s/%s", cands[k].mount, (int)cands[k].path.n,
                         cands[k].path.p, usage_file[k]);
            if (p->oom_fd >= 0 && p->cg_usage_fd < 0 && w > 0 && (size_t)w < sizeof(usage))
                p->cg_usage_fd = open_at(AT_FDCWD, usage);
            p->oom_key = "oom_kill";
            p->oom_scope = cands[k].scope;
            size_t base = cands[k].path.n;
            while (base > 0 && cands[k].path.p[base - 1] != '/')
                base--;
            if (cands[k].path.n - base > 10 &&
                memcmp(cands[k].path.p + base, "ostel-run-", 10) == 0)
                p->oom_scope = per_run[k];
            if (p->oom_fd >= 0 && !read_oom(p, &p->oom_base))
                close_fd(&p->oom_fd);
        }
    }
    if (p->oom_fd < 0) {
        snprintf(p->oom_path, sizeof(p->oom_path), "/proc/vmstat");
        p->oom_fd = open_at(AT_FDCWD, p->oom_path);
        p->oom_key = "oom_kill";
        p->oom_scope = "system /proc/vmstat";
        if (p->oom_fd >= 0 && !read_oom(p, &p->oom_base))
            close_fd(&p->oom_fd);
    }
    p->oom_ok = p->oom_fd >= 0;
}

const char *ostel_platform_oom_scope(const struct ostel_platform *p)
{
    return p->oom_ok ? p->oom_scope : "none";
}

bool ostel_platform_read_oom_kills(struct ostel_platform *p, uint64_t *kills, const char **scope)
{
    uint64_t v;
    if (!p->oom_ok || !read_oom(p, &v))
        return false;
    *kills = v >= p->oom_base ? v - p->oom_base : 0;
    if (scope)
        *scope = p->oom_scope;
    return true;
}

static void set_err(char *err, size_t err_size, const char *what, const char *why)
{
    if (err && err_size > 0)
        snprintf(err, err_size, "%s%s", what, why);
}

struct ostel_platform *ostel_platform_open(pid_t root_pid, size_t max_procs, char *err,
                                           size_t err_size)
{
    if (root_pid <= 0 || max_procs == 0 || max_procs > 65536) {
        set_err(err, err_size, "platform: bad root pid or process limit", "");
        return NULL;
    }
    struct ostel_platform *p = ostel_xcalloc(1, sizeof(*p));
    p->root_pid = root_pid;
    p->max_procs = max_procs;
    p->meminfo_fd = p->vmstat_fd = p->psi_fd = p->oom_fd = p->loadavg_fd = p->cg_usage_fd = -1;
    p->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->proc_fd < 0) {
        set_err(err, err_size, "cannot open /proc: ", strerror(errno));
        free(p);
        return NULL;
    }
    p->slots = ostel_xcalloc(max_procs, sizeof(*p->slots));
    p->buf = ostel_xmalloc(OSTEL_LINUX_BUF_SIZE);
    p->dents = ostel_xmalloc(OSTEL_LINUX_DENTS_SIZE);
    p->kids = ostel_xcalloc(OSTEL_LINUX_KIDS_CAP, sizeof(pid_t));
    long tck = sysconf(_SC_CLK_TCK);
    p->ns_per_tick = tck > 0 ? 1000000000ull / (uint64_t)tck : 10000000ull;
    long ps = sysconf(_SC_PAGESIZE);
    p->page_size = ps > 0 ? (uint64_t)ps : 4096;
    p->meminfo_fd = open_at(p->proc_fd, "meminfo");
    p->vmstat_fd = open_at(p->proc_fd, "vmstat");
    p->psi_fd = open_at(p->proc_fd, "pressure/memory");
    p->loadavg_fd = open_at(p->proc_fd, "loadavg");
    p->vmstat_request = OSTEL_LINUX_BUF_SIZE - 1; /* until learnt: whole reads, every counter */
    p->vmstat_want = OSTEL_LINUX_VMSTAT_SAMPLED;
    ssize_t n = pread_all(p->vmstat_fd, p->buf, OSTEL_LINUX_BUF_SIZE);
    if (n > 0)
        learn_vmstat(p, p->buf, (size_t)n);

    char path[64];
    snprintf(path, sizeof(path), "%d/task/%d/children", (int)getpid(), (int)getpid());
    p->children_mode = faccessat(p->proc_fd, path, R_OK, 0) == 0;
    /* Diagnostic knob: force the /proc scan fallback (tests use it to cover both paths). */
    const char *force_scan = getenv("OSTEL_PLATFORM_SCAN");
    if (force_scan && strcmp(force_scan, "1") == 0 && p->children_mode) {
        p->children_mode = false;
        p->scan_forced = true;
    }
    /* Diagnostic knob: read status every sample even when no swap is in use (tests: both paths). */
    const char *force_status = getenv("OSTEL_PLATFORM_STATUS");
    p->status_forced = force_status && strcmp(force_status, "1") == 0;

    add_slot(p, root_pid, -1, NULL); /* an already gone root leaves the tree empty */
    open_oom_counter(p);
    return p;
}

void ostel_platform_close(struct ostel_platform *p)
{
    if (!p)
        return;
    while (p->nslots > 0)
        close_slot(p, p->nslots - 1);
    close_fd(&p->meminfo_fd);
    close_fd(&p->vmstat_fd);
    close_fd(&p->psi_fd);
    close_fd(&p->loadavg_fd);
    close_fd(&p->oom_fd);
    close_fd(&p->cg_usage_fd);
    close_fd(&p->proc_fd);
    free(p->slots);
    free(p->buf);
    free(p->dents);
    free(p->kids);
    free(p);
}

void ostel_platform_describe(const struct ostel_platform *p, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    snprintf(out, out_size, "linux: tree via %s; memory from %s; psi %s; oom kills from %s (%s)",
             p->children_mode ? "/proc/PID/task/TID/children (when a task was created)"
             : p->scan_forced ? "/proc scan every 500 ms (forced by OSTEL_PLATFORM_SCAN=1)"
                              : "/proc scan every 500 ms (no task children files on this kernel)",
             p->status_forced ? "/proc/PID/status (forced by OSTEL_PLATFORM_STATUS=1)"
                              : "/proc/PID/statm, status while swap is in use",
             p->psi_fd >= 0 ? "/proc/pressure/memory" : "absent (MemAvailable fallback)",
             p->oom_ok ? p->oom_scope : "nowhere", p->oom_ok ? p->oom_path : "-");
}

/* Reads a small file into buf (size >= 2); returns its length or OSTEL_ERR. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open_at(AT_FDCWD, path);
    ssize_t n = pread_all(fd, buf, size);
    close_fd(&fd);
    return n;
}

/* Bounded copy that always terminates (uname fields can be longer than our fields). */
static void copy_str(char *dst, size_t dst_size, const char *src)
{
    size_t n = strnlen(src, dst_size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int ostel_platform_host_read(struct ostel_platform_host *out)
{
    memset(out, 0, sizeof(*out));
    char buf[16384];
    struct utsname u;
    if (uname(&u) == 0) {
        copy_str(out->os, sizeof(out->os), u.sysname);
        copy_str(out->kernel, sizeof(out->kernel), u.release);
        copy_str(out->machine, sizeof(out->machine), u.machine);
        copy_str(out->hostname, sizeof(out->hostname), u.nodename);
    }
    ssize_t n = read_small("/etc/os-release", buf, sizeof(buf));
    if (n <= 0)
        n = read_small("/usr/lib/os-release", buf, sizeof(buf));
    if (n > 0)
        ostel_procfs_parse_os_release(buf, (size_t)n, out->os_version, sizeof(out->os_version));
    /* The first processor block is enough: read 16 KiB, not the whole file of a 256-core host. */
    n = read_small("/proc/cpuinfo", buf, sizeof(buf));
    if (n > 0)
        ostel_procfs_parse_cpu_model(buf, (size_t)n, out->cpu_model, sizeof(out->cpu_model));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0) {
        out->logical_cores = (uint32_t)cores;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_CORES;
    }
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) {
        out->page_size = (uint64_t)ps;
        out->valid |= 1u << OSTEL_PLATFORM_HOST_PAGE_SIZE;
    }
    n = read_small("/proc/meminfo", buf, sizeof(buf));
    if (n > 0) {
        struct ostel_procfs_meminfo mi;
        ostel_procfs_parse_meminfo(buf, (size_t)n, &mi);
        if ((mi.valid >> OSTEL_PROCFS_MEMINFO_TOTAL) & 1u) {
            out->ram_bytes = mi.mem_total_kib * 1024;
            out->valid |= 1u << OSTEL_PLATFORM_HOST_RAM;
        }
        if ((mi.valid >> OSTEL_PROCFS_MEMINFO_SWAP_TOTAL) & 1u) {
            out->swap_total_bytes = mi.swap_total_kib * 1024;
            out->valid |= 1u << OSTEL_PLATFORM_HOST_SWAP_TOTAL;
        }
    }
    return OSTEL_OK;
}
