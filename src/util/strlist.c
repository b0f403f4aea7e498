/*
 * strlist: a growable list of owned strings that doubles as an argv (see strlist.h).
 */
#include "util/strlist.h"

#include <stdlib.h>
#include <string.h>

void ostel_strlist_push(struct ostel_strlist *l, const char *s)
{
    l->v = ostel_xrealloc(l->v, (l->n + 2) * sizeof(char *));
    l->v[l->n++] = ostel_xstrdup(s);
    l->v[l->n] = NULL;
}

void ostel_strlist_free(struct ostel_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool ostel_strlist_split(struct ostel_strlist *l, const char *text)
{
    ostel_strlist_free(l);
    struct ostel_str rest = ostel_str_from_cstr(text);
    for (;;) {
        const char *c = memchr(rest.p, ',', rest.n);
        size_t n = c ? (size_t)(c - rest.p) : rest.n;
        struct ostel_str cell = ostel_str_trim(ostel_str_make(rest.p, n));
        if (cell.n == 0) {
            ostel_strlist_free(l);
            return false;
        }
        char *s = ostel_xstrndup(cell.p, cell.n);
        ostel_strlist_push(l, s);
        free(s);
        if (!c)
            return true;
        rest.p = c + 1;
        rest.n -= n + 1;
    }
}

void ostel_strlist_split_blanks(struct ostel_strlist *l, const char *text)
{
    ostel_strlist_free(l);
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *q = p;
        while (*q && *q != ' ' && *q != '\t')
            q++;
        if (q > p) {
            char *s = ostel_xstrndup(p, (size_t)(q - p));
            ostel_strlist_push(l, s);
            free(s);
        }
        p = q;
    }
}
