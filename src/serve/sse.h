/*
 * sse: incremental framing of a text/event-stream (the WHATWG "server-sent events" syntax). Bytes
 * go in as they arrive, in chunks of any size (a line may be split anywhere, even between \r and
 * \n); each complete event's data comes out through a callback. Lines end with \n, \r\n or \r;
 * "data:" lines (one optional space after the colon is dropped) are joined with \n; a blank line
 * ends an event; comments (":…") and the event/id/retry fields are ignored, as is an event with no
 * data line. Pure: it never prints; an event larger than the cap is an error, so a hostile server
 * cannot make the client allocate without bound.
 */
#ifndef OSTEL_SSE_H
#define OSTEL_SSE_H

#include "util/util.h"

struct ostel_sse {
    struct ostel_buf line; /* the current line, not yet ended */
    struct ostel_buf data; /* the current event's data lines, joined with \n */
    bool has_data;         /* a data: line was seen in the current event */
    bool after_cr;         /* the last byte was \r: a \n right after it ends no second line */
    bool failed;           /* an event exceeded the cap; every later feed fails */
    uint64_t events;       /* events dispatched so far */
};

/* Called once per event; data is NUL-terminated, borrowed for the call. Non-zero stops the feed. */
typedef int (*ostel_sse_event_fn)(void *ctx, const char *data, size_t len);

/* max_event_bytes caps one event's data (and one line); 0 means 1 MiB. */
void ostel_sse_init(struct ostel_sse *p, size_t max_event_bytes);
void ostel_sse_free(struct ostel_sse *p);
/*
 * Feeds n bytes. Returns 0; 1 when fn asked to stop (the rest of buf is not consumed); OSTEL_ERR
 * when an event or line exceeded the cap (then every later call fails too).
 */
int ostel_sse_feed(struct ostel_sse *p, const char *buf, size_t n, ostel_sse_event_fn fn,
                   void *ctx);
/* True when bytes of an unfinished event or line are pending (a stream that ends here was cut). */
bool ostel_sse_pending(const struct ostel_sse *p);

#endif
