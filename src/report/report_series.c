/*
 * report_series: a run's series packed in a quarter to a half of its memory, and viewed as plain
 * arrays again (see report.h). An HTML report holds every run's series until its overlays and
 * compact forms are written: 10,000 runs of 212 samples were 130 MB of doubles. metrics.csv writes
 * each column with a fixed number of decimals, so a value is an integer code over a power of ten
 * (held in 1, 2 or 4 bytes, the fewest that hold the column's codes), and decoding it (code / 10^d,
 * one correctly rounded division) gives back the same double; every code is checked to read back
 * bit for bit when packed, and a column where one does not is kept as doubles, so a view always
 * holds exactly the values packed and a report is byte for byte the same.
 */
#include "report/report.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NCOLS OSTEL_REPORT_SERIES_NCOLS
#define CODE_NAN INT32_MIN
#define SCALES 5 /* 10^0 .. 10^4 */

struct pack_col {
    double scale;   /* 10^d; 0: the column is n doubles */
    int64_t base;   /* added to each code (the time column's first sample) */
    size_t off;     /* its bytes in data */
    unsigned width; /* bytes a code: 1, 2 or 4 (the smallest that holds every code) */
};

struct ostel_report_series_packed {
    struct pack_col col[NCOLS];
    double t0_abs; /* subtracted from the time column's decoded values */
    size_t phase_off;
    unsigned char data[];
};

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* The width that holds codes[0..n) (CODE_NAN aside), each width's smallest value kept for it. */
static unsigned code_width(const int32_t *codes, size_t n)
{
    unsigned w = 1;
    for (size_t i = 0; i < n; i++) {
        if (codes[i] == CODE_NAN)
            continue;
        if (codes[i] < -32767 || codes[i] > 32767)
            return 4;
        if (codes[i] < -127 || codes[i] > 127)
            w = 2;
    }
    return w;
}

static void put_code(unsigned char *dst, size_t i, unsigned w, int32_t code)
{
    if (w == 1) {
        int8_t c = code == CODE_NAN ? INT8_MIN : (int8_t)code;
        memcpy(dst + i, &c, 1);
    } else if (w == 2) {
        int16_t c = code == CODE_NAN ? INT16_MIN : (int16_t)code;
        memcpy(dst + 2 * i, &c, 2);
    } else {
        memcpy(dst + 4 * i, &code, 4);
    }
}

static int32_t get_code(const unsigned char *src, size_t i, unsigned w)
{
    if (w == 1) {
        int8_t c;
        memcpy(&c, src + i, 1);
        return c == INT8_MIN ? CODE_NAN : c;
    }
    if (w == 2) {
        int16_t c;
        memcpy(&c, src + 2 * i, 2);
        return c == INT16_MIN ? CODE_NAN : c;
    }
    int32_t c;
    memcpy(&c, src + 4 * i, 4);
    return c;
}

/* The value code decodes to in column c (the time column made relative to t0_abs). */
static double decode(int32_t code, double scale, int64_t base, bool time, double t0_abs)
{
    if (code == CODE_NAN)
        return NAN;
    double v = (double)(base + code) / scale;
    return time ? v - t0_abs : v;
}

/* Codes for v[0..n) over scale that read back bit for bit, into codes; false when there are none
 * (a value with more decimals, too large, or -0). */
static bool try_scale(const double *v, size_t n, double scale, bool time, double t0_abs,
                      int64_t *base, int32_t *codes)
{
    *base = 0;
    if (time) {
        if (isnan(v[0]))
            return false;
        double k0 = nearbyint((v[0] + t0_abs) * scale);
        if (!(fabs(k0) < 9e15))
            return false;
        *base = (int64_t)k0;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            codes[i] = CODE_NAN;
            continue;
        }
        double k = nearbyint((time ? v[i] + t0_abs : v[i]) * scale) - (double)*base;
        if (!(fabs(k) < (double)INT32_MAX))
            return false;
        codes[i] = (int32_t)k;
        if (!same_bits(decode(codes[i], scale, *base, time, t0_abs), v[i]))
            return false;
    }
    return true;
}

void ostel_report_series_pack(struct ostel_report_series *s, double t0_abs)
{
    if (s->packed || s->n < 2)
        return;
    size_t n = s->n;
    struct pack_col col[NCOLS];
    int32_t *codes = ostel_xmalloc(NCOLS * n * sizeof(*codes));
    size_t bytes = 0;
    for (size_t c = 0; c < NCOLS; c++) {
        const double *v = *ostel_report_series_array(s, c);
        col[c].scale = 0;
        col[c].base = 0;
        col[c].off = bytes;
        double scale = 1;
        for (int d = 0; v && d < SCALES && col[c].scale == 0; d++, scale *= 10)
            if (try_scale(v, n, scale, c == 0, t0_abs, &col[c].base, codes + c * n))
                col[c].scale = scale;
        col[c].width = col[c].scale ? code_width(codes + c * n, n) : sizeof(double);
        bytes += n * col[c].width;
    }
    struct ostel_report_series_packed *p = ostel_xmalloc(sizeof(*p) + bytes + n);
    memcpy(p->col, col, sizeof(col));
    p->t0_abs = t0_abs;
    p->phase_off = bytes;
    for (size_t c = 0; c < NCOLS; c++) {
        double **arr = ostel_report_series_array(s, c);
        if (col[c].scale)
            for (size_t i = 0; i < n; i++)
                put_code(p->data + col[c].off, i, col[c].width, codes[c * n + i]);
        else if (*arr)
            memcpy(p->data + col[c].off, *arr, n * sizeof(double));
        else /* a column a series built by hand lacks: all empty */
            for (size_t i = 0; i < n; i++)
                memcpy(p->data + col[c].off + i * sizeof(double), &(double){NAN}, sizeof(double));
        free(*arr);
        *arr = NULL;
    }
    memcpy(p->data + p->phase_off, s->phase, n);
    free(s->phase);
    s->phase = NULL;
    free(codes);
    s->packed = p;
}

void ostel_report_series_buf_free(struct ostel_report_series_buf *b)
{
    for (size_t c = 0; c < NCOLS; c++)
        free(b->room[c]);
    free(b->phase_room);
    memset(b, 0, sizeof(*b));
}

const struct ostel_report_series *ostel_report_series_view(const struct ostel_report_series *s,
                                                           unsigned mask,
                                                           struct ostel_report_series_buf *b)
{
    const struct ostel_report_series_packed *p = s->packed;
    if (!p)
        return s;
    size_t n = s->n;
    if (b->cap < n) {
        for (size_t c = 0; c < NCOLS; c++)
            b->room[c] = ostel_xrealloc(b->room[c], n * sizeof(double));
        b->phase_room = ostel_xrealloc(b->phase_room, n);
        b->cap = n;
    }
    struct ostel_report_series *v = &b->s;
    memset(v, 0, sizeof(*v));
    v->n = n;
    v->t0 = s->t0;
    for (size_t c = 0; c < NCOLS; c++) {
        if (!(mask & (1u << c)))
            continue; /* NULL in the view */
        double *dst = *ostel_report_series_array(v, c) = b->room[c];
        const struct pack_col *pc = &p->col[c];
        const unsigned char *src = p->data + pc->off;
        if (!pc->scale) {
            memcpy(dst, src, n * sizeof(double));
            continue;
        }
        if (pc->scale == 1 && c != 0) { /* integers (pages, flags): no division */
            for (size_t i = 0; i < n; i++) {
                int32_t code = get_code(src, i, pc->width);
                dst[i] = code == CODE_NAN ? NAN : (double)code;
            }
            continue;
        }
        for (size_t i = 0; i < n; i++)
            dst[i] = decode(get_code(src, i, pc->width), pc->scale, pc->base, c == 0, p->t0_abs);
    }
    if (mask & OSTEL_REPORT_SERIES_PHASE) {
        v->phase = b->phase_room;
        memcpy(v->phase, p->data + p->phase_off, n);
    }
    return v;
}

void ostel_report_series_packed_free(struct ostel_report_series *s)
{
    free(s->packed);
    s->packed = NULL;
}
