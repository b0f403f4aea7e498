/*
 * csvrow: one CSV line into the caller's buffer (see csvrow.h).
 */
#include "util/csvrow.h"

#include <math.h>
#include <stdio.h>

void ostel_csvrow_init(struct ostel_csvrow *w, char *out, size_t size)
{
    w->out = out;
    w->size = size;
    w->len = 0;
    w->cells = 0;
    w->full = size == 0;
    if (size)
        out[0] = '\0';
}

/* Takes snprintf's result n for the room it had: the cell is kept when it fit with its '\0'. */
static void advance(struct ostel_csvrow *w, int n, size_t room)
{
    if (n < 0 || (size_t)n >= room)
        w->full = true;
    else
        w->len += (size_t)n;
}

void ostel_csvrow_text(struct ostel_csvrow *w, const char *s)
{
    if (w->full)
        return;
    size_t room = w->size - w->len;
    advance(w, snprintf(w->out + w->len, room, "%s%s", w->cells++ ? "," : "", s), room);
}

void ostel_csvrow_quoted(struct ostel_csvrow *w, const char *s, size_t n)
{
    if (w->full)
        return;
    size_t need = (w->cells ? 1 : 0) + 3; /* a comma before all but the first, two quotes, '\0' */
    for (size_t i = 0; i < n; i++)
        need += s[i] == '"' ? 2 : 1;
    if (need > w->size - w->len) {
        w->full = true;
        return;
    }
    char *o = w->out + w->len;
    if (w->cells++)
        *o++ = ',';
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"')
            *o++ = '"';
        *o++ = (unsigned char)c < 0x20 ? ' ' : c;
    }
    *o++ = '"';
    *o = '\0';
    w->len = (size_t)(o - w->out);
}

void ostel_csvrow_num(struct ostel_csvrow *w, double v, int decimals)
{
    if (!isfinite(v)) {
        ostel_csvrow_text(w, "");
        return;
    }
    if (w->full)
        return;
    size_t room = w->size - w->len;
    advance(w, snprintf(w->out + w->len, room, "%s%.*f", w->cells++ ? "," : "", decimals, v), room);
}

size_t ostel_csvrow_end(struct ostel_csvrow *w)
{
    if (w->full || w->len + 2 > w->size)
        return 0;
    w->out[w->len++] = '\n';
    w->out[w->len] = '\0';
    return w->len;
}
