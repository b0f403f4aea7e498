/*
 * fuzz_sse: feeds arbitrary bytes to the SSE framer (split at a point the input chooses, and byte
 * by byte, which must give the same events), each event and the whole input to the token chunk
 * scan, and the input to the Prometheus text parser. None may crash, hang, read outside the buffer
 * or allocate past its cap, whatever a server sends; and a chunk the scan accepts without cJSON
 * must be one cJSON parses as an object, with the same token and text (chunk.h). The corpus
 * (tests/fuzz/corpus/sse/) holds llama-server's real stream and /metrics and hostile variants.
 */
#include "serve/chunk.h"
#include "serve/serve_prom.h"
#include "serve/sse.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct acc {
    uint64_t hash;
    size_t n;
};

/* The scan against cJSON, read the way serve.c's full parse reads a chunk. */
static void check_chunk(const char *d, size_t len)
{
    struct ostel_chunk c;
    if (ostel_chunk_scan(d, len, &c) != 0 || c.full)
        return;
    cJSON *j = cJSON_ParseWithLength(d, len);
    if (!cJSON_IsObject(j))
        abort(); /* the scan accepted what cJSON refuses */
    const cJSON *choices = cJSON_GetObjectItem(j, "choices");
    const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    const cJSON *fr = cJSON_IsObject(c0) ? cJSON_GetObjectItem(c0, "finish_reason") : NULL;
    const cJSON *text = cJSON_IsObject(c0) ? cJSON_GetObjectItem(c0, "text") : NULL;
    bool final = fr && !cJSON_IsNull(fr);
    bool token = cJSON_IsString(text) && (!final || text->valuestring[0]);
    if (token != c.token || cJSON_IsString(text) != (c.text != NULL) ||
        cJSON_GetObjectItem(j, "error") || cJSON_GetObjectItem(j, "usage") ||
        cJSON_GetObjectItem(j, "timings"))
        abort();
    if (c.text && !c.text_escaped &&
        (strlen(text->valuestring) != c.text_len || memcmp(text->valuestring, c.text, c.text_len)))
        abort();
    cJSON_Delete(j);
}

static int on_event(void *ctx, const char *d, size_t len)
{
    check_chunk(d, len);
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
    check_chunk(buf, size);
    struct acc c = {0};
    ostel_serve_prom_parse(buf, size, on_sample, &c);
    free(buf);
    return 0;
}
