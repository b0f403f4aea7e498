/*
 * rundir_csv: the run directory's CSV readers' shared cell handling (see rundir_csv.h).
 */
#include "rundir/rundir_csv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_tab[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

bool ostel_rundir_csv_number(struct ostel_str s, double *out)
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
    char tmp[64];
    if (s.n == 0 || s.n >= sizeof(tmp) || s.p[0] == ' ')
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
        if (n > max_len)
            return false;
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
