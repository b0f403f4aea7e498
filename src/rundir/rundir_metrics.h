/*
 * rundir_metrics: metrics.csv's contract as code (docs/run-directory.md). One column table,
 * OSTEL_METRICS_COLUMNS, from which everything else comes: the column enum and the typed row, the
 * writer (header and rows, without allocating: the sampler's hot path), the validator's rule per
 * column (rundir_validate.c), the store's typed SQL columns (store/), the sampler's mapping from
 * platform metrics (run/sampler.c), the report's series, and the docs' column list (checked by
 * test_rundir_metrics). One reader too: the header is mapped onto the table by name, so files
 * with fewer, older, reordered or extra columns load (an unknown column is skipped, a missing one
 * is invalid in every row), and a row's cells become a typed row with an empty cell invalid,
 * never 0.
 */
#ifndef OSTEL_RUNDIR_METRICS_H
#define OSTEL_RUNDIR_METRICS_H

#include "util/util.h"

#include <math.h>

/*
 * X(ID, name, unit, decimals, sql, rule, src), in the file's column order; new columns are
 * appended (older files lack them and readers take them as they are).
 *   ID        the column is OSTEL_COL_<ID>
 *   name      its header cell
 *   unit      as docs/run-directory.md's table starts its unit cell
 *   decimals  digits the writer puts after the point
 *   sql       the store's typed column type in table samples, or NULL: the cell is kept as text in
 *             samples.extra (columns added after the store's schema)
 *   rule      what the validator checks (rundir_validate.c): TS (a number, not empty, >= 0), MEM
 *             (MiB: >= 0 and within the RAM bound), NONNEG (>= 0), NUMBER, PHASE (a phase name)
 *   src       the platform metric that fills it (OSTEL_PLATFORM_METRIC_<src>, run/sampler.c);
 *             NONE for phase, which the runner fills when the run ends
 */
#define OSTEL_METRICS_COLUMNS(X)                                                                   \
    X(TS, "ts", "s", 3, "REAL", TS, TS)                                                            \
    X(RSS_MB, "rss_mb", "MiB", 2, "REAL", MEM, RSS_MIB)                                            \
    X(CPU_PCT, "cpu_pct", "%", 1, "REAL", NONNEG, CPU_PCT)                                         \
    X(VM_PRESSURE_FLAG, "vm_pressure_flag", "1, 2, 4", 0, "INTEGER", NUMBER, VM_PRESSURE_FLAG)     \
    X(AVAIL_MEM_LEVEL, "avail_mem_level", "%", 2, "REAL", NUMBER, AVAIL_MEM_LEVEL)                 \
    X(PAGEINS_DELTA, "pageins_delta", "pages", 0, "INTEGER", NUMBER, PAGEINS_DELTA)                \
    X(PAGEOUTS_DELTA, "pageouts_delta", "pages", 0, "INTEGER", NUMBER, PAGEOUTS_DELTA)             \
    X(PHASE, "phase", "text", 0, "TEXT", PHASE, NONE)                                              \
    X(RSS_ANON_MB, "rss_anon_mb", "MiB", 2, "REAL", MEM, RSS_ANON_MIB)                             \
    X(RSS_FILE_MB, "rss_file_mb", "MiB", 2, "REAL", MEM, RSS_FILE_MIB)                             \
    X(SWAP_MB, "swap_mb", "MiB", 2, "REAL", MEM, SWAP_MIB)                                         \
    X(MINFLT_DELTA, "minflt_delta", "faults", 0, "INTEGER", NUMBER, MINFLT_DELTA)                  \
    X(MAJFLT_DELTA, "majflt_delta", "faults", 0, "INTEGER", NUMBER, MAJFLT_DELTA)                  \
    X(THREADS, "threads", "count", 0, "INTEGER", NUMBER, THREADS)                                  \
    X(SYS_AVAIL_MB, "sys_avail_mb", "MiB", 2, "REAL", MEM, SYS_AVAIL_MIB)                          \
    X(SWAPIN_DELTA, "swapin_delta", "pages", 0, "INTEGER", NUMBER, SWAPIN_DELTA)                   \
    X(SWAPOUT_DELTA, "swapout_delta", "pages", 0, "INTEGER", NUMBER, SWAPOUT_DELTA)                \
    X(PSI_SOME_PCT, "psi_some_pct", "%", 2, "REAL", NUMBER, PSI_SOME_PCT)                          \
    X(PSI_FULL_PCT, "psi_full_pct", "%", 2, "REAL", NUMBER, PSI_FULL_PCT)                          \
    X(CGROUP_MEM_MB, "cgroup_mem_mb", "MiB", 2, NULL, MEM, CGROUP_MEM_MIB)                         \
    X(FOOTPRINT_MB, "footprint_mb", "MiB", 2, NULL, MEM, FOOTPRINT_MIB)                            \
    X(FOOTPRINT_PEAK_MB, "footprint_peak_mb", "MiB", 2, NULL, MEM, FOOTPRINT_PEAK_MIB)

/* The column `ostel serve` appends after all of the table's (serve/serve.c): the load level a
 * sample fell in. Not a column of the runner's writer; readers skip it as an unknown column. */
#define OSTEL_METRICS_LEVEL_COL "level"

enum ostel_metric_col {
#define OSTEL_METRICS_ENUM_(id, name, unit, dec, sql, rule, src) OSTEL_COL_##id,
    OSTEL_METRICS_COLUMNS(OSTEL_METRICS_ENUM_)
#undef OSTEL_METRICS_ENUM_
        OSTEL_COL_COUNT
};

/* What the validator checks in a column's cells (the table's rule). */
enum ostel_metrics_rule {
    OSTEL_METRICS_RULE_TS,
    OSTEL_METRICS_RULE_MEM,
    OSTEL_METRICS_RULE_NONNEG,
    OSTEL_METRICS_RULE_NUMBER,
    OSTEL_METRICS_RULE_PHASE,
};

/* One row of the table, for code that walks the columns rather than naming one. */
struct ostel_metrics_col_info {
    const char *name;
    const char *unit;
    int decimals;
    const char *sql; /* NULL: kept in the store's samples.extra */
    enum ostel_metrics_rule rule;
};
/* The column's row of the table (c < OSTEL_COL_COUNT). Static. */
const struct ostel_metrics_col_info *ostel_metrics_col(enum ostel_metric_col c);

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
/* The column's value, or NAN when its cell was empty. */
static inline double ostel_metrics_get(const struct ostel_metrics_row *r, enum ostel_metric_col c)
{
    return ostel_metrics_has(r, c) ? r->v[c] : (double)NAN;
}

/* Column name ("rss_mb"), and phase name ("load"; "" for NONE). Static strings. */
const char *ostel_metrics_col_name(enum ostel_metric_col c);
const char *ostel_metrics_phase_name(enum ostel_phase p);
/* Phase from its name; OSTEL_PHASE_NONE for "" or an unknown name. */
enum ostel_phase ostel_metrics_phase_from_name(struct ostel_str s);
/* The column of that header name, or -1 when the table has none. */
int ostel_metrics_col_find(struct ostel_str name);

/* Writes the header line (with '\n') into out; returns its length, or 0 when out is too small. */
size_t ostel_metrics_format_header(char *out, size_t out_size);
/* Formats one row (with '\n') into out without allocating; returns its length, 0 when too small.
 * 512 bytes always suffice. */
size_t ostel_metrics_format_row(const struct ostel_metrics_row *r, char *out, size_t out_size);

/* ---- reading: one mapping of a header, one typed row per line ---- */

#define OSTEL_METRICS_MAX_COLS 256 /* header cells a reader accepts (the validator's bound) */

/* A file's header mapped onto the table by name. */
struct ostel_metrics_header {
    size_t ncols;                    /* the header's cells */
    int col[OSTEL_METRICS_MAX_COLS]; /* per file column: its OSTEL_COL_*, or -1 (unknown) */
    int at[OSTEL_COL_COUNT];         /* per table column: its file column, or -1 (missing) */
};
/* Maps the header's cells (ncols <= OSTEL_METRICS_MAX_COLS; the first cell of a name wins). */
void ostel_metrics_header_map(struct ostel_metrics_header *h, const struct ostel_str *cells,
                              size_t ncols);
/* One data row as the validator hands it (ostel_rundir_metrics_sink: its cells and their values,
 * NAN where empty) as a typed row: every known column's value, valid where its cell was not
 * empty; the phase from its name. */
void ostel_metrics_row_from_cells(const struct ostel_metrics_header *h,
                                  const struct ostel_str *cells, const double *vals,
                                  struct ostel_metrics_row *out);

struct ostel_metrics_table {
    struct ostel_metrics_row *rows; /* owned */
    size_t n;
};
/*
 * Parses a whole metrics.csv held in memory (a leading BOM skipped) through the validator
 * (rundir_validate.h: every cell of a known column checked by its rule, so one malformed number
 * is one error), the header mapped by name. Returns 0, or OSTEL_ERR with "line N: ..." in err
 * (nothing printed); out->rows is NULL after an error. The caller frees with
 * ostel_metrics_table_free().
 */
int ostel_metrics_parse(const char *data, size_t len, struct ostel_metrics_table *out, char *err,
                        size_t err_size);
void ostel_metrics_table_free(struct ostel_metrics_table *t);

#endif
