/*
 * rundir_gpu_metrics: gpu_metrics.csv's column table, its writer and its one reader (see
 * rundir_gpu_metrics.h and docs/run-directory.md).
 */
#include "rundir/rundir_gpu_metrics.h"

#include "rundir/rundir_csv.h"
#include "util/csvrow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ostel_gpu_metrics_col_info cols[OSTEL_GPU_COL_COUNT] = {
#define COL_INFO(id, name, unit, dec, rule)                                                        \
    [OSTEL_GPU_COL_##id] = {name, unit, dec, OSTEL_GPU_METRICS_RULE_##rule},
    OSTEL_GPU_METRICS_COLUMNS(COL_INFO)
#undef COL_INFO
};

/* The same table for rundir_csv.c's reader: a number column (TS, NONNEG, NUMBER) REAL, read as it
 * reads numbers; gpu and phase TEXT, for this file's own rules and messages (below). */
#define CSV_KIND_TS OSTEL_RUNDIR_CSV_REAL
#define CSV_KIND_NONNEG OSTEL_RUNDIR_CSV_REAL
#define CSV_KIND_NUMBER OSTEL_RUNDIR_CSV_REAL
#define CSV_KIND_GPU OSTEL_RUNDIR_CSV_TEXT
#define CSV_KIND_PHASE OSTEL_RUNDIR_CSV_TEXT
static const struct ostel_rundir_csv_col csv_cols[OSTEL_GPU_COL_COUNT] = {
#define CSV_COL(id, name, unit, dec, rule)                                                         \
    [OSTEL_GPU_COL_##id] = {name, unit, dec, CSV_KIND_##rule, false},
    OSTEL_GPU_METRICS_COLUMNS(CSV_COL)
#undef CSV_COL
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
    return ostel_rundir_csv_format_header(csv_cols, OSTEL_GPU_COL_COUNT, out, out_size);
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

static int fail(char *err, size_t err_size, size_t line, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "line %zu: %s", line, msg);
    return OSTEL_ERR;
}

int ostel_gpu_metrics_scan_init(struct ostel_gpu_metrics_scan *sc, const char *data, size_t len,
                                char *err, size_t err_size)
{
    static const char not_gpu[] = "not a GPU metrics header (needs the columns ts and gpu)";
    struct ostel_rundir_csv_scan *csv = &sc->csv;
    int rc =
        ostel_rundir_csv_scan_init(csv, csv_cols, OSTEL_GPU_COL_COUNT, data, len, err, err_size);
    bool keys = csv->at[OSTEL_GPU_COL_TS] >= 0 && csv->at[OSTEL_GPU_COL_GPU] >= 0;
    /* a header that went wrong before naming ts and gpu (no header at all aside) is another
     * file's: say so rather than how its header went wrong */
    if (rc != 0 && csv->ncols > 0 && !keys)
        return fail(err, err_size, 1, not_gpu);
    if (rc != 0)
        return rc;
    return keys ? 0 : fail(err, err_size, 1, not_gpu);
}

int ostel_gpu_metrics_scan_next(struct ostel_gpu_metrics_scan *sc, struct ostel_gpu_row *row,
                                char *err, size_t err_size)
{
    struct ostel_rundir_csv_scan *csv = &sc->csv;
    int rc = ostel_rundir_csv_scan_next(csv, err, err_size);
    if (rc != 1)
        return rc;
    const size_t lineno = csv->record_line;
    char msg[160];
    memset(row, 0, sizeof(*row));
    const char *phase = csv->text[OSTEL_GPU_COL_PHASE]; /* an unknown name is no phase */
    if (phase)
        row->phase = ostel_metrics_phase_from_name(ostel_str_trim(ostel_str_from_cstr(phase)));
    double v;
    const char *gpu = csv->text[OSTEL_GPU_COL_GPU];
    bool got_gpu = gpu && ostel_rundir_csv_number(ostel_str_trim(ostel_str_from_cstr(gpu)), &v) &&
                   v >= 0 && v < OSTEL_GPU_MAX_DEVICES && v == floor(v);
    row->gpu = got_gpu ? (unsigned)v : 0;
    row->ts = csv->v[OSTEL_GPU_COL_TS];
    for (int c = 0; c < OSTEL_GPU_COL_COUNT; c++) {
        const struct ostel_gpu_metrics_col_info *info = &cols[c];
        v = csv->v[c];
        if (csv_cols[c].kind != OSTEL_RUNDIR_CSV_REAL || isnan(v))
            continue; /* gpu and phase above; an empty cell */
        const char *why = fabs(v) > CELL_ABS_MAX                                 ? "is out of range"
                          : v < 0 && info->rule != OSTEL_GPU_METRICS_RULE_NUMBER ? "is negative"
                                                                                 : NULL;
        if (why) {
            snprintf(msg, sizeof(msg), "column %s %s", info->name, why);
            return fail(err, err_size, lineno, msg);
        }
        if (c >= OSTEL_GPU_COL_FIRST_FIELD) {
            enum ostel_gpu_field f = (enum ostel_gpu_field)(c - OSTEL_GPU_COL_FIRST_FIELD);
            row->v[f] = v;
            row->valid |= 1u << f;
        }
    }
    if (isnan(row->ts) || !got_gpu) {
        snprintf(msg, sizeof(msg), "no ts or no GPU index (0 to %d)", OSTEL_GPU_MAX_DEVICES - 1);
        return fail(err, err_size, lineno, msg);
    }
    return 1;
}

void ostel_gpu_metrics_scan_free(struct ostel_gpu_metrics_scan *sc)
{
    ostel_rundir_csv_scan_free(&sc->csv);
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
    ostel_gpu_metrics_scan_free(&sc);
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
