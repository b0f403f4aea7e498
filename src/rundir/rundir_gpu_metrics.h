/*
 * rundir_gpu_metrics: gpu_metrics.csv's contract as code (docs/run-directory.md, docs/gpu.md). One
 * column table, OSTEL_GPU_METRICS_COLUMNS, from which everything else comes: the GPU fields' enum
 * (gpu/ fills them), the typed row, the writer (header and rows, without allocating: the GPU
 * sampler's loop), the reader's rule per column, and the docs' column lists (checked by
 * test_rundir_gpu_metrics). One reader too, a pull scanner over rundir_csv.c's: the header is
 * mapped onto the table by name (columns in any order; an unknown column is skipped, a missing one
 * is invalid in every row; ts and gpu must be there), and each row becomes a typed row with an
 * empty cell invalid, never 0. Its users: the runner's rewrite with phases (run/gpu_finalize.c),
 * the report's GPU series (report/report_load.c) and `ostel serve`'s per-level GPU figures
 * (serve/serve_level_tel.c).
 *
 * Long format: one row per GPU per sample. Pure: nothing here prints or reads a file.
 */
#ifndef OSTEL_RUNDIR_GPU_METRICS_H
#define OSTEL_RUNDIR_GPU_METRICS_H

#include "rundir/rundir_csv.h"
#include "rundir/rundir_metrics.h"
#include "util/util.h"

#include <math.h>

/*
 * X(ID, name, unit, decimals, rule), in the file's column order; new columns are appended.
 *   ID        the column is OSTEL_GPU_COL_<ID>; a field (after phase) is also OSTEL_GPU_<ID>
 *   name      its header cell
 *   unit      as docs/gpu.md's table gives it
 *   decimals  digits the writer puts after the point
 *   rule      what the reader checks in a cell: TS (a number, not empty, >= 0), GPU (not empty, an
 *             index from 0 to OSTEL_GPU_MAX_DEVICES - 1), PHASE (a phase name; an unknown one is
 *             no phase), NONNEG (a number >= 0), NUMBER
 * The key columns come first, then the fields (OSTEL_GPU_METRICS_FIELDS), which gpu/ reads. No SQL
 * type: the store keeps summary.json's "gpu" object (run/gpu_aggregate.c's aggregation), not the
 * rows.
 */
#define OSTEL_GPU_METRICS_KEYS(X)                                                                  \
    X(TS, "ts", "s", 3, TS)                                                                        \
    X(GPU, "gpu", "index", 0, GPU)                                                                 \
    X(PHASE, "phase", "text", 0, PHASE)
#define OSTEL_GPU_METRICS_FIELDS(X)                                                                \
    X(MEM_USED_MB, "mem_used_mb", "MiB", 1, NONNEG)                                                \
    X(MEM_TOTAL_MB, "mem_total_mb", "MiB", 1, NONNEG)                                              \
    X(PROC_MEM_MB, "proc_mem_mb", "MiB", 1, NONNEG)                                                \
    X(UTIL_PCT, "util_pct", "%", 0, NONNEG)                                                        \
    X(MEM_UTIL_PCT, "mem_util_pct", "%", 0, NONNEG)                                                \
    X(POWER_W, "power_w", "W", 2, NONNEG)                                                          \
    X(POWER_INSTANT_W, "power_instant_w", "W", 2, NONNEG)                                          \
    X(ENERGY_J, "energy_j", "J", 3, NONNEG)                                                        \
    X(SM_CLOCK_MHZ, "sm_clock_mhz", "MHz", 0, NONNEG)                                              \
    X(MEM_CLOCK_MHZ, "mem_clock_mhz", "MHz", 0, NONNEG)                                            \
    X(TEMP_C, "temp_c", "°C", 0, NUMBER)                                                           \
    X(CLOCK_EVENTS, "clock_events", "bit mask", 0, NONNEG)
#define OSTEL_GPU_METRICS_COLUMNS(X) OSTEL_GPU_METRICS_KEYS(X) OSTEL_GPU_METRICS_FIELDS(X)

#define OSTEL_GPU_MAX_DEVICES 64 /* the GPU indexes a file may hold: 0 to 63 */

enum ostel_gpu_metrics_col {
#define OSTEL_GPU_METRICS_ENUM_(id, name, unit, dec, rule) OSTEL_GPU_COL_##id,
    OSTEL_GPU_METRICS_COLUMNS(OSTEL_GPU_METRICS_ENUM_)
#undef OSTEL_GPU_METRICS_ENUM_
        OSTEL_GPU_COL_COUNT
};

/* The fields of a GPU sample, in the file's order after phase (gpu/gpu.h says where each is read):
 * field f is column OSTEL_GPU_COL_FIRST_FIELD + f. */
enum ostel_gpu_field {
#define OSTEL_GPU_FIELD_ENUM_(id, name, unit, dec, rule) OSTEL_GPU_##id,
    OSTEL_GPU_METRICS_FIELDS(OSTEL_GPU_FIELD_ENUM_)
#undef OSTEL_GPU_FIELD_ENUM_
        OSTEL_GPU_FIELD_COUNT
};
#define OSTEL_GPU_COL_FIRST_FIELD OSTEL_GPU_COL_MEM_USED_MB

/* What the reader checks in a column's cells (the table's rule). */
enum ostel_gpu_metrics_rule {
    OSTEL_GPU_METRICS_RULE_TS,
    OSTEL_GPU_METRICS_RULE_GPU,
    OSTEL_GPU_METRICS_RULE_PHASE,
    OSTEL_GPU_METRICS_RULE_NONNEG,
    OSTEL_GPU_METRICS_RULE_NUMBER,
};

/* One row of the table, for code that walks the columns. */
struct ostel_gpu_metrics_col_info {
    const char *name;
    const char *unit;
    int decimals;
    enum ostel_gpu_metrics_rule rule;
};
/* The column's row of the table (c < OSTEL_GPU_COL_COUNT). Static. */
const struct ostel_gpu_metrics_col_info *ostel_gpu_metrics_col(enum ostel_gpu_metrics_col c);
/* The column of that header name, or -1 when the table has none. */
int ostel_gpu_metrics_col_find(struct ostel_str name);
/* Column name of a field ("mem_used_mb"); "" out of range. Static string. */
const char *ostel_gpu_field_name(enum ostel_gpu_field f);

/* One row: one GPU at one sample. */
struct ostel_gpu_row {
    double ts; /* seconds since the epoch */
    unsigned gpu;
    enum ostel_phase phase;
    double v[OSTEL_GPU_FIELD_COUNT];
    uint32_t valid; /* bit (1u << ostel_gpu_field) set when the cell has a value */
};
/* The field's value, or NAN when its cell was empty. */
static inline double ostel_gpu_row_get(const struct ostel_gpu_row *r, enum ostel_gpu_field f)
{
    return (r->valid >> f) & 1u ? r->v[f] : (double)NAN;
}

/* The header line with '\n'; returns its length, 0 when out is too small (512 bytes suffice). */
size_t ostel_gpu_metrics_format_header(char *out, size_t out_size);
/* One row with '\n' (an invalid field an empty cell); returns its length, 0 when out is too
 * small (512 bytes suffice for any row the reader accepts: its values are within ±1e15). */
size_t ostel_gpu_metrics_format_row(const struct ostel_gpu_row *r, char *out, size_t out_size);

/* ---- reading ---- */

/*
 * The pull scanner, rundir_csv.c's reader over this table (RFC 4180 cells, a quoted one's quotes
 * undone; blank lines skipped). _init reads the header (a leading UTF-8 BOM skipped) and maps it
 * by name: 0, or OSTEL_ERR with "line 1: ..." in err (no header, more than 64 columns, a known
 * column twice, no ts or no gpu column; a header malformed before naming both is "not a GPU
 * metrics header"). Each _next reads the next row into *row: 1 for a row, 0 at the end, OSTEL_ERR
 * with "line N: ..." in err (a cell count other than the header's, a cut last row among them; a
 * malformed quote or a cell over 64 KiB; an empty ts; a GPU index missing or out of range; a known
 * column's cell that is not a number within ±1e15, or negative where the table says NONNEG). Cells
 * are trimmed of blanks before the table's rule. data is borrowed and must outlive the scan. Free
 * with ostel_gpu_metrics_scan_free() always (also after _init failed).
 */
struct ostel_gpu_metrics_scan {
    struct ostel_rundir_csv_scan csv; /* its col[] and at[] are OSTEL_GPU_COL_* */
};
int ostel_gpu_metrics_scan_init(struct ostel_gpu_metrics_scan *sc, const char *data, size_t len,
                                char *err, size_t err_size);
int ostel_gpu_metrics_scan_next(struct ostel_gpu_metrics_scan *sc, struct ostel_gpu_row *row,
                                char *err, size_t err_size);
void ostel_gpu_metrics_scan_free(struct ostel_gpu_metrics_scan *sc);

struct ostel_gpu_table {
    struct ostel_gpu_row *rows; /* owned */
    size_t n;
};
/* A whole gpu_metrics.csv through the scanner. Returns 0, or OSTEL_ERR with "line N: ..." in err
 * (nothing printed; out->rows is NULL then). Free with ostel_gpu_metrics_table_free() always. */
int ostel_gpu_metrics_parse(const char *data, size_t len, struct ostel_gpu_table *out, char *err,
                            size_t err_size);
void ostel_gpu_metrics_table_free(struct ostel_gpu_table *t);

#endif
