/*
 * optval: load option values as text (see optval.h).
 */
#include "util/optval.h"

#include "util/opt.h"
#include "util/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ostel_parse_levels(const char *text, bool integers, double **out, size_t *n)
{
    free(*out);
    *out = NULL;
    *n = 0;
    char *copy = ostel_xstrdup(text);
    bool ok = true;
    /* strtok_r would let ",," and a trailing comma pass as fewer cells: split by hand */
    for (char *t = copy;;) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        while (*t == ' ' || *t == '\t') /* "1, 2" as a list is written */
            t++;
        for (char *e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t');)
            *--e = '\0';
        double v = 0;
        int64_t iv;
        bool cell = integers ? ostel_parse_i64(t, 1, 100000, &iv) : ostel_parse_f64(t, &v);
        if (integers)
            v = (double)iv;
        if (!cell || !(v > 0) || v > 1e6) {
            ok = false;
            break;
        }
        *out = ostel_xrealloc(*out, (*n + 1) * sizeof(double));
        (*out)[(*n)++] = v;
        if (!comma)
            break;
        t = comma + 1;
    }
    free(copy);
    if (!ok || *n == 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return false;
    }
    return true;
}

bool ostel_parse_length(const char *text, int *mean, int *sd, int *max)
{
    char buf[64];
    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
        return false;
    char *colon = strchr(buf, ':'), *dash = strchr(buf, '-');
    int64_t m, s = 0, x = 0;
    if (colon && dash)
        return false;
    if (colon)
        *colon = '\0';
    if (dash)
        *dash = '\0';
    if (!ostel_parse_i64(buf, 1, 1 << 22, &m))
        return false;
    if (colon && !ostel_parse_i64(colon + 1, 0, 1 << 22, &s))
        return false;
    if (dash && (!ostel_parse_i64(dash + 1, 1, 1 << 22, &x) || x < m))
        return false;
    *mean = (int)m;
    *sd = (int)s;
    *max = dash ? (int)x : 0;
    return true;
}

bool ostel_parse_slo(const char *text, double *ttft_ms, double *itl_ms, double *e2e_ms)
{
    double b[3] = {NAN, NAN, NAN};
    char *copy = ostel_xstrdup(text);
    bool ok = *copy != '\0';
    for (char *t = copy; ok;) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(t, '=');
        uint64_t ns = 0;
        if (eq)
            *eq = '\0';
        int i = !eq                                       ? -1
                : !strcmp(t, "ttft")                      ? 0
                : !strcmp(t, "itl") || !strcmp(t, "tpot") ? 1
                : !strcmp(t, "e2e") || !strcmp(t, "e2el") ? 2
                                                          : -1;
        if (i >= 0 && !strcmp(eq + 1, "none"))
            b[i] = NAN;
        else if (i < 0 || !ostel_parse_duration_ns(eq + 1, 1000000ull, &ns) || ns == 0)
            ok = false;
        else
            b[i] = (double)ns / 1e6;
        if (!comma)
            break;
        t = comma + 1;
    }
    free(copy);
    if (ok) {
        *ttft_ms = b[0];
        *itl_ms = b[1];
        *e2e_ms = b[2];
    }
    return ok;
}
