/*
 * cgroup_parse: pure parsers of the cgroup memory controller's files (v2 memory.max, memory.high,
 * memory.current, memory.events; v1 memory.limit_in_bytes, memory.usage_in_bytes, memory.stat,
 * memory.oom_control) — buffers in, values out. Never allocate, never print, never trust the input
 * (fuzz_cgroup). Built and unit-tested on every OS; the I/O is in cgroup_linux.c.
 */
#ifndef OSTEL_CGROUP_PARSE_H
#define OSTEL_CGROUP_PARSE_H

#include "util/util.h"

/* v1 writes "no limit" as the page counter's maximum (9223372036854771712 with 4 KiB pages);
 * anything from 2^62 on is read as no limit. */
#define OSTEL_CGROUP_V1_UNLIMITED ((uint64_t)1 << 62)

enum ostel_cgroup_limit {
    OSTEL_CGROUP_LIMIT_BAD,   /* not a limit file's content */
    OSTEL_CGROUP_LIMIT_NONE,  /* "max" (v2) or the v1 maximum */
    OSTEL_CGROUP_LIMIT_BYTES, /* *bytes holds the limit */
};
/* memory.max, memory.high (v2) or memory.limit_in_bytes (v1): one token and an optional "\n". */
enum ostel_cgroup_limit ostel_cgroup_parse_limit(const char *buf, size_t len, uint64_t *bytes);

/* memory.current (v2) or memory.usage_in_bytes (v1): one decimal and an optional "\n". */
bool ostel_cgroup_parse_bytes(const char *buf, size_t len, uint64_t *bytes);

/* v2 memory.events (and memory.events.local): the counters ostel uses. */
enum ostel_cgroup_event {
    OSTEL_CGROUP_EVENT_HIGH,     /* times over memory.high (throttled) */
    OSTEL_CGROUP_EVENT_MAX,      /* times at memory.max */
    OSTEL_CGROUP_EVENT_OOM,      /* times the OOM path ran */
    OSTEL_CGROUP_EVENT_OOM_KILL, /* processes the OOM killer killed */
};
struct ostel_cgroup_events {
    uint32_t valid; /* bit (1 << OSTEL_CGROUP_EVENT_*) per line found and well-formed */
    uint64_t high, max, oom, oom_kill;
};
/* Never fails: unknown or malformed lines are skipped (their bit stays clear). */
void ostel_cgroup_parse_events(const char *buf, size_t len, struct ostel_cgroup_events *out);

#endif
