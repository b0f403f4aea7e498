/*
 * procfs_parse: pure parsers of Linux /proc and cgroup files — buffers in, structs out. They never
 * allocate, never print and never trust the input (a file can change shape between kernels, and the
 * fuzz target feeds them garbage): a malformed file yields an error in the caller's buffer or a
 * field left invalid. Built and unit-tested on every OS; the I/O lives in platform_linux.c.
 */
#ifndef OSTEL_PROCFS_PARSE_H
#define OSTEL_PROCFS_PARSE_H

#include "util/util.h"

#include <sys/types.h>

/* /proc/<pid>/stat. Times are clock ticks (sysconf(_SC_CLK_TCK)); rss in pages. */
struct ostel_procfs_stat {
    long pid;
    char
        comm[64]; /* between the first '(' and the LAST ')': comm may hold spaces and parentheses */
    char state;   /* 'R', 'S', 'Z', ... */
    long ppid;
    uint64_t minflt, cminflt, majflt, cmajflt;
    uint64_t utime, stime, cutime, cstime; /* cutime/cstime: reaped children, clamped at 0 */
    uint64_t num_threads;
    uint64_t starttime; /* ticks after boot: with pid, identifies a process across pid reuse */
    uint64_t rss_pages;
};
/* Parses one stat line. Returns 0, or OSTEL_ERR with a reason in err. */
int ostel_procfs_parse_stat(const char *buf, size_t len, struct ostel_procfs_stat *out, char *err,
                            size_t err_size);

/* /proc/<pid>/status: the lines ostel uses. Sizes are KiB as the file states them. */
enum ostel_procfs_status_field {
    OSTEL_PROCFS_STATUS_VM_RSS,
    OSTEL_PROCFS_STATUS_RSS_ANON,
    OSTEL_PROCFS_STATUS_RSS_FILE,
    OSTEL_PROCFS_STATUS_RSS_SHMEM,
    OSTEL_PROCFS_STATUS_VM_SWAP,
    OSTEL_PROCFS_STATUS_THREADS,
    OSTEL_PROCFS_STATUS_PPID,
};
struct ostel_procfs_status {
    uint32_t valid; /* bit (1 << OSTEL_PROCFS_STATUS_*) per line found and well-formed */
    uint64_t vm_rss_kib, rss_anon_kib, rss_file_kib, rss_shmem_kib, vm_swap_kib;
    uint64_t threads;
    uint64_t ppid;
};
/* Never fails: lines it does not know or cannot read are skipped (their bit stays clear). */
void ostel_procfs_parse_status(const char *buf, size_t len, struct ostel_procfs_status *out);

/* /proc/<pid>/statm, in pages: size resident shared(file+shmem) text lib data dt. */
struct ostel_procfs_statm {
    uint64_t size_pages, resident_pages, shared_pages;
};
int ostel_procfs_parse_statm(const char *buf, size_t len, struct ostel_procfs_statm *out, char *err,
                             size_t err_size);
/*
 * statm in status's terms, KiB: resident = VmRSS, resident - shared = RssAnon, shared = RssFile +
 * RssShmem (the kernel fills both files from the same mm counters). False when shared > resident
 * (not a statm the kernel writes); the outputs are then untouched.
 */
bool ostel_procfs_statm_memory(const struct ostel_procfs_statm *sm, uint64_t page_size,
                               uint64_t *rss_kib, uint64_t *anon_kib, uint64_t *file_kib);

/* /proc/meminfo, KiB. */
enum ostel_procfs_meminfo_field {
    OSTEL_PROCFS_MEMINFO_TOTAL,
    OSTEL_PROCFS_MEMINFO_FREE,
    OSTEL_PROCFS_MEMINFO_AVAILABLE,
    OSTEL_PROCFS_MEMINFO_SWAP_TOTAL,
    OSTEL_PROCFS_MEMINFO_SWAP_FREE,
};
struct ostel_procfs_meminfo {
    uint32_t valid;
    uint64_t mem_total_kib, mem_free_kib, mem_avail_kib, swap_total_kib, swap_free_kib;
};
void ostel_procfs_parse_meminfo(const char *buf, size_t len, struct ostel_procfs_meminfo *out);

/* /proc/vmstat. pgpgin/pgpgout are KiB (the kernel halves its sector count), the rest counts. */
enum ostel_procfs_vmstat_field {
    OSTEL_PROCFS_VMSTAT_PGPGIN,
    OSTEL_PROCFS_VMSTAT_PGPGOUT,
    OSTEL_PROCFS_VMSTAT_PSWPIN,
    OSTEL_PROCFS_VMSTAT_PSWPOUT,
    OSTEL_PROCFS_VMSTAT_PGMAJFAULT,
    OSTEL_PROCFS_VMSTAT_REFAULT_FILE, /* workingset_refault_file (5.9+) or workingset_refault */
    OSTEL_PROCFS_VMSTAT_OOM_KILL,
};
struct ostel_procfs_vmstat {
    uint32_t valid;
    uint64_t pgpgin_kib, pgpgout_kib, pswpin, pswpout, pgmajfault, refault_file, oom_kill;
};
void ostel_procfs_parse_vmstat(const char *buf, size_t len, struct ostel_procfs_vmstat *out);

/* /proc/pressure/memory (PSI): avg10 in %, total in microseconds. */
enum ostel_procfs_psi_field {
    OSTEL_PROCFS_PSI_SOME_AVG10,
    OSTEL_PROCFS_PSI_SOME_TOTAL,
    OSTEL_PROCFS_PSI_FULL_AVG10,
    OSTEL_PROCFS_PSI_FULL_TOTAL,
};
struct ostel_procfs_psi {
    uint32_t valid;
    double some_avg10, full_avg10;
    uint64_t some_total_us, full_total_us;
};
void ostel_procfs_parse_psi(const char *buf, size_t len, struct ostel_procfs_psi *out);

/*
 * A whitespace-separated list of pids (/proc/<pid>/task/<tid>/children, cgroup.procs). Stores up to
 * cap pids in out; *count gets how many were stored, *truncated whether more followed. Returns 0,
 * or OSTEL_ERR when a token is not a positive pid.
 */
int ostel_procfs_parse_pids(const char *buf, size_t len, pid_t *out, size_t cap, size_t *count,
                            bool *truncated, char *err, size_t err_size);

/* Decimal name of a /proc directory entry ("1234") -> pid; false for anything else ("self", "12a").
 */
bool ostel_procfs_parse_pid_name(const char *name, pid_t *out);

/* /proc/loadavg ("0.52 0.58 0.59 1/229 12345"): the fields that change when a task is created. */
struct ostel_procfs_loadavg {
    uint64_t tasks;    /* processes and threads that exist (229) */
    uint64_t last_pid; /* the pid most recently given to a new task in the reader's pid namespace */
};
/* False (and *out untouched) when the line does not have that shape. */
bool ostel_procfs_parse_loadavg(const char *buf, size_t len, struct ostel_procfs_loadavg *out);

/* The first "model name" (x86) or "Processor"/"cpu model" (older ARM, MIPS) of /proc/cpuinfo,
 * copied into out (truncated to out_size - 1). False when there is none. */
bool ostel_procfs_parse_cpu_model(const char *buf, size_t len, char *out, size_t out_size);

/* PRETTY_NAME of /etc/os-release, unquoted, into out. False when absent. */
bool ostel_procfs_parse_os_release(const char *buf, size_t len, char *out, size_t out_size);

/*
 * /proc/<pid>/cgroup: *v2 gets the path of the "0::" line, *v1_memory the path of the cgroup v1
 * line whose controller list holds "memory". Both are slices into buf; an absent one has n == 0 and
 * p == NULL. A path is accepted only when it starts with '/' and holds no ".." component.
 */
void ostel_procfs_parse_cgroup(const char *buf, size_t len, struct ostel_str *v2,
                               struct ostel_str *v1_memory);

/* The value of the first "<key> <u64>" line (vmstat, memory.events, memory.oom_control). */
bool ostel_procfs_find_u64(const char *buf, size_t len, const char *key, uint64_t *out);

#endif
