/*
 * serve_prom: Prometheus text format samples (see serve_prom.h).
 */
#include "serve/serve_prom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t ostel_serve_prom_parse(const char *text, size_t len, ostel_serve_prom_sample_fn fn,
                              void *ctx)
{
    struct ostel_str rest = ostel_str_make(text, len), line;
    size_t bad = 0;
    while (ostel_str_next_line(&rest, &line)) {
        struct ostel_str l = ostel_str_trim(line);
        if (l.n == 0 || l.p[0] == '#')
            continue;
        /* the name runs to the first space outside braces */
        size_t i = 0;
        bool in_braces = false, in_quote = false;
        for (; i < l.n; i++) {
            char c = l.p[i];
            if (in_quote) {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    in_quote = false;
            } else if (c == '"' && in_braces) {
                in_quote = true;
            } else if (c == '{') {
                in_braces = true;
            } else if (c == '}') {
                in_braces = false;
            } else if ((c == ' ' || c == '\t') && !in_braces) {
                break;
            }
        }
        if (i == 0 || i >= l.n) {
            bad++;
            continue;
        }
        struct ostel_str name = ostel_str_make(l.p, i);
        struct ostel_str v = ostel_str_trim(ostel_str_make(l.p + i, l.n - i));
        size_t vn = 0;
        while (vn < v.n && v.p[vn] != ' ' && v.p[vn] != '\t')
            vn++;
        char num[64];
        if (vn == 0 || vn >= sizeof(num)) {
            bad++;
            continue;
        }
        memcpy(num, v.p, vn);
        num[vn] = '\0';
        char *end;
        double d = strtod(num, &end);
        if (*end != '\0') {
            bad++;
            continue;
        }
        fn(ctx, name, d);
    }
    return bad;
}
