/*
 * metrics: the metrics.csv format (docs/run-directory.md) — its columns, one row as a struct with a
 * validity bit per column, formatting a row without allocation (the sampler's hot path), and
 * parsing a whole file back (untrusted input: report, db import, the runner's own post-processing).
 */
#ifndef OSTEL_METRICS_H
#define OSTEL_METRICS_H

#include "util/util.h"

enum ostel_metric_col {
    OSTEL_COL_TS,
    OSTEL_COL_RSS_MB,
    OSTEL_COL_CPU_PCT,
    OSTEL_COL_VM_PRESSURE_FLAG,
    OSTEL_COL_AVAIL_MEM_LEVEL,
    OSTEL_COL_PAGEINS_DELTA,
    OSTEL_COL_PAGEOUTS_DELTA,
    OSTEL_COL_PHASE,
    OSTEL_COL_RSS_ANON_MB,
    OSTEL_COL_RSS_FILE_MB,
    OSTEL_COL_SWAP_MB,
    OSTEL_COL_MINFLT_DELTA,
    OSTEL_COL_MAJFLT_DELTA,
    OSTEL_COL_THREADS,
    OSTEL_COL_SYS_AVAIL_MB,
    OSTEL_COL_SWAPIN_DELTA,
    OSTEL_COL_SWAPOUT_DELTA,
    OSTEL_COL_PSI_SOME_PCT,
    OSTEL_COL_PSI_FULL_PCT,
    OSTEL_COL_CGROUP_MEM_MB, /* the child's memory cgroup's usage; appended: older files lack it */
    OSTEL_COL_FOOTPRINT_MB,  /* macOS phys_footprint of the tree; appended */
    OSTEL_COL_FOOTPRINT_PEAK_MB, /* macOS lifetime max phys_footprint, summed; appended */
    OSTEL_COL_COUNT
};

enum ostel_phase {
    OSTEL_PHASE_NONE = 0, /* unknown: empty cell */
    OSTEL_PHASE_LOAD,
    OSTEL_PHASE_PROMPT,
    OSTEL_PHASE_GENERATE,
    OSTEL_PHASE_TEARDOWN,
    OSTEL_PHASE_COUNT
};

/* One sample row. v[] holds every numeric column (OSTEL_COL_PHASE's slot is unused). */
struct ostel_metrics_row {
    double v[OSTEL_COL_COUNT];
    uint32_t valid; /* bit (1u << col) set when the cell has a value */
    enum ostel_phase phase;
};

static inline bool ostel_metrics_has(const struct ostel_metrics_row *r, enum ostel_metric_col c)
{
    return (r->valid >> c) & 1u;
}
static inline void ostel_metrics_set(struct ostel_metrics_row *r, enum ostel_metric_col c, double v)
{
    r->v[c] = v;
    r->valid |= 1u << c;
}

/* Column name ("rss_mb"), and phase name ("load"; "" for NONE). Static strings. */
const char *ostel_metrics_col_name(enum ostel_metric_col c);
const char *ostel_phase_name(enum ostel_phase p);
/* Phase from its name; OSTEL_PHASE_NONE for "" or an unknown name. */
enum ostel_phase ostel_phase_from_name(struct ostel_str s);

/* Writes the header line (with '\n') into out; returns its length, or 0 when out is too small. */
size_t ostel_metrics_format_header(char *out, size_t out_size);
/* Formats one row (with '\n') into out without allocating; returns its length, 0 when too small.
 * 512 bytes always suffice. */
size_t ostel_metrics_format_row(const struct ostel_metrics_row *r, char *out, size_t out_size);

struct ostel_metrics_table {
    struct ostel_metrics_row *rows; /* owned */
    size_t n;
};
/*
 * Parses a whole metrics.csv held in memory. Columns are found by header name (the parser maps each
 * column of the file to an ostel column, or to none: that column's cells are skipped), so files
 * with extra or reordered columns (newer ostel, the original harness's seven columns only) load
 * too; a header without 'ts' is refused, as is a row without a timestamp. Returns 0, or OSTEL_ERR
 * with a message "line N: ..." in err (nothing printed). The caller frees with
 * ostel_metrics_table_free().
 */
int ostel_metrics_parse(const char *data, size_t len, struct ostel_metrics_table *out, char *err,
                        size_t err_size);
void ostel_metrics_table_free(struct ostel_metrics_table *t);

#endif
