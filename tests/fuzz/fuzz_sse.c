/*
 * fuzz_sse: feeds arbitrary bytes to the SSE framer (split at a point the input chooses, and byte
 * by byte, which must give the same events) and to the Prometheus text parser. Neither may crash,
 * hang, read outside the buffer or allocate past its cap, whatever a server sends. The corpus
 * (tests/fuzz/corpus/sse/) holds llama-server's real stream and /metrics and hostile variants.
 */
#include "serve/prom.h"
#include "serve/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct acc {
    uint64_t hash;
    size_t n;
};

static int on_event(void *ctx, const char *d, size_t len)
{
    struct acc *a = ctx;
    for (size_t i = 0; i < len; i++)
        a->hash = a->hash * 1099511628211ull ^ (unsigned char)d[i];
    a->hash = a->hash * 31 + len;
    a->n++;
    return 0;
}

static void on_sample(void *ctx, struct ostel_str name, double v)
{
    struct acc *a = ctx;
    a->n += name.n + (v == v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    size_t cut = size ? (size_t)data[0] % (size + 1) : 0;
    struct ostel_sse p;
    struct acc a = {0}, b = {0};
    ostel_sse_init(&p, 4096);
    int r1 = ostel_sse_feed(&p, buf, cut, on_event, &a);
    if (r1 == 0)
        r1 = ostel_sse_feed(&p, buf + cut, size - cut, on_event, &a);
    ostel_sse_free(&p);
    ostel_sse_init(&p, 4096);
    int r2 = 0;
    for (size_t i = 0; i < size && r2 == 0; i++)
        r2 = ostel_sse_feed(&p, buf + i, 1, on_event, &b);
    ostel_sse_free(&p);
    if (r1 != r2 || a.hash != b.hash || a.n != b.n)
        abort(); /* the framing must not depend on how the bytes were split */
    struct acc c = {0};
    ostel_prom_parse(buf, size, on_sample, &c);
    free(buf);
    return 0;
}
