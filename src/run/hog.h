/*
 * hog: the background-load engine behind `ostel hog` — holds memory and burns CPU so a study can
 * measure llama.cpp on a machine that is not idle (docs/hog.md).
 *
 * The memory hog maps anonymous memory, writes every page, then keeps re-writing the pages at a set
 * rate so that they stay recently used and dirty: the kernel cannot quietly reclaim or compress
 * them behind the measurement's back. It is not mlock'ed (see docs/hog.md for why). Before
 * allocating it refuses a size the machine cannot give (MemAvailable minus a reserve). Its OOM
 * score is raised so that under pressure the kernel kills the hog rather than the measured process.
 *
 * The parsers here are pure (no printing, an error buffer); ostel_hog_run() prints status lines.
 */
#ifndef OSTEL_HOG_H
#define OSTEL_HOG_H

#include "util/util.h"

#include <stdint.h>

enum ostel_hog_mem_kind {
    OSTEL_HOG_MEM_NONE,
    OSTEL_HOG_MEM_BYTES,       /* mem:2G */
    OSTEL_HOG_MEM_PCT_TOTAL,   /* mem:70%      — share of MemTotal */
    OSTEL_HOG_MEM_PCT_AVAIL,   /* mem:70%avail — share of MemAvailable at start */
    OSTEL_HOG_MEM_LEAVE_AVAIL, /* mem:avail-2G — MemAvailable at start less 2G (mem_bytes) */
};

struct ostel_hog_spec {
    enum ostel_hog_mem_kind mem_kind;
    uint64_t mem_bytes; /* OSTEL_HOG_MEM_BYTES */
    double mem_pct;     /* the PCT kinds, in (0, 100] */
    char mem_text[48];  /* the mem part as written ("mem:30G"), for messages */
    int cpu_threads;    /* busy threads; 0 = none */
};

/* The reserve left to the machine: a request above MemAvailable minus this is refused. */
#define OSTEL_HOG_RESERVE_BYTES ((uint64_t)256 << 20)
/* Upper bound of cpu:N. */
#define OSTEL_HOG_MAX_THREADS 1024
/* By default every page is re-written once per this many seconds. */
#define OSTEL_HOG_CYCLE_S 5

/*
 * Parses "mem:4G", "mem:70%", "mem:70%avail", "cpu:2" and comma-separated combinations
 * ("mem:4G,cpu:1"; each kind at most once). Returns 0 or OSTEL_ERR with a message in err.
 */
int ostel_hog_parse_spec(const char *text, struct ostel_hog_spec *out, char *err, size_t err_size);

struct ostel_hog_meminfo {
    uint64_t total_bytes; /* MemTotal */
    uint64_t avail_bytes; /* MemAvailable */
    bool valid;           /* both are known */
};
/*
 * Turns the spec's memory request into bytes and checks that it fits: at most MemAvailable minus
 * reserve_bytes. mi may be invalid (a platform without the numbers): then a percentage is an error
 * and an absolute size is accepted unchecked (*checked = false). Returns 0 or OSTEL_ERR with a
 * message in err, e.g. "mem:30G asks 30.0 GiB but only 22.1 GiB is available (keeping 256 MiB
 * spare)".
 */
int ostel_hog_resolve_mem(const struct ostel_hog_spec *spec, const struct ostel_hog_meminfo *mi,
                          uint64_t reserve_bytes, uint64_t *bytes, bool *checked, char *err,
                          size_t err_size);

/* This machine's MemTotal/MemAvailable through platform.h (valid=false where it has none). */
void ostel_hog_read_meminfo(struct ostel_hog_meminfo *out);

struct ostel_hog_params {
    uint64_t duration_ns;   /* 0 = until SIGTERM/SIGINT/SIGHUP */
    uint64_t rate_pages_s;  /* pages re-written per second; 0 = all pages once per cycle */
    uint64_t cycle_ns;      /* the cycle when rate_pages_s is 0; 0 = OSTEL_HOG_CYCLE_S */
    const char *ready_file; /* written (atomically) once the load is fully in place; removed at
                               exit. NULL = none */
};

/*
 * Runs the load until a signal or the duration ends, printing "hog: ..." status lines to `out`
 * ("hog: ready rss=… MiB" once every page is touched). mem_bytes comes from ostel_hog_resolve_mem
 * (0 = no memory load). Returns 0 on a clean stop, OSTEL_ERR after printing an error.
 */
int ostel_hog_run(const struct ostel_hog_spec *spec, uint64_t mem_bytes,
                  const struct ostel_hog_params *params, FILE *out);

#endif
