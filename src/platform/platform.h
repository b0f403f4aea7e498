/*
 * platform: how ostel reads a process tree's and the system's memory, CPU, paging and memory
 * pressure.
 *
 * One interface, one backend per OS (htop's rule): src/platform/linux/, darwin/ and stub/; CMake
 * compiles exactly one, and the pure parsers of every backend (*_parse.c) everywhere. Core code
 * never has an OS #ifdef: it calls these functions, and a value a platform cannot read is an
 * invalid field (an empty CSV cell), never 0.
 *
 * The sampler's use (src/run/sampler.c):
 *     p = ostel_platform_open(child_pid, 4096, err, sizeof(err)); // allocates, opens fds
 *     ostel_platform_pressure_init(&pressure);
 *     every interval, and once more after the child exited:
 *         ostel_platform_sample(p, &cur);                         // no allocation, no printing
 *         ostel_platform_metrics_compute(have_prev ? &prev : NULL, &cur, &pressure, &m);
 *         prev = cur; have_prev = true;   // m: one row's values; the sampler picks their columns
 *     ostel_platform_read_oom_kills(p, &kills, &scope);           // false: no count on this host
 *     ostel_platform_close(p);
 *
 * A handle is not thread-safe: use it from one thread at a time (the sampler's).
 * Samples hold raw cumulative counters; the pure functions at the bottom turn two consecutive
 * samples into the per-interval values of metrics.csv (docs/run-directory.md). docs/platform.md
 * says where each field comes from on each OS.
 */
#ifndef OSTEL_PLATFORM_H
#define OSTEL_PLATFORM_H

#include "util/util.h"

#include <sys/types.h>

/* Opaque handle of one watched process tree plus system-wide counters. */
struct ostel_platform;

/* Fields of a sample; bit (1 << field) of ostel_platform_sample.valid says it was read. */
enum ostel_platform_field {
    OSTEL_PLATFORM_FIELD_RSS,            /* tree: resident bytes */
    OSTEL_PLATFORM_FIELD_RSS_ANON,       /* tree: anonymous resident bytes */
    OSTEL_PLATFORM_FIELD_RSS_FILE,       /* tree: file-backed + shmem resident bytes */
    OSTEL_PLATFORM_FIELD_SWAP,           /* tree: bytes in swap */
    OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT, /* tree: macOS phys_footprint bytes */
    OSTEL_PLATFORM_FIELD_CPU,            /* tree: cumulative user+sys ns */
    OSTEL_PLATFORM_FIELD_MINFLT,         /* tree: cumulative minor faults */
    OSTEL_PLATFORM_FIELD_MAJFLT,         /* tree: cumulative major faults (macOS: pageins) */
    OSTEL_PLATFORM_FIELD_THREADS,        /* tree: threads */
    OSTEL_PLATFORM_FIELD_PROCS,          /* tree: processes */
    OSTEL_PLATFORM_FIELD_MEM_TOTAL,      /* system: physical memory bytes */
    OSTEL_PLATFORM_FIELD_MEM_AVAIL,      /* system: available memory bytes */
    OSTEL_PLATFORM_FIELD_SWAP_TOTAL,     /* system: swap bytes */
    OSTEL_PLATFORM_FIELD_SWAP_FREE,      /* system: free swap bytes */
    OSTEL_PLATFORM_FIELD_PAGEINS,        /* system: cumulative pages read in from disk */
    OSTEL_PLATFORM_FIELD_PAGEOUTS,       /* system: cumulative pages written out */
    OSTEL_PLATFORM_FIELD_SWAPINS,        /* system: cumulative pages swapped in */
    OSTEL_PLATFORM_FIELD_SWAPOUTS,       /* system: cumulative pages swapped out */
    OSTEL_PLATFORM_FIELD_SYS_MAJFLT,     /* system: cumulative major faults (Linux pgmajfault) */
    OSTEL_PLATFORM_FIELD_REFAULT_FILE,   /* system: file pages read back after eviction (Linux) */
    OSTEL_PLATFORM_FIELD_PSI_SOME_TOTAL, /* system: PSI memory some total= us */
    OSTEL_PLATFORM_FIELD_PSI_FULL_TOTAL, /* system: PSI memory full total= us */
    OSTEL_PLATFORM_FIELD_PSI_SOME_AVG10, /* system: PSI memory some avg10 % */
    OSTEL_PLATFORM_FIELD_PSI_FULL_AVG10, /* system: PSI memory full avg10 % */
    OSTEL_PLATFORM_FIELD_PRESSURE_LEVEL, /* system: the kernel's own level 1/2/4 (macOS) */
    OSTEL_PLATFORM_FIELD_AVAIL_LEVEL,    /* system: the kernel's own available % (macOS) */
    OSTEL_PLATFORM_FIELD_CGROUP_USAGE,   /* the root's memory cgroup: charged bytes (Linux) */
    OSTEL_PLATFORM_FIELD_PHYS_FOOTPRINT_PEAK, /* tree: macOS lifetime max phys_footprint, summed */
    OSTEL_PLATFORM_FIELD_COUNT
};

/*
 * One sample: RAW values, counters cumulative since boot (system) or since the processes started
 * (tree). Plain data: copy it by value.
 */
struct ostel_platform_sample {
    uint64_t valid;       /* bit (1 << OSTEL_PLATFORM_FIELD_*) per field that holds a value */
    int64_t realtime_ns;  /* CLOCK_REALTIME when the sample began; always set */
    int64_t monotonic_ns; /* CLOCK_MONOTONIC when the sample began; always set */
    bool root_alive;      /* the root process exists and is not a zombie */
    bool tree_truncated;  /* the tree had more than max_procs processes: the extras were skipped */

    /* The tree: the root process and its descendants (tracked until they exit). */
    uint64_t rss_bytes;
    uint64_t rss_anon_bytes;
    uint64_t rss_file_bytes; /* file-backed + shmem */
    uint64_t swap_bytes;
    uint64_t phys_footprint_bytes;
    uint64_t cpu_ns; /* user+sys, with reaped descendants as far as the OS tells */
    uint64_t minflt;
    uint64_t majflt;
    uint64_t threads;
    uint64_t procs;

    /* The system. Page counts are in pages of the host's page size (ostel_platform_host). */
    uint64_t mem_total_bytes;
    uint64_t mem_avail_bytes;
    uint64_t swap_total_bytes;
    uint64_t swap_free_bytes;
    uint64_t pageins;
    uint64_t pageouts;
    uint64_t swapins;
    uint64_t swapouts;
    uint64_t sys_majflt;
    uint64_t refault_file;
    uint64_t psi_some_total_us;
    uint64_t psi_full_total_us;
    double psi_some_avg10; /* % */
    double psi_full_avg10; /* % */
    int pressure_level;    /* 1 normal, 2 warning, 4 critical */
    int avail_level_pct;   /* 0..100 */

    /* The memory cgroup the root process is in (its per-run cgroup when ostel made one). */
    uint64_t cgroup_usage_bytes; /* memory.current (v2) / memory.usage_in_bytes (v1) */

    /* macOS: each tracked process's ri_lifetime_max_phys_footprint, summed over the tree. The
     * kernel's own high-water mark, so a spike between two samples is not missed; summed over
     * several processes it is an upper bound of the tree's peak (they may peak at different
     * times), exact for a tree of one process. */
    uint64_t phys_footprint_peak_bytes;
};

static inline bool ostel_platform_sample_has(const struct ostel_platform_sample *s,
                                             enum ostel_platform_field f)
{
    return (s->valid >> f) & 1u;
}
static inline void ostel_platform_sample_mark(struct ostel_platform_sample *s,
                                              enum ostel_platform_field f)
{
    s->valid |= (uint64_t)1 << f;
}

/* "linux", "darwin" or "stub": the backend compiled into this binary. Static string. */
const char *ostel_platform_backend_name(void);

/*
 * Prepares watching the process tree rooted at root_pid (children of children too) and the system:
 * preallocates room for max_procs processes (1..65536) and opens what can stay open. root_pid may
 * already have exited (the tree is then empty, system fields still valid). Returns a handle the
 * caller frees with ostel_platform_close(), or NULL with a one-line reason in err (nothing
 * printed).
 */
struct ostel_platform *ostel_platform_open(pid_t root_pid, size_t max_procs, char *err,
                                           size_t err_size);
/* Closes every descriptor and frees the handle; NULL is fine. */
void ostel_platform_close(struct ostel_platform *p);

/*
 * Takes one sample into *out (fully overwritten). Never allocates and never prints: it is called in
 * the sampler's fixed-interval loop. A process that vanishes between two reads is not an error; a
 * field that cannot be read is left invalid. Returns 0 (there is no failure a caller could act on).
 */
int ostel_platform_sample(struct ostel_platform *p, struct ostel_platform_sample *out);

/*
 * Kernel OOM kills counted since ostel_platform_open() in the narrowest scope this host offers
 * (docs/platform.md): *scope gets a static string naming it ("cgroup v2 memory.events", "cgroup v1
 * memory.oom_control", "system /proc/vmstat"). Returns true with *kills set, or false when no
 * source exists (stub, macOS). Allocation-free; call it after the child ended and combine it with
 * the child's SIGKILL: a kill counted while our child died of SIGKILL means the OOM killer ended
 * it.
 */
bool ostel_platform_read_oom_kills(struct ostel_platform *p, uint64_t *kills, const char **scope);

/* Where ostel_platform_read_oom_kills() counts ("per-run cgroup v2 memory.events", "cgroup v1
 * memory.oom_control", "system /proc/vmstat", "none"): a static string, for config.txt. */
const char *ostel_platform_oom_scope(const struct ostel_platform *p);

/*
 * One line describing how this handle reads things (tree discovery method, OOM scope), for
 * config.txt and --verbose. Writes a NUL-terminated string into out.
 */
void ostel_platform_describe(const struct ostel_platform *p, char *out, size_t out_size);

/* Host facts for config.txt and summary.json; strings are NUL-terminated, "" when unknown. */
enum ostel_platform_host_field {
    OSTEL_PLATFORM_HOST_CORES,
    OSTEL_PLATFORM_HOST_RAM,
    OSTEL_PLATFORM_HOST_PAGE_SIZE,
    OSTEL_PLATFORM_HOST_SWAP_TOTAL,
    OSTEL_PLATFORM_HOST_GPU_WIRED_LIMIT, /* macOS iogpu.wired_limit_mb */
};
struct ostel_platform_host {
    uint32_t valid; /* bit (1 << OSTEL_PLATFORM_HOST_*) per numeric field read */
    char hostname[256];
    char os[64];         /* "Linux", "Darwin" */
    char os_version[64]; /* macOS product version ("14.5"); Linux PRETTY_NAME of os-release */
    char kernel[128];    /* uname release */
    char machine[32];    /* uname machine ("x86_64", "arm64") */
    char cpu_model[128];
    uint32_t logical_cores;
    uint64_t ram_bytes;
    uint64_t page_size;
    uint64_t swap_total_bytes;
    uint64_t gpu_wired_limit_bytes; /* 0 = the OS default */
};
/* Fills *out (fully overwritten). Allocation-free; returns 0 (unknown facts are simply absent). */
int ostel_platform_host_read(struct ostel_platform_host *out);

/* Vector features of the host CPU: bits of ostel_platform_cpu_features(). */
enum {
    OSTEL_PLATFORM_CPU_AVX2 = 1u << 0,         /* x86-64: AVX2, and the OS saves the YMM state */
    OSTEL_PLATFORM_CPU_AVX512 = 1u << 1,       /* x86-64: AVX-512F, and the OS saves ZMM */
    OSTEL_PLATFORM_CPU_NEON_DOTPROD = 1u << 2, /* aarch64 (assumed on every aarch64 host) */
};
/* The features above of the CPU ostel runs on (cpu_features.c, every platform); 0 when none are
 * known (another architecture). Allocation-free, no I/O. */
uint32_t ostel_platform_cpu_features(void);

/*
 * Asks the OS to back [p, p + len) with huge pages where it can (Linux transparent huge pages,
 * which this machine enables only on request): a large anonymous region is then filled with 2 MiB
 * faults instead of 4 KiB ones. A hint: silently nothing where unsupported.
 */
void ostel_platform_hint_huge_pages(void *p, size_t len);

/*
 * The memory cgroup a process runs in (Linux; docs/platform.md): inside a container or a systemd
 * slice its limit, not the machine's MemAvailable, is the memory that counts.
 */
struct ostel_platform_cgroup {
    int version;    /* 2 or 1; 0: no memory cgroup could be read (other fields unset) */
    char path[512]; /* the cgroup's directory, e.g. /sys/fs/cgroup/user.slice/... */
    bool limited;   /* a limit applies: limit_bytes, limit_src hold the tightest one */
    uint64_t
        limit_bytes;       /* v2: min of memory.max and memory.high over the cgroup and its
                            * ancestors (the level with the least room); v1: the hierarchical limit */
    const char *limit_src; /* static: "memory.max", "memory.high", "memory.limit_in_bytes" */
    bool has_usage;        /* usage_bytes valid */
    uint64_t usage_bytes;  /* memory.current / memory.usage_in_bytes of the binding level */
    bool has_oom_kills;    /* oom_kills valid */
    uint64_t oom_kills;    /* memory.events oom_kill (v2) / memory.oom_control oom_kill (v1) */
};
/*
 * Reads the memory cgroup of pid (0: the calling process) into *out (fully overwritten). Returns
 * false where there is none to read (out->version 0): stub, macOS, no memory controller.
 */
bool ostel_platform_cgroup_read(pid_t pid, struct ostel_platform_cgroup *out);

/* The host memory a run may use now (`ostel fit`, src/platform/budget.c). */
enum ostel_platform_budget_bound {
    OSTEL_PLATFORM_BUDGET_UNKNOWN,       /* neither MemAvailable nor RAM known, no cgroup limit */
    OSTEL_PLATFORM_BUDGET_MEM_AVAILABLE, /* MemAvailable */
    OSTEL_PLATFORM_BUDGET_RAM,           /* RAM (MemAvailable unknown) */
    OSTEL_PLATFORM_BUDGET_CGROUP,        /* the cgroup's limit - usage, below the other two */
};
struct ostel_platform_budget {
    uint64_t bytes; /* 0: unknown; a full cgroup gives 1 */
    enum ostel_platform_budget_bound bound;
    char src[160]; /* "MemAvailable", "RAM", "cgroup v2 memory.max - usage, below MemAvailable" */
};
/*
 * min(MemAvailable (else RAM), cgroup limit - usage) and which one bound it, into *out (fully
 * overwritten). avail_bytes and ram_bytes are 0 when unknown; cg may be NULL or version 0 (no
 * cgroup). Pure: no I/O, no allocation; borrows everything.
 */
void ostel_platform_choose_budget(uint64_t avail_bytes, uint64_t ram_bytes,
                                  const struct ostel_platform_cgroup *cg,
                                  struct ostel_platform_budget *out);

/*
 * A cgroup of its own for one run's child (Linux, where ostel may create one: cgroup v2 with the
 * memory controller enabled for its children, or a writable v1 memory hierarchy), so that its OOM
 * kills, and only its, are counted. Returns a handle, or NULL with the reason in err when this host
 * does not allow it (the run then counts kills in the cgroup ostel itself is in).
 */
struct ostel_platform_run_cgroup;
struct ostel_platform_run_cgroup *ostel_platform_run_cgroup_create(char *err, size_t err_size);
/* The cgroup.procs descriptor a child writes its pid into before execve (spawn_opts.cgroup_fd). */
int ostel_platform_run_cgroup_fd(const struct ostel_platform_run_cgroup *cg);
/* Removes the cgroup (its processes must have ended; a leftover is left and said) and frees. */
void ostel_platform_run_cgroup_remove(struct ostel_platform_run_cgroup *cg);

/* How ostel_platform_spawn() connects a child. */
struct ostel_platform_spawn_opts {
    int out_fd;           /* becomes the child's stdout and stderr; borrowed */
    int close_fd;         /* closed in the child (a pipe's other end), or -1 */
    bool die_with_parent; /* the child gets SIGKILL when ostel ends, even by kill -9 (Linux) */
    int cgroup_fd;        /* a cgroup.procs to join before execve (Linux), or -1 */
    char *const *envp;    /* the child's environment, or NULL for ostel's own */
};

/*
 * Starts argv[0] (a path) with argv and o->envp (NULL: ostel's environment): stdin /dev/null,
 * stdout and stderr on o->out_fd, in a process group of its own, default signal dispositions and an
 * empty signal mask. die_with_parent ties the child's life to the calling THREAD's (Linux
 * PR_SET_PDEATHSIG): call it from a thread that lives as long as ostel. Returns 0 with *pid set
 * once the program runs, or an errno (e.g. ENOENT from execve); prints nothing.
 */
int ostel_platform_spawn(char *const argv[], const struct ostel_platform_spawn_opts *o, pid_t *pid);
/* The same with posix_spawn and no tie to ostel's life (spawn_posix.c, every backend). */
int ostel_platform_spawn_posix(char *const argv[], const struct ostel_platform_spawn_opts *o,
                               pid_t *pid);
/* What keeps children from outliving ostel: "PR_SET_PDEATHSIG" or "none". Static string. */
const char *ostel_platform_spawn_guard(void);
/* The parent of process pid, or -1 when it cannot be told (gone, no permission, unsupported): how
 * the GPU module matches the driver's process list against the watched tree (ppid_<os>.c). */
pid_t ostel_platform_parent_pid(pid_t pid);

/* The soft RLIMIT_NOFILE raised to the hard one (where that is refused, as macOS refuses an
 * unlimited one: to min(OPEN_MAX, hard)), for ostel and the children it starts later: a stream is
 * a socket, and a level may hold thousands (fd_room.c). */
void ostel_platform_fd_limit_raise(void);
/*
 * Room for n open descriptors, made now: the limit raised as above, and the process's descriptor
 * table grown to hold n (or the limit), so that opening the n-th socket later neither fails nor
 * grows the table: on Linux a multithreaded process's table growth waits for an RCU grace period,
 * 10 ms and more, inside whichever call opened the descriptor. Returns the room made: n, less
 * when the limit is lower, 0 when none could be made.
 */
int ostel_platform_fd_room(int n);

/* ---- Pure helpers (src/platform/platform_metrics.c, pressure.c): two samples -> one metrics.csv
 * row ----
 */

/*
 * vm_pressure_flag on platforms without a kernel level (Linux): a small state machine over PSI
 * memory stall shares, smoothed over about a second, with thresholds and hysteresis
 * (docs/platform.md). Without PSI it falls back to MemAvailable / MemTotal. Initialise once per
 * run; plain data.
 */
struct ostel_platform_pressure {
    int level;             /* 1, 2 or 4 */
    bool primed;           /* the averages hold at least one interval */
    double some_pct_avg;   /* PSI some share, exponentially averaged, % */
    double full_pct_avg;   /* PSI full share, exponentially averaged, % */
    int64_t calm_since_ns; /* monotonic ns since which the level's exit condition holds, or -1 */
};
void ostel_platform_pressure_init(struct ostel_platform_pressure *st);

/* Thresholds (percent of wall time stalled, averaged) and timings of the state machine. */
#define OSTEL_PRESSURE_TAU_NS 1000000000LL    /* time constant of the average: 1 s */
#define OSTEL_PRESSURE_WARN_SOME_PCT 10.0     /* enter warning: some >= 10 % */
#define OSTEL_PRESSURE_WARN_EXIT_SOME_PCT 5.0 /* leave warning: some < 5 % ... */
#define OSTEL_PRESSURE_CRIT_FULL_PCT 10.0     /* enter critical: full >= 10 % */
#define OSTEL_PRESSURE_CRIT_SOME_PCT 50.0     /* ... or some >= 50 % */
#define OSTEL_PRESSURE_CRIT_EXIT_FULL_PCT 5.0 /* leave critical: full < 5 % and some < 25 % ... */
#define OSTEL_PRESSURE_CRIT_EXIT_SOME_PCT 25.0
#define OSTEL_PRESSURE_HOLD_NS 2000000000LL  /* ... held for 2 s before stepping down one level */
#define OSTEL_PRESSURE_AVAIL_WARN_PCT 10.0   /* no PSI: warning below 10 % available */
#define OSTEL_PRESSURE_AVAIL_CRIT_PCT 5.0    /* no PSI: critical below 5 % available */
#define OSTEL_PRESSURE_AVAIL_EXIT_MARGIN 2.0 /* no PSI: leave when 2 points above the entry */

/*
 * Feeds one interval into the state machine and returns the level (1, 2, 4). some_pct / full_pct
 * are the interval's stall shares (pass a negative value when unknown); avail_pct is
 * MemAvailable/MemTotal (negative when unknown); interval_ns the interval's length and now_ns its
 * end (monotonic). Returns 0 when nothing at all is known.
 */
int ostel_platform_pressure_update(struct ostel_platform_pressure *st, double some_pct,
                                   double full_pct, double avail_pct, int64_t interval_ns,
                                   int64_t now_ns);

/* Per-interval values of one metrics.csv row (docs/run-directory.md), in the CSV's units. */
enum ostel_platform_metric {
    OSTEL_PLATFORM_METRIC_TS,
    OSTEL_PLATFORM_METRIC_RSS_MIB,
    OSTEL_PLATFORM_METRIC_CPU_PCT,
    OSTEL_PLATFORM_METRIC_VM_PRESSURE_FLAG,
    OSTEL_PLATFORM_METRIC_AVAIL_MEM_LEVEL,
    OSTEL_PLATFORM_METRIC_PAGEINS_DELTA,
    OSTEL_PLATFORM_METRIC_PAGEOUTS_DELTA,
    OSTEL_PLATFORM_METRIC_RSS_ANON_MIB,
    OSTEL_PLATFORM_METRIC_RSS_FILE_MIB,
    OSTEL_PLATFORM_METRIC_SWAP_MIB,
    OSTEL_PLATFORM_METRIC_MINFLT_DELTA,
    OSTEL_PLATFORM_METRIC_MAJFLT_DELTA,
    OSTEL_PLATFORM_METRIC_THREADS,
    OSTEL_PLATFORM_METRIC_SYS_AVAIL_MIB,
    OSTEL_PLATFORM_METRIC_SWAPIN_DELTA,
    OSTEL_PLATFORM_METRIC_SWAPOUT_DELTA,
    OSTEL_PLATFORM_METRIC_PSI_SOME_PCT,
    OSTEL_PLATFORM_METRIC_PSI_FULL_PCT,
    OSTEL_PLATFORM_METRIC_CGROUP_MEM_MIB,
    OSTEL_PLATFORM_METRIC_FOOTPRINT_MIB,
    OSTEL_PLATFORM_METRIC_FOOTPRINT_PEAK_MIB,
    OSTEL_PLATFORM_METRIC_COUNT
};
struct ostel_platform_metrics {
    uint32_t valid; /* bit (1 << OSTEL_PLATFORM_METRIC_*) per value */
    double v[OSTEL_PLATFORM_METRIC_COUNT];
};
static inline bool ostel_platform_metrics_has(const struct ostel_platform_metrics *m,
                                              enum ostel_platform_metric k)
{
    return (m->valid >> k) & 1u;
}

/*
 * Computes cur's row. prev is the previous sample of the same handle, or NULL for the first sample
 * (deltas, cpu_pct and PSI shares are then invalid; gauges are valid). Deltas of tree counters that
 * went backwards (a process left the tree) are clamped at 0; a system counter that went backwards
 * makes its delta invalid. st is the run's pressure state (updated). Pure: no I/O, no allocation.
 */
void ostel_platform_metrics_compute(const struct ostel_platform_sample *prev,
                                    const struct ostel_platform_sample *cur,
                                    struct ostel_platform_pressure *st,
                                    struct ostel_platform_metrics *out);

#endif
