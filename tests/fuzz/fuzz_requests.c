/*
 * fuzz_requests: arbitrary bytes as requests.csv and as server_metrics.csv for their one reader
 * (rundir/rundir_requests.h: quoted cells, embedded newlines, numbers), each row it accepts written
 * again by the table's writer and read back the same. It must never crash, read outside the buffer
 * or leak, whatever the file holds.
 */
#include "rundir/rundir_requests.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A row written by the writer reads back as the same row. */
static void roundtrip(const struct ostel_requests_row *r, char *line, size_t cap)
{
    char hdr[1024];
    size_t hl = ostel_requests_format_header(hdr, sizeof(hdr));
    size_t n = ostel_requests_format_row(r, line + hl, cap - hl);
    if (n == 0)
        return;
    memcpy(line, hdr, hl);
    struct ostel_requests_scan sc;
    struct ostel_requests_row back;
    char err[200];
    if (ostel_requests_scan_init(&sc, line, hl + n, err, sizeof(err)) != 0 ||
        ostel_requests_scan_next(&sc, &back, err, sizeof(err)) != 1)
        abort();
    for (int c = 0; c < OSTEL_REQ_COL_COUNT; c++) {
        const struct ostel_rundir_csv_col *col = &ostel_requests_cols()[c];
        if (col->kind == OSTEL_RUNDIR_CSV_TEXT || col->kind == OSTEL_RUNDIR_CSV_QUOTED)
            continue; /* control bytes become spaces, a TEXT cell is written as it is */
        if (isnan(r->v[c]) != isnan(back.v[c]))
            abort();
    }
    ostel_requests_scan_free(&sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    size_t cap = 2 * size + OSTEL_REQUESTS_ROW_MAX + 1024;
    char *line = malloc(cap);
    char err[200];
    struct ostel_requests_scan sc;
    struct ostel_requests_row row;
    int rc = ostel_requests_scan_init(&sc, buf, size, err, sizeof(err));
    while (rc == 0 && line && ostel_requests_scan_next(&sc, &row, err, sizeof(err)) == 1)
        roundtrip(&row, line, cap);
    ostel_requests_scan_free(&sc);
    struct ostel_server_metrics_scan ms;
    struct ostel_server_metrics_row m;
    rc = ostel_server_metrics_scan_init(&ms, buf, size, err, sizeof(err));
    while (rc == 0 && line && ostel_server_metrics_scan_next(&ms, &m, err, sizeof(err)) == 1)
        ostel_server_metrics_format_row(&m, line, cap);
    ostel_server_metrics_scan_free(&ms);
    free(line);
    free(buf);
    return 0;
}
