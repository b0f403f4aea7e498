/*
 * metrics: metrics.csv columns, formatting and parsing (see metrics.h and docs/run-directory.md).
 */
#include "run/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const col_names[OSTEL_COL_COUNT] = {
    "ts",
    "rss_mb",
    "cpu_pct",
    "vm_pressure_flag",
    "avail_mem_level",
    "pageins_delta",
    "pageouts_delta",
    "phase",
    "rss_anon_mb",
    "rss_file_mb",
    "swap_mb",
    "minflt_delta",
    "majflt_delta",
    "threads",
    "sys_avail_mb",
    "swapin_delta",
    "swapout_delta",
    "psi_some_pct",
    "psi_full_pct",
    "cgroup_mem_mb",
    "footprint_mb",
    "footprint_peak_mb",
};

/* Decimals written per column: counts are integers, MiB and % two places, ts milliseconds. */
static const int col_decimals[OSTEL_COL_COUNT] = {
    3, 2, 1, 0, 2, 0, 0, 0, 2, 2, 2, 0, 0, 0, 2, 0, 0, 2, 2, 2, 2, 2,
};

static const char *const phase_names[OSTEL_PHASE_COUNT] = {"", "load", "prompt", "generate",
                                                           "teardown"};

const char *ostel_metrics_col_name(enum ostel_metric_col c)
{
    return (unsigned)c < OSTEL_COL_COUNT ? col_names[c] : "";
}

const char *ostel_phase_name(enum ostel_phase p)
{
    return (unsigned)p < OSTEL_PHASE_COUNT ? phase_names[p] : "";
}

enum ostel_phase ostel_phase_from_name(struct ostel_str s)
{
    for (int i = 1; i < OSTEL_PHASE_COUNT; i++)
        if (ostel_str_eq(s, phase_names[i]))
            return (enum ostel_phase)i;
    return OSTEL_PHASE_NONE;
}

size_t ostel_metrics_format_header(char *out, size_t out_size)
{
    size_t len = 0;
    for (int c = 0; c < OSTEL_COL_COUNT; c++) {
        int n = snprintf(out + len, out_size - len, "%s%s", c ? "," : "", col_names[c]);
        if (n < 0 || (size_t)n >= out_size - len)
            return 0;
        len += (size_t)n;
    }
    if (len + 2 > out_size)
        return 0;
    out[len++] = '\n';
    out[len] = '\0';
    return len;
}

size_t ostel_metrics_format_row(const struct ostel_metrics_row *r, char *out, size_t out_size)
{
    size_t len = 0;
    for (int c = 0; c < OSTEL_COL_COUNT; c++) {
        int n;
        if (c == OSTEL_COL_PHASE)
            n = snprintf(out + len, out_size - len, ",%s", ostel_phase_name(r->phase));
        else if (ostel_metrics_has(r, (enum ostel_metric_col)c) && isfinite(r->v[c]))
            n = snprintf(out + len, out_size - len, "%s%.*f", c ? "," : "", col_decimals[c],
                         r->v[c]);
        else
            n = snprintf(out + len, out_size - len, "%s", c ? "," : "");
        if (n < 0 || (size_t)n >= out_size - len)
            return 0;
        len += (size_t)n;
    }
    if (len + 2 > out_size)
        return 0;
    out[len++] = '\n';
    out[len] = '\0';
    return len;
}

static int set_err(char *err, size_t err_size, size_t line, const char *msg)
{
    snprintf(err, err_size, "line %zu: %s", line, msg);
    return OSTEL_ERR;
}

/* Splits one CSV line on commas (no quoting: ostel never writes quoted cells). */
static size_t split_cells(struct ostel_str line, struct ostel_str *cells, size_t max)
{
    size_t n = 0;
    const char *p = line.p, *end = line.p + line.n;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *stop = c ? c : end;
        if (n < max)
            cells[n] = ostel_str_trim(ostel_str_make(p, (size_t)(stop - p)));
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

#define MAX_FILE_COLS 64

int ostel_metrics_parse(const char *data, size_t len, struct ostel_metrics_table *out, char *err,
                        size_t err_size)
{
    out->rows = NULL;
    out->n = 0;
    struct ostel_str rest = ostel_str_make(data, len), line;
    if (memchr(data, '\0', len))
        return set_err(err, err_size, 1, "binary data (NUL byte) in a CSV file");
    if (!ostel_str_next_line(&rest, &line))
        return set_err(err, err_size, 1, "empty file, expected a header line");
    struct ostel_str cells[MAX_FILE_COLS];
    size_t ncols = split_cells(line, cells, MAX_FILE_COLS);
    if (ncols > MAX_FILE_COLS)
        return set_err(err, err_size, 1, "too many columns");
    int map[MAX_FILE_COLS];
    bool have_ts = false;
    for (size_t i = 0; i < ncols; i++) {
        map[i] = -1;
        for (int c = 0; c < OSTEL_COL_COUNT; c++)
            if (ostel_str_eq(cells[i], col_names[c])) {
                map[i] = c;
                have_ts |= c == OSTEL_COL_TS;
            }
    }
    if (!have_ts)
        return set_err(err, err_size, 1, "header has no 'ts' column: not a metrics.csv");

    size_t cap = 0, lineno = 1;
    while (ostel_str_next_line(&rest, &line)) {
        lineno++;
        if (ostel_str_trim(line).n == 0)
            continue;
        size_t n = split_cells(line, cells, MAX_FILE_COLS);
        if (n != ncols) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%zu cells, the header has %zu", n, ncols);
            ostel_metrics_table_free(out);
            return set_err(err, err_size, lineno, msg);
        }
        struct ostel_metrics_row r;
        memset(&r, 0, sizeof(r));
        for (size_t i = 0; i < ncols; i++) {
            if (map[i] < 0 || cells[i].n == 0)
                continue;
            if (map[i] == OSTEL_COL_PHASE) {
                r.phase = ostel_phase_from_name(cells[i]);
                continue;
            }
            char tmp[64];
            if (cells[i].n >= sizeof(tmp)) {
                ostel_metrics_table_free(out);
                return set_err(err, err_size, lineno, "a cell is too long for a number");
            }
            memcpy(tmp, cells[i].p, cells[i].n);
            tmp[cells[i].n] = '\0';
            char *end;
            errno = 0;
            double v = strtod(tmp, &end);
            if (*end || errno || !isfinite(v)) {
                char msg[128];
                snprintf(msg, sizeof(msg), "column '%s': '%s' is not a number", col_names[map[i]],
                         tmp);
                ostel_metrics_table_free(out);
                return set_err(err, err_size, lineno, msg);
            }
            ostel_metrics_set(&r, (enum ostel_metric_col)map[i], v);
        }
        if (!ostel_metrics_has(&r, OSTEL_COL_TS)) {
            ostel_metrics_table_free(out);
            return set_err(err, err_size, lineno, "row without a timestamp");
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 256;
            out->rows = ostel_xrealloc(out->rows, cap * sizeof(*out->rows));
        }
        out->rows[out->n++] = r;
    }
    return OSTEL_OK;
}

void ostel_metrics_table_free(struct ostel_metrics_table *t)
{
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}
