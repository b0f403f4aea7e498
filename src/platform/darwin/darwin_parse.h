/*
 * darwin_parse: the pure part of the macOS backend — unit conversions, the pressure-level mapping,
 * available memory from page counts, pid-list cleaning and the tree walk over an injected child
 * lister. No Apple header is needed, so it is compiled and unit-tested on Linux too (nothing of
 * platform_darwin.c can be compiled here). Never allocates, never prints.
 */
#ifndef OSTEL_DARWIN_PARSE_H
#define OSTEL_DARWIN_PARSE_H

#include "util/util.h"

#include <sys/types.h>

/*
 * Mach absolute time units -> ns with mach_timebase_info's numer/denom (1/1 on Intel, 125/3 on
 * Apple Silicon, where rusage_info's ri_user_time / ri_system_time and proc_taskinfo's pti_total_*
 * are ticks of 41.67 ns, not ns). Overflow-safe; denom 0 is treated as 1/1.
 */
uint64_t ostel_darwin_mach_to_ns(uint64_t ticks, uint32_t numer, uint32_t denom);

/*
 * Cleans a buffer filled by proc_listchildpids(): Apple's libproc returns a pid COUNT there (its
 * proc_listpids returns BYTES, which confused many callers), so the caller zeroes the buffer first
 * and this keeps the positive pids among the first min(returned, cap) entries, compacted in place.
 * Returns how many remain (0 for returned <= 0).
 */
size_t ostel_darwin_clean_pids(pid_t *pids, int returned, size_t cap);

/* kern.memorystatus_vm_pressure_level (1 normal, 2 warning, 4 critical) as is; 0 for any other. */
int ostel_darwin_pressure_flag(int64_t sysctl_value);

/* kern.memorystatus_level (% of memory available): the value, or -1 when outside 0..100. */
int ostel_darwin_avail_level(int64_t sysctl_value);

/*
 * An integer sysctl value as the kernel wrote it (4 or 8 bytes, native endianness). False for any
 * other length.
 */
bool ostel_darwin_sysctl_int(const void *buf, size_t len, int64_t *out);

/* The page counts of host_statistics64(HOST_VM_INFO64) that ostel uses, in pages. */
struct ostel_darwin_vm {
    uint64_t free_count, active_count, inactive_count, speculative_count, wire_count;
    uint64_t purgeable_count, compressor_page_count, internal_page_count, external_page_count;
};

/*
 * Available memory in bytes, Activity Monitor's way: total minus "memory used", where used = app
 * memory (internal - purgeable) + wired + compressed (compressor_page_count). File-backed
 * (external) and purgeable pages count as available because the kernel drops them without writing.
 * Clamped to 0..mem_total_bytes.
 */
uint64_t ostel_darwin_avail_bytes(const struct ostel_darwin_vm *vm, uint64_t page_size,
                                  uint64_t mem_total_bytes);

/* iogpu.wired_limit_mb -> bytes (0 = the OS default); false for negative values. */
bool ostel_darwin_wired_limit_bytes(int64_t mb, uint64_t *bytes);

/*
 * Lists up to cap children of ppid into buf; returns how many (after cleaning), or -1 when ppid is
 * gone. Injected so the walk below is testable without macOS.
 */
typedef int (*ostel_darwin_list_children_fn)(void *ctx, pid_t ppid, pid_t *buf, size_t cap);

/*
 * Breadth-first walk: tree[0..*n) holds the seeds on entry (the root, then processes tracked in
 * earlier samples) and on return every seed plus all their descendants, each once, at most cap.
 * scratch (scratch_cap entries) receives each child list. *truncated is set when cap or scratch_cap
 * was too small. Returns *n.
 */
size_t ostel_darwin_walk_tree(pid_t *tree, size_t *n, size_t cap, pid_t *scratch,
                              size_t scratch_cap, ostel_darwin_list_children_fn list, void *ctx,
                              bool *truncated);

#endif
