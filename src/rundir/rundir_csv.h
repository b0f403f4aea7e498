/*
 * rundir_csv: what the run directory's CSV readers share (rundir_gpu_metrics.c,
 * rundir_requests.c): a cell's number as ostel writes them, and one RFC 4180 cell of a file whose
 * text cells may be quoted. Pure.
 */
#ifndef OSTEL_RUNDIR_CSV_H
#define OSTEL_RUNDIR_CSV_H

#include "util/util.h"

#include <stdbool.h>

/* A cell's number ("-12.345", "1e3"): true with *out set when the whole cell is one finite number
 * (a decimal of at most 15 digits without strtod, the same value; anything else through strtod). */
bool ostel_rundir_csv_number(struct ostel_str s, double *out);

/*
 * One cell of a record from *p (before end): a quoted cell ("..." with "" for a quote; commas and
 * line ends inside it are the cell's) or a plain one (up to the next comma or line end, a '\r'
 * before the '\n' dropped). Its text goes to cell (reset first; a '\0' after it); *last is set when
 * it ended the record, *p moves past it and its separator, *lines counts the '\n' passed. Returns
 * false for an unterminated quote, bytes after a closing quote, or a cell beyond max_len bytes.
 */
bool ostel_rundir_csv_cell(const char **p, const char *end, size_t max_len, struct ostel_buf *cell,
                           bool *last, size_t *lines);

#endif
