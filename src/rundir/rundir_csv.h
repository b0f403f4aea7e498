/*
 * rundir_csv: what the run directory's CSV files share (rundir_gpu_metrics.c, rundir_requests.c,
 * the validator's numbers): a cell's number as ostel writes them, one RFC 4180 cell of a file whose
 * text cells may be quoted, and for a file described by a column table (gpu_metrics.csv,
 * requests.csv, server_metrics.csv) its writer and its pull reader, typed by the table. Pure.
 */
#ifndef OSTEL_RUNDIR_CSV_H
#define OSTEL_RUNDIR_CSV_H

#include "util/util.h"

#include <stdbool.h>

/* A cell's number ("-12.345", "1e3"): true with *out set when the whole cell is one finite number
 * (a decimal of at most 15 digits without strtod, the same value; anything else through strtod). */
bool ostel_rundir_csv_number(struct ostel_str s, double *out);
/* The same for a cell of at most max_len - 1 bytes (a longer one is not a number; max_len <= 400):
 * the validator's cells, which are shorter than 64. */
bool ostel_rundir_csv_number_within(struct ostel_str s, size_t max_len, double *out);

/*
 * One cell of a record from *p (before end): a quoted cell ("..." with "" for a quote; commas and
 * line ends inside it are the cell's) or a plain one (up to the next comma or line end, a '\r'
 * before the '\n' dropped). Its text goes to cell (reset first; a '\0' after it); *last is set when
 * it ended the record, *p moves past it and its separator, *lines counts the '\n' passed. Returns
 * false for an unterminated quote, bytes after a closing quote, or a cell beyond max_len bytes.
 */
bool ostel_rundir_csv_cell(const char **p, const char *end, size_t max_len, struct ostel_buf *cell,
                           bool *last, size_t *lines);

/* ---- a file described by a column table ---- */

/* What a column holds: REAL, INTEGER (a whole number within ±2^53), TEXT (ostel's own names,
 * written as they are), QUOTED (any text: written quoted, see ostel_csvrow_quoted). */
enum ostel_rundir_csv_kind {
    OSTEL_RUNDIR_CSV_REAL,
    OSTEL_RUNDIR_CSV_INTEGER,
    OSTEL_RUNDIR_CSV_TEXT,
    OSTEL_RUNDIR_CSV_QUOTED,
};
/* One column of a table (rundir_requests.h's and rundir_gpu_metrics.c's X-macros fill them). */
struct ostel_rundir_csv_col {
    const char *name;
    const char *unit;
    int decimals; /* REAL: digits after the point */
    enum ostel_rundir_csv_kind kind;
    bool required; /* a header without it is not this file's */
};
/* The store's SQL type of a kind: "REAL", "INTEGER" or "TEXT". Static. */
const char *ostel_rundir_csv_sql(enum ostel_rundir_csv_kind kind);

#define OSTEL_RUNDIR_CSV_MAX_TABLE 32   /* columns a table may have */
#define OSTEL_RUNDIR_CSV_MAX_COLS 64    /* header cells a reader accepts */
#define OSTEL_RUNDIR_CSV_MAX_CELL 65536 /* bytes of one cell */

/* The header line (the table's names, '\n'): its length, 0 when out is too small. */
size_t ostel_rundir_csv_format_header(const struct ostel_rundir_csv_col *table, size_t ntable,
                                      char *out, size_t out_size);
/* One row (with '\n'): v[c] for a number column (NAN: an empty cell), text[c] for a text column
 * (NULL or "": an empty cell). Its length, 0 when out is too small. */
size_t ostel_rundir_csv_format_row(const struct ostel_rundir_csv_col *table, size_t ntable,
                                   const double *v, const char *const *text, char *out,
                                   size_t out_size);

/*
 * The pull reader. _init maps the header onto the table by name (a BOM skipped; an unknown column
 * is skipped, a missing one empty in every row): 0, or OSTEL_ERR with "line 1: ..." in err (no
 * header, a malformed one, more than 64 columns, a known column twice, a required one missing).
 * _next reads the next record (blank lines skipped) into v[] (NAN where empty or missing) and
 * text[] (NULL where empty or missing; owned by the scan until the next call; a number cell's
 * blanks around it are not its, one of blanks only is empty): 1, 0 at the end,
 * OSTEL_ERR with "line N: ..." (N the record's first line) for a malformed quote, a cell over 64
 * KiB, a number column's cell that is not a finite number (INTEGER: a whole one within ±2^53), a
 * cell count other than the header's. data is borrowed and must outlive the scan. Free with
 * ostel_rundir_csv_scan_free() always (also after _init failed).
 */
struct ostel_rundir_csv_scan {
    const struct ostel_rundir_csv_col *table;
    size_t ntable;
    size_t ncols;                                 /* the header's cells */
    int col[OSTEL_RUNDIR_CSV_MAX_COLS];           /* per file column: its table column, or -1 */
    int at[OSTEL_RUNDIR_CSV_MAX_TABLE];           /* per table column: its file column, or -1 */
    double v[OSTEL_RUNDIR_CSV_MAX_TABLE];         /* the last row's numbers */
    const char *text[OSTEL_RUNDIR_CSV_MAX_TABLE]; /* the last row's texts */
    size_t record_line;                           /* the last row's first line */
    /* private */
    const char *p, *end;
    size_t lineno;
    struct ostel_buf cell, texts;
};
int ostel_rundir_csv_scan_init(struct ostel_rundir_csv_scan *sc,
                               const struct ostel_rundir_csv_col *table, size_t ntable,
                               const char *data, size_t len, char *err, size_t err_size);
int ostel_rundir_csv_scan_next(struct ostel_rundir_csv_scan *sc, char *err, size_t err_size);
void ostel_rundir_csv_scan_free(struct ostel_rundir_csv_scan *sc);

#endif
