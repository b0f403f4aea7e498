/*
 * logparse_internal: what the log parser's files share (line cleaning, number scanning, the parse
 * state). Not part of the module's interface: include only from src/llama/logparse*.c.
 */
#ifndef OSTEL_LOGPARSE_INTERNAL_H
#define OSTEL_LOGPARSE_INTERNAL_H

#include "llama/logparse.h"
#include "util/util.h"

/* Longer lines are parsed on their first LP_LINE_MAX-1 bytes (no fact llama.cpp prints is longer).
 */
#define LP_LINE_MAX 4096
#define LP_BENCH_MAX_COLS 64
#define LP_JSON_OBJ_MAX (64 * 1024)

/* Raises the facts of out not yet found from one raw log line (logparse_header.c). */
void ostel_logparse_header_extra_line(struct ostel_str line, struct ostel_log_header_extra *out);

struct lp_state {
    struct ostel_log_result *r;

    /* model loads */
    struct ostel_log_model
        saved_model; /* the last full load, kept when a later load is vocab-only */
    bool have_saved_model;

    /* timing blocks */
    int server_block_lines; /* > 0: un-prefixed timing lines belong to a "slot print_timing" block
                             */

    /* buffers: index where the current context's kv/compute/output entries may be replaced */
    bool context_open;

    /* llama-bench */
    char md_cols[LP_BENCH_MAX_COLS][24];
    int md_ncols;
    char csv_cols[LP_BENCH_MAX_COLS][32];
    int csv_ncols;
    struct ostel_buf json_obj;
    bool in_json_obj;
};

/* Skips spaces and tabs. */
const char *ostel_logparse_skip_ws(const char *p);
/* True when s starts with prefix. */
bool ostel_logparse_starts(const char *s, const char *prefix);
/*
 * Scans a number at p (after blanks): [+-]digits[(.|,)digits][e[+-]digits], "inf", "nan". A ','
 * counts as a decimal separator only between digits. On success sets *out, *end (just past it) and
 * *sep ('.' or ',' when a fraction was read; unchanged otherwise) and returns true. A number that
 * runs to the end of the string may have been cut: *complete is false then.
 */
bool ostel_logparse_scan_num(const char *p, double *out, const char **end, char *sep,
                             bool *complete);
/* Scans a number into v (NaN is refused); notes the decimal separator. Returns the end or NULL. */
const char *ostel_logparse_scan_val(struct lp_state *st, const char *p, struct ostel_logval *v);
/* Copies at most n-1 bytes of [p, p+len) into out, trimmed; always NUL-terminates. */
void ostel_logparse_copy_trim(char *out, size_t n, const char *p, size_t len);

static inline void lp_set(struct ostel_logval *v, double x)
{
    v->value = x;
    v->valid = true;
}

/* llama-bench output (logparse_bench.c). Returns true when the line was a bench line. */
bool ostel_logparse_bench_line(struct lp_state *st, const char *text);
void ostel_logparse_bench_state_free(struct lp_state *st);

#endif
