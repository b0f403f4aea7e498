/*
 * sse: text/event-stream framing (see sse.h).
 */
#include "serve/sse.h"

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

/* One complete line: a field, a comment, or the blank line that dispatches the event. */
static int end_line(struct ostel_sse *p, ostel_sse_event_fn fn, void *ctx)
{
    const char *l = p->line.data ? p->line.data : "";
    size_t n = p->line.len;
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
    ostel_buf_reset(&p->line);
    return p->failed ? OSTEL_ERR : rc;
}

int ostel_sse_feed(struct ostel_sse *p, const char *buf, size_t n, ostel_sse_event_fn fn, void *ctx)
{
    if (p->failed)
        return OSTEL_ERR;
    size_t i = 0;
    while (i < n) {
        if (p->after_cr && buf[i] == '\n') {
            p->after_cr = false;
            i++;
            continue;
        }
        p->after_cr = false;
        /* the longest run of bytes that ends no line */
        size_t j = i;
        while (j < n && buf[j] != '\n' && buf[j] != '\r')
            j++;
        ostel_buf_append(&p->line, buf + i, j - i);
        if (p->line.overflow) {
            p->failed = true;
            return OSTEL_ERR;
        }
        if (j == n)
            return 0;
        p->after_cr = buf[j] == '\r';
        i = j + 1;
        int rc = end_line(p, fn, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}
