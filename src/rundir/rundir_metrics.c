/*
 * rundir_metrics: metrics.csv's column table, its writer and its one reader (see
 * rundir_metrics.h and docs/run-directory.md).
 */
#include "rundir/rundir_metrics.h"
#include "rundir/rundir_validate.h"
#include "util/csvrow.h"

#include <stdlib.h>
#include <string.h>

static const struct ostel_metrics_col_info cols[OSTEL_COL_COUNT] = {
#define COL_INFO(id, name, unit, dec, sql, rule, src)                                              \
    [OSTEL_COL_##id] = {name, unit, dec, sql, OSTEL_METRICS_RULE_##rule},
    OSTEL_METRICS_COLUMNS(COL_INFO)
#undef COL_INFO
};

static const char *const phase_names[OSTEL_PHASE_COUNT] = {"", "load", "prompt", "generate",
                                                           "teardown"};

const struct ostel_metrics_col_info *ostel_metrics_col(enum ostel_metric_col c)
{
    OSTEL_ASSERT((unsigned)c < OSTEL_COL_COUNT);
    return &cols[c];
}

const char *ostel_metrics_col_name(enum ostel_metric_col c)
{
    return (unsigned)c < OSTEL_COL_COUNT ? cols[c].name : "";
}

int ostel_metrics_col_find(struct ostel_str name)
{
    for (int c = 0; c < OSTEL_COL_COUNT; c++)
        if (ostel_str_eq(name, cols[c].name))
            return c;
    return -1;
}

const char *ostel_metrics_phase_name(enum ostel_phase p)
{
    return (unsigned)p < OSTEL_PHASE_COUNT ? phase_names[p] : "";
}

enum ostel_phase ostel_metrics_phase_from_name(struct ostel_str s)
{
    for (int i = 1; i < OSTEL_PHASE_COUNT; i++)
        if (ostel_str_eq(s, phase_names[i]))
            return (enum ostel_phase)i;
    return OSTEL_PHASE_NONE;
}

size_t ostel_metrics_format_header(char *out, size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    for (int c = 0; c < OSTEL_COL_COUNT; c++)
        ostel_csvrow_text(&w, cols[c].name);
    return ostel_csvrow_end(&w);
}

size_t ostel_metrics_format_row(const struct ostel_metrics_row *r, char *out, size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    for (int c = 0; c < OSTEL_COL_COUNT; c++) {
        if (c == OSTEL_COL_PHASE)
            ostel_csvrow_text(&w, ostel_metrics_phase_name(r->phase));
        else /* NAN when the cell has no value: empty */
            ostel_csvrow_num(&w, ostel_metrics_get(r, (enum ostel_metric_col)c), cols[c].decimals);
    }
    return ostel_csvrow_end(&w);
}

void ostel_metrics_header_map(struct ostel_metrics_header *h, const struct ostel_str *cells,
                              size_t ncols)
{
    OSTEL_ASSERT(ncols <= OSTEL_METRICS_MAX_COLS);
    h->ncols = ncols;
    for (int c = 0; c < OSTEL_COL_COUNT; c++)
        h->at[c] = -1;
    for (size_t i = 0; i < ncols; i++) {
        int c = ostel_metrics_col_find(cells[i]);
        if (c >= 0 && h->at[c] >= 0)
            c = -1; /* a name twice (the validator refuses it): the first wins */
        h->col[i] = c;
        if (c >= 0)
            h->at[c] = (int)i;
    }
}

void ostel_metrics_row_from_cells(const struct ostel_metrics_header *h,
                                  const struct ostel_str *cells, const double *vals,
                                  struct ostel_metrics_row *out)
{
    out->valid = 0;
    out->phase = OSTEL_PHASE_NONE;
    for (int c = 0; c < OSTEL_COL_COUNT; c++) {
        int i = h->at[c];
        out->v[c] = NAN;
        if (i < 0)
            continue;
        if (c == OSTEL_COL_PHASE)
            out->phase = ostel_metrics_phase_from_name(cells[i]);
        else if (cells[i].n > 0 && !isnan(vals[i]))
            ostel_metrics_set(out, (enum ostel_metric_col)c, vals[i]);
    }
}

/* ---- the whole-file reader (serve's level labelling, tests) ---- */

struct parse_ctx {
    struct ostel_metrics_header h;
    struct ostel_metrics_table *out;
    size_t cap;
};

static bool parse_header(void *ctx, const struct ostel_str *cells, size_t ncols)
{
    struct parse_ctx *p = ctx;
    ostel_metrics_header_map(&p->h, cells, ncols);
    return true;
}

static void parse_row(void *ctx, const struct ostel_str *cells, const double *vals, size_t ncols)
{
    (void)ncols;
    struct parse_ctx *p = ctx;
    if (p->out->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->out->rows = ostel_xrealloc(p->out->rows, p->cap * sizeof(*p->out->rows));
    }
    ostel_metrics_row_from_cells(&p->h, cells, vals, &p->out->rows[p->out->n++]);
}

int ostel_metrics_parse(const char *data, size_t len, struct ostel_metrics_table *out, char *err,
                        size_t err_size)
{
    out->rows = NULL;
    out->n = 0;
    struct parse_ctx *p = ostel_xcalloc(1, sizeof(*p));
    p->out = out;
    struct ostel_rundir_metrics_sink sink = {parse_header, parse_row, p};
    int rc = ostel_rundir_scan_metrics_text(data, len, NULL, &sink, err, err_size);
    free(p);
    if (rc != 0) {
        ostel_metrics_table_free(out);
        return OSTEL_ERR;
    }
    return OSTEL_OK;
}

void ostel_metrics_table_free(struct ostel_metrics_table *t)
{
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}
