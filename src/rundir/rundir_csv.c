/*
 * rundir_csv: the run directory's CSV readers' shared cell handling (see rundir_csv.h).
 */
#include "rundir/rundir_csv.h"

#include "util/csvrow.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_tab[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

bool ostel_rundir_csv_number_within(struct ostel_str s, size_t max_len, double *out)
{
    size_t i = 0, digits = 0, frac = 0;
    bool neg = false, dot = false, simple = true;
    uint64_t m = 0;
    if (s.n && (s.p[0] == '-' || s.p[0] == '+'))
        neg = s.p[i++] == '-';
    for (; i < s.n; i++) {
        char c = s.p[i];
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9' || ++digits > 15) {
            simple = false;
            break;
        }
        m = m * 10 + (uint64_t)(c - '0');
        frac += dot;
    }
    if (simple && digits > 0) {
        double v = (double)m / pow10_tab[frac];
        *out = neg ? -v : v;
        return true;
    }
    char tmp[400]; /* any double as "%.6f" writes it: up to 309 digits before the point */
    if (s.n == 0 || s.n >= sizeof(tmp) || s.n >= max_len || s.p[0] == ' ')
        return false;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool ostel_rundir_csv_number(struct ostel_str s, double *out)
{
    return ostel_rundir_csv_number_within(s, 400, out);
}

bool ostel_rundir_csv_cell(const char **p, const char *end, size_t max_len, struct ostel_buf *cell,
                           bool *last, size_t *lines)
{
    ostel_buf_reset(cell);
    const char *s = *p;
    if (s < end && *s == '"') {
        s++;
        for (;;) {
            if (s >= end)
                return false; /* unterminated quote */
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    ostel_buf_putc(cell, '"');
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            *lines += *s == '\n';
            ostel_buf_putc(cell, *s++);
            if (cell->len > max_len)
                return false;
        }
        if (s < end && *s != ',' && *s != '\n' && *s != '\r')
            return false; /* junk after a closing quote */
    } else {
        const char *c = s;
        while (c < end && *c != ',' && *c != '\n')
            c++;
        size_t n = (size_t)(c - s);
        if (n && s[n - 1] == '\r')
            n--;
        if (n > max_len) {
            ostel_buf_append(cell, s, max_len + 1); /* the caller sees why */
            return false;
        }
        ostel_buf_append(cell, s, n);
        s = c;
    }
    if (s < end && *s == '\r')
        s++;
    *last = s >= end || *s == '\n';
    if (s < end) {
        *lines += *s == '\n';
        s++;
    }
    *p = s;
    return true;
}

/* ---- a file described by a column table ---- */

const char *ostel_rundir_csv_sql(enum ostel_rundir_csv_kind kind)
{
    switch (kind) {
    case OSTEL_RUNDIR_CSV_REAL:
        return "REAL";
    case OSTEL_RUNDIR_CSV_INTEGER:
        return "INTEGER";
    case OSTEL_RUNDIR_CSV_TEXT:
    case OSTEL_RUNDIR_CSV_QUOTED:
        break;
    }
    return "TEXT";
}

size_t ostel_rundir_csv_format_header(const struct ostel_rundir_csv_col *table, size_t ntable,
                                      char *out, size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    for (size_t c = 0; c < ntable; c++)
        ostel_csvrow_text(&w, table[c].name);
    return ostel_csvrow_end(&w);
}

size_t ostel_rundir_csv_format_row(const struct ostel_rundir_csv_col *table, size_t ntable,
                                   const double *v, const char *const *text, char *out,
                                   size_t out_size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, out_size);
    for (size_t c = 0; c < ntable; c++) {
        const char *t = text[c] ? text[c] : "";
        switch (table[c].kind) {
        case OSTEL_RUNDIR_CSV_REAL:
            ostel_csvrow_num(&w, v[c], table[c].decimals);
            break;
        case OSTEL_RUNDIR_CSV_INTEGER:
            ostel_csvrow_num(&w, v[c], 0);
            break;
        case OSTEL_RUNDIR_CSV_TEXT:
            ostel_csvrow_text(&w, t);
            break;
        case OSTEL_RUNDIR_CSV_QUOTED: /* quoted when there is text, else an empty cell */
            if (*t)
                ostel_csvrow_quoted(&w, t, strlen(t));
            else
                ostel_csvrow_text(&w, "");
            break;
        }
    }
    return ostel_csvrow_end(&w);
}

#define INTEGER_MAX 9007199254740992.0 /* 2^53: every whole number up to it is a double */

static int scan_fail(char *err, size_t err_size, size_t line, const char *fmt, ...)
    OSTEL_PRINTF(4, 5);
static int scan_fail(char *err, size_t err_size, size_t line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err && err_size)
        snprintf(err, err_size, "line %zu: %s", line, msg);
    return OSTEL_ERR;
}

int ostel_rundir_csv_scan_init(struct ostel_rundir_csv_scan *sc,
                               const struct ostel_rundir_csv_col *table, size_t ntable,
                               const char *data, size_t len, char *err, size_t err_size)
{
    OSTEL_ASSERT(ntable <= OSTEL_RUNDIR_CSV_MAX_TABLE);
    sc->table = table;
    sc->ntable = ntable;
    sc->ncols = 0;
    sc->lineno = 0;
    sc->record_line = 0;
    ostel_buf_init(&sc->cell, OSTEL_RUNDIR_CSV_MAX_CELL + 16);
    ostel_buf_init(&sc->texts, 0);
    for (size_t c = 0; c < ntable; c++) {
        sc->at[c] = -1;
        sc->v[c] = NAN;
        sc->text[c] = NULL;
    }
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) { /* a spreadsheet's BOM */
        data += 3;
        len -= 3;
    }
    sc->p = data;
    sc->end = data + len;
    if (len == 0 || data[0] == '\n' || (data[0] == '\r' && (len == 1 || data[1] == '\n')))
        return scan_fail(err, err_size, 1, "no header");
    bool last = false;
    while (!last) {
        if (sc->ncols == OSTEL_RUNDIR_CSV_MAX_COLS)
            return scan_fail(err, err_size, 1, "more than %d columns", OSTEL_RUNDIR_CSV_MAX_COLS);
        if (!ostel_rundir_csv_cell(&sc->p, sc->end, 256, &sc->cell, &last, &sc->lineno))
            return scan_fail(err, err_size, 1, "a malformed header");
        int k = -1;
        for (size_t c = 0; c < ntable; c++)
            if (strlen(table[c].name) == sc->cell.len &&
                memcmp(table[c].name, sc->cell.data, sc->cell.len) == 0)
                k = (int)c;
        if (k >= 0 && sc->at[k] >= 0)
            return scan_fail(err, err_size, 1, "column '%s' appears twice", table[k].name);
        sc->col[sc->ncols] = k;
        if (k >= 0)
            sc->at[k] = (int)sc->ncols;
        sc->ncols++;
    }
    for (size_t c = 0; c < ntable; c++)
        if (table[c].required && sc->at[c] < 0)
            return scan_fail(err, err_size, 1, "no '%s' column", table[c].name);
    return 0;
}

int ostel_rundir_csv_scan_next(struct ostel_rundir_csv_scan *sc, char *err, size_t err_size)
{
    /* blank lines between records are skipped */
    while (sc->p < sc->end &&
           (*sc->p == '\n' || (*sc->p == '\r' && sc->p + 1 < sc->end && sc->p[1] == '\n'))) {
        sc->p += *sc->p == '\r' ? 2 : 1;
        sc->lineno++;
    }
    if (sc->p >= sc->end)
        return 0;
    const size_t line = sc->lineno + 1;
    sc->record_line = line;
    size_t off[OSTEL_RUNDIR_CSV_MAX_TABLE];
    for (size_t c = 0; c < sc->ntable; c++) {
        sc->v[c] = NAN;
        sc->text[c] = NULL;
        off[c] = SIZE_MAX;
    }
    ostel_buf_reset(&sc->texts);
    bool last = false;
    size_t i = 0;
    while (!last) {
        if (!ostel_rundir_csv_cell(&sc->p, sc->end, OSTEL_RUNDIR_CSV_MAX_CELL, &sc->cell, &last,
                                   &sc->lineno))
            return scan_fail(err, err_size, line,
                             sc->cell.len > OSTEL_RUNDIR_CSV_MAX_CELL
                                 ? "a cell longer than %d bytes"
                                 : "a malformed cell (a quote not closed, or text after one)",
                             OSTEL_RUNDIR_CSV_MAX_CELL);
        if (i == sc->ncols)
            return scan_fail(err, err_size, line, "more cells than the header's %zu", sc->ncols);
        int c = sc->col[i++];
        if (c < 0 || sc->cell.len == 0)
            continue;
        const struct ostel_rundir_csv_col *col = &sc->table[c];
        if (col->kind == OSTEL_RUNDIR_CSV_TEXT || col->kind == OSTEL_RUNDIR_CSV_QUOTED) {
            off[c] = sc->texts.len;
            ostel_buf_append(&sc->texts, sc->cell.data, sc->cell.len + 1); /* with its '\0' */
            continue;
        }
        struct ostel_str num = ostel_str_trim(ostel_str_make(sc->cell.data, sc->cell.len));
        if (num.n == 0)
            continue; /* blanks: an empty cell */
        double v;
        if (!ostel_rundir_csv_number(num, &v))
            return scan_fail(err, err_size, line, "column %s is not a number", col->name);
        if (col->kind == OSTEL_RUNDIR_CSV_INTEGER && (v != floor(v) || fabs(v) > INTEGER_MAX))
            return scan_fail(err, err_size, line, "column %s is not a whole number", col->name);
        sc->v[c] = v;
    }
    if (i != sc->ncols)
        return scan_fail(err, err_size, line, "%zu cells but the header has %zu%s", i, sc->ncols,
                         sc->p >= sc->end && sc->end[-1] != '\n' ? " (the last row, cut short)"
                                                                 : "");
    for (size_t c = 0; c < sc->ntable; c++)
        if (off[c] != SIZE_MAX)
            sc->text[c] = sc->texts.data + off[c];
    return 1;
}

void ostel_rundir_csv_scan_free(struct ostel_rundir_csv_scan *sc)
{
    ostel_buf_free(&sc->cell);
    ostel_buf_free(&sc->texts);
}
