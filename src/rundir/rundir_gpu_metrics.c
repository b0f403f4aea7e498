/*
 * rundir_gpu_metrics: gpu_metrics.csv's column table, its writer and its one reader (see
 * rundir_gpu_metrics.h and docs/run-directory.md).
 */
#include "rundir/rundir_gpu_metrics.h"

#include "rundir/rundir_csv.h"
#include "util/csvrow.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ostel_gpu_metrics_col_info cols[OSTEL_GPU_COL_COUNT] = {
#define COL_INFO(id, name, unit, dec, rule)                                                        \
    [OSTEL_GPU_COL_##id] = {name, unit, dec, OSTEL_GPU_METRICS_RULE_##rule},
    OSTEL_GPU_METRICS_COLUMNS(COL_INFO)
#undef COL_INFO
};

_Static_assert(OSTEL_GPU_COL_FIRST_FIELD + OSTEL_GPU_FIELD_COUNT == OSTEL_GPU_COL_COUNT,
               "the fields are the columns after ts, gpu and phase");
_Static_assert(OSTEL_GPU_FIELD_COUNT <= 32, "a row's valid bits are a uint32_t");

#define CELL_ABS_MAX 1e15 /* beyond it a cell is corrupt (and a row could outgrow 512 bytes) */

const struct ostel_gpu_metrics_col_info *ostel_gpu_metrics_col(enum ostel_gpu_metrics_col c)
{
    OSTEL_ASSERT((unsigned)c < OSTEL_GPU_COL_COUNT);
    return &cols[c];
}

int ostel_gpu_metrics_col_find(struct ostel_str name)
{
    for (int c = 0; c < OSTEL_GPU_COL_COUNT; c++)
        if (ostel_str_eq(name, cols[c].name))
            return c;
    return -1;
}

const char *ostel_gpu_field_name(enum ostel_gpu_field f)
{
    return (unsigned)f < OSTEL_GPU_FIELD_COUNT ? cols[OSTEL_GPU_COL_FIRST_FIELD + f].name : "";
}

size_t ostel_gpu_metrics_format_header(char *out, size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    for (int c = 0; c < OSTEL_GPU_COL_COUNT; c++)
        ostel_csvrow_text(&w, cols[c].name);
    return ostel_csvrow_end(&w);
}

size_t ostel_gpu_metrics_format_row(const struct ostel_gpu_row *r, char *out, size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    ostel_csvrow_num(&w, r->ts, cols[OSTEL_GPU_COL_TS].decimals);
    ostel_csvrow_num(&w, r->gpu, cols[OSTEL_GPU_COL_GPU].decimals);
    ostel_csvrow_text(&w, ostel_metrics_phase_name(r->phase));
    for (int f = 0; f < OSTEL_GPU_FIELD_COUNT; f++) /* NAN when the cell has no value: empty */
        ostel_csvrow_num(&w, (r->valid >> f) & 1u ? r->v[f] : NAN,
                         cols[OSTEL_GPU_COL_FIRST_FIELD + f].decimals);
    return ostel_csvrow_end(&w);
}

/* ---- reading ---- */

static int fail(char *err, size_t err_size, size_t line, const char *fmt, ...) OSTEL_PRINTF(4, 5);
static int fail(char *err, size_t err_size, size_t line, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err && err_size)
        snprintf(err, err_size, "line %zu: %s", line, msg);
    return OSTEL_ERR;
}

/* The next comma-separated cell of *rest, trimmed; false after the last one. */
static bool next_cell(struct ostel_str *rest, bool *more, struct ostel_str *cell)
{
    if (!*more)
        return false;
    const char *comma = memchr(rest->p, ',', rest->n);
    size_t n = comma ? (size_t)(comma - rest->p) : rest->n;
    *cell = ostel_str_trim(ostel_str_make(rest->p, n));
    *more = comma != NULL;
    if (comma)
        *rest = ostel_str_make(comma + 1, rest->n - n - 1);
    return true;
}

int ostel_gpu_metrics_scan_init(struct ostel_gpu_metrics_scan *sc, const char *data, size_t len,
                                char *err, size_t err_size)
{
    sc->ncols = 0;
    sc->lineno = 1;
    sc->rest = ostel_str_make(data, 0);
    for (int c = 0; c < OSTEL_GPU_COL_COUNT; c++)
        sc->at[c] = -1;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) { /* a spreadsheet's BOM */
        data += 3;
        len -= 3;
    }
    struct ostel_str rest = ostel_str_make(data, len), line, cell;
    if (!ostel_str_next_line(&rest, &line) || ostel_str_trim(line).n == 0)
        return fail(err, err_size, 1, "no header");
    bool more = true;
    while (next_cell(&line, &more, &cell)) {
        if (sc->ncols == OSTEL_GPU_METRICS_MAX_COLS)
            return fail(err, err_size, 1, "more than %d columns", OSTEL_GPU_METRICS_MAX_COLS);
        int c = ostel_gpu_metrics_col_find(cell);
        if (c >= 0 && sc->at[c] >= 0)
            return fail(err, err_size, 1, "column '%s' appears twice", cols[c].name);
        sc->col[sc->ncols] = c;
        if (c >= 0)
            sc->at[c] = (int)sc->ncols;
        sc->ncols++;
    }
    if (sc->at[OSTEL_GPU_COL_TS] < 0 || sc->at[OSTEL_GPU_COL_GPU] < 0)
        return fail(err, err_size, 1, "not a GPU metrics header (needs the columns ts and gpu)");
    sc->rest = rest;
    return 0;
}

int ostel_gpu_metrics_scan_next(struct ostel_gpu_metrics_scan *sc, struct ostel_gpu_row *row,
                                char *err, size_t err_size)
{
    struct ostel_str line, cell;
    for (;;) {
        if (!ostel_str_next_line(&sc->rest, &line))
            return 0;
        sc->lineno++;
        if (ostel_str_trim(line).n > 0)
            break;
    }
    const size_t lineno = sc->lineno;
    /* the file's last line without its newline: a row cut short when its cells are too few */
    const bool unended = sc->rest.n == 0 && sc->rest.p == line.p + line.n;
    memset(row, 0, sizeof(*row));
    bool got_ts = false, got_gpu = false, more = true;
    size_t i = 0;
    for (; next_cell(&line, &more, &cell); i++) {
        if (i == sc->ncols)
            return fail(err, err_size, lineno, "more cells than the header's %zu", sc->ncols);
        int c = sc->col[i];
        if (c < 0)
            continue; /* a column the table does not know */
        const struct ostel_gpu_metrics_col_info *info = &cols[c];
        if (info->rule == OSTEL_GPU_METRICS_RULE_PHASE) {
            row->phase = ostel_metrics_phase_from_name(cell); /* an unknown name is no phase */
            continue;
        }
        double v;
        if (cell.n == 0)
            continue;
        if (info->rule == OSTEL_GPU_METRICS_RULE_GPU) {
            got_gpu = ostel_rundir_csv_number(cell, &v) && v >= 0 && v < OSTEL_GPU_MAX_DEVICES &&
                      v == floor(v);
            row->gpu = got_gpu ? (unsigned)v : 0;
            continue;
        }
        if (!ostel_rundir_csv_number(cell, &v))
            return fail(err, err_size, lineno, "column %s is not a number", info->name);
        if (fabs(v) > CELL_ABS_MAX)
            return fail(err, err_size, lineno, "column %s is out of range", info->name);
        if (v < 0 && info->rule != OSTEL_GPU_METRICS_RULE_NUMBER)
            return fail(err, err_size, lineno, "column %s is negative", info->name);
        if (c == OSTEL_GPU_COL_TS) {
            row->ts = v;
            got_ts = true;
        } else {
            enum ostel_gpu_field f = (enum ostel_gpu_field)(c - OSTEL_GPU_COL_FIRST_FIELD);
            row->v[f] = v;
            row->valid |= 1u << f;
        }
    }
    if (i != sc->ncols)
        return fail(err, err_size, lineno, "%zu cells but the header has %zu%s", i, sc->ncols,
                    unended ? " (the last row, cut short)" : "");
    if (!got_ts || !got_gpu)
        return fail(err, err_size, lineno, "no ts or no GPU index (0 to %d)",
                    OSTEL_GPU_MAX_DEVICES - 1);
    return 1;
}

int ostel_gpu_metrics_parse(const char *data, size_t len, struct ostel_gpu_table *out, char *err,
                            size_t err_size)
{
    out->rows = NULL;
    out->n = 0;
    struct ostel_gpu_metrics_scan sc;
    int rc = ostel_gpu_metrics_scan_init(&sc, data, len, err, err_size);
    size_t cap = 0;
    while (rc == 0) {
        struct ostel_gpu_row r;
        int k = ostel_gpu_metrics_scan_next(&sc, &r, err, err_size);
        if (k <= 0) {
            rc = k;
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 256;
            out->rows = ostel_xrealloc(out->rows, cap * sizeof(*out->rows));
        }
        out->rows[out->n++] = r;
    }
    if (rc != 0)
        ostel_gpu_metrics_table_free(out);
    return rc == 0 ? OSTEL_OK : OSTEL_ERR;
}

void ostel_gpu_metrics_table_free(struct ostel_gpu_table *t)
{
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}
