/*
 * rundir_requests: requests.csv's and server_metrics.csv's column tables, writers and readers (see
 * rundir_requests.h).
 */
#include "rundir/rundir_requests.h"

#include "util/csvrow.h"

#include <string.h>

static const struct ostel_rundir_csv_col req_cols[OSTEL_REQ_COL_COUNT] = {
#define REQ_COL(id, name, unit, dec, kind, req)                                                    \
    [OSTEL_REQ_COL_##id] = {name, unit, dec, OSTEL_RUNDIR_CSV_##kind, req},
    OSTEL_REQUESTS_COLUMNS(REQ_COL)
#undef REQ_COL
};

static const struct ostel_rundir_csv_col srvm_cols[OSTEL_SRVM_COL_COUNT] = {
#define SRVM_COL(id, name, unit, dec, kind, req)                                                   \
    [OSTEL_SRVM_COL_##id] = {name, unit, dec, OSTEL_RUNDIR_CSV_##kind, req},
    OSTEL_SERVER_METRICS_COLUMNS(SRVM_COL)
#undef SRVM_COL
};

static const struct ostel_rundir_csv_col tok_cols[OSTEL_TOK_COL_COUNT] = {
#define TOK_COL(id, name, unit, dec, kind, req)                                                    \
    [OSTEL_TOK_COL_##id] = {name, unit, dec, OSTEL_RUNDIR_CSV_##kind, req},
    OSTEL_TOKENS_COLUMNS(TOK_COL)
#undef TOK_COL
};

_Static_assert(OSTEL_REQ_COL_COUNT <= OSTEL_RUNDIR_CSV_MAX_TABLE, "rundir_csv's table bound");

const struct ostel_rundir_csv_col *ostel_requests_cols(void)
{
    return req_cols;
}

void ostel_requests_row_init(struct ostel_requests_row *r)
{
    for (int c = 0; c < OSTEL_REQ_COL_COUNT; c++) {
        r->v[c] = NAN;
        r->text[c] = NULL;
    }
}

size_t ostel_requests_format_header(char *out, size_t out_size)
{
    return ostel_rundir_csv_format_header(req_cols, OSTEL_REQ_COL_COUNT, out, out_size);
}

size_t ostel_requests_format_row(const struct ostel_requests_row *r, char *out, size_t out_size)
{
    return ostel_rundir_csv_format_row(req_cols, OSTEL_REQ_COL_COUNT, r->v, r->text, out, out_size);
}

int ostel_requests_scan_init(struct ostel_requests_scan *sc, const char *data, size_t len,
                             char *err, size_t err_size)
{
    return ostel_rundir_csv_scan_init(&sc->csv, req_cols, OSTEL_REQ_COL_COUNT, data, len, err,
                                      err_size);
}

int ostel_requests_scan_next(struct ostel_requests_scan *sc, struct ostel_requests_row *row,
                             char *err, size_t err_size)
{
    int rc = ostel_rundir_csv_scan_next(&sc->csv, err, err_size);
    if (rc == 1)
        for (int c = 0; c < OSTEL_REQ_COL_COUNT; c++) {
            row->v[c] = sc->csv.v[c];
            row->text[c] = sc->csv.text[c];
        }
    return rc;
}

void ostel_requests_scan_free(struct ostel_requests_scan *sc)
{
    ostel_rundir_csv_scan_free(&sc->csv);
}

/* ---- server_metrics.csv ---- */

const struct ostel_rundir_csv_col *ostel_server_metrics_cols(void)
{
    return srvm_cols;
}

size_t ostel_server_metrics_format_header(char *out, size_t out_size)
{
    return ostel_rundir_csv_format_header(srvm_cols, OSTEL_SRVM_COL_COUNT, out, out_size);
}

size_t ostel_server_metrics_format_row(const struct ostel_server_metrics_row *r, char *out,
                                       size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    ostel_csvrow_num(&w, r->ts, srvm_cols[OSTEL_SRVM_COL_TS].decimals);
    ostel_csvrow_text(&w, r->level ? r->level : "");
    ostel_csvrow_quoted(&w, r->metric.p, r->metric.n); /* always quoted: names hold ':' */
    ostel_csvrow_num(&w, r->value, srvm_cols[OSTEL_SRVM_COL_VALUE].decimals);
    return ostel_csvrow_end(&w);
}

int ostel_server_metrics_scan_init(struct ostel_server_metrics_scan *sc, const char *data,
                                   size_t len, char *err, size_t err_size)
{
    return ostel_rundir_csv_scan_init(&sc->csv, srvm_cols, OSTEL_SRVM_COL_COUNT, data, len, err,
                                      err_size);
}

int ostel_server_metrics_scan_next(struct ostel_server_metrics_scan *sc,
                                   struct ostel_server_metrics_row *row, char *err, size_t err_size)
{
    int rc = ostel_rundir_csv_scan_next(&sc->csv, err, err_size);
    if (rc == 1) {
        const char *level = sc->csv.text[OSTEL_SRVM_COL_LEVEL];
        const char *metric = sc->csv.text[OSTEL_SRVM_COL_METRIC];
        row->ts = sc->csv.v[OSTEL_SRVM_COL_TS];
        row->level = level ? level : "";
        row->metric = metric ? ostel_str_from_cstr(metric) : ostel_str_make("", 0);
        row->value = sc->csv.v[OSTEL_SRVM_COL_VALUE];
    }
    return rc;
}

void ostel_server_metrics_scan_free(struct ostel_server_metrics_scan *sc)
{
    ostel_rundir_csv_scan_free(&sc->csv);
}

/* ---- tokens.csv ---- */

const struct ostel_rundir_csv_col *ostel_tokens_cols(void)
{
    return tok_cols;
}

size_t ostel_tokens_format_header(char *out, size_t out_size)
{
    return ostel_rundir_csv_format_header(tok_cols, OSTEL_TOK_COL_COUNT, out, out_size);
}

/* Decimal digits of v at the end of out[0..24); returns the first. */
static char *u64_digits(uint64_t v, char *out_end)
{
    char *p = out_end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

/* The row's cells in the table's order: three whole numbers, then the quoted text. */
_Static_assert(OSTEL_TOK_COL_REQ_ID == 0 && OSTEL_TOK_COL_INDEX == 1 &&
                   OSTEL_TOK_COL_ARRIVAL_MONO_NS == 2 && OSTEL_TOK_COL_TEXT == 3 &&
                   OSTEL_TOK_COL_COUNT == 4,
               "ostel_tokens_append_row writes tokens.csv's columns in this order");

size_t ostel_tokens_append_row(struct ostel_buf *b, uint64_t req_id, uint64_t index,
                               uint64_t arrival_mono_ns, const char *text)
{
    char num[24], *end = num + sizeof(num);
    const uint64_t nums[3] = {req_id, index, arrival_mono_ns};
    for (int c = 0; c < 3; c++) {
        char *q = u64_digits(nums[c], end);
        ostel_buf_append(b, q, (size_t)(end - q));
        ostel_buf_putc(b, ',');
    }
    ostel_buf_putc(b, '"');
    const char *t = text;
    while (*t) {
        size_t run = 0; /* plain bytes go in at once */
        while (t[run] && t[run] != '"' && (unsigned char)t[run] >= 0x20)
            run++;
        ostel_buf_append(b, t, run);
        t += run;
        if (*t == '"')
            ostel_buf_append(b, "\"\"", 2);
        else if (*t)
            ostel_buf_putc(b, ' ');
        if (*t)
            t++;
    }
    ostel_buf_append(b, "\"\n", 2);
    return (size_t)(t - text);
}
