/*
 * sse: text/event-stream framing (see sse.h).
 */
#include "serve/sse.h"

#include <stdint.h>
#include <string.h>

#define DEFAULT_MAX ((size_t)1 << 20)

void ostel_sse_init(struct ostel_sse *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof(*p));
    size_t max = max_event_bytes ? max_event_bytes : DEFAULT_MAX;
    ostel_buf_init(&p->line, max);
    ostel_buf_init(&p->data, max);
}

void ostel_sse_free(struct ostel_sse *p)
{
    ostel_buf_free(&p->line);
    ostel_buf_free(&p->data);
}

bool ostel_sse_pending(const struct ostel_sse *p)
{
    return p->line.len > 0 || p->has_data;
}

/* One complete line l[0..n): a field, a comment, or the blank line that dispatches the event. */
static int end_line(struct ostel_sse *p, const char *l, size_t n, ostel_sse_event_fn fn, void *ctx)
{
    int rc = 0;
    if (n == 0) {
        if (p->has_data) {
            p->events++;
            rc = fn(ctx, p->data.data ? p->data.data : "", p->data.len) ? 1 : 0;
        }
        ostel_buf_reset(&p->data);
        p->has_data = false;
    } else if (n >= 4 && memcmp(l, "data", 4) == 0 && (n == 4 || l[4] == ':')) {
        const char *v = n > 4 ? l + 5 : l + 4;
        size_t vn = n > 4 ? n - 5 : 0;
        if (vn && *v == ' ') {
            v++;
            vn--;
        }
        if (p->has_data)
            ostel_buf_putc(&p->data, '\n');
        ostel_buf_append(&p->data, v, vn);
        p->has_data = true;
        if (p->data.overflow)
            p->failed = true;
    }
    return p->failed ? OSTEL_ERR : rc;
}

/* The first \n or \r in buf[0..n), or n (memchr for each; a stream's lines end with \n, so the
 * \r search is remembered until it passes). */
static size_t line_end(const char *buf, size_t n, size_t i, size_t *cr)
{
    const char *nl = memchr(buf + i, '\n', n - i);
    size_t j = nl ? (size_t)(nl - buf) : n;
    if (*cr < i || *cr == SIZE_MAX) {
        const char *r = memchr(buf + i, '\r', n - i);
        *cr = r ? (size_t)(r - buf) : n;
    }
    return *cr < j ? *cr : j;
}

int ostel_sse_feed(struct ostel_sse *p, const char *buf, size_t n, ostel_sse_event_fn fn, void *ctx)
{
    if (p->failed)
        return OSTEL_ERR;
    size_t i = 0, cr = SIZE_MAX;
    while (i < n) {
        if (p->after_cr && buf[i] == '\n') {
            p->after_cr = false;
            i++;
            continue;
        }
        p->after_cr = false;
        /* the longest run of bytes that ends no line */
        size_t j = line_end(buf, n, i, &cr);
        if (j == n || p->line.len) {
            /* a line split across feeds is gathered in p->line; a whole one is read in place */
            ostel_buf_append(&p->line, buf + i, j - i);
            if (p->line.overflow) {
                p->failed = true;
                return OSTEL_ERR;
            }
            if (j == n)
                return 0;
        } else if (j - i > p->line.max) {
            p->failed = true; /* the cap holds for a line read in place too */
            return OSTEL_ERR;
        }
        p->after_cr = buf[j] == '\r';
        int rc;
        if (p->line.len) {
            rc = end_line(p, p->line.data, p->line.len, fn, ctx);
            ostel_buf_reset(&p->line);
        } else {
            rc = end_line(p, buf + i, j - i, fn, ctx);
        }
        i = j + 1;
        if (rc != 0)
            return rc;
    }
    return 0;
}
