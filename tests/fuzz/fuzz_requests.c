/*
 * fuzz_requests: arbitrary bytes as requests.csv for the store's reader (quoted cells, embedded
 * newlines, numbers). It must never crash, read outside the buffer or leak, whatever the file
 * holds.
 */
#include "store/store_serve.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_row(void *ctx, const struct ostel_store_request *r)
{
    size_t *n = ctx;
    for (size_t k = 0; k < ostel_store_request_ncols(); k++)
        if (r->text[k])
            *n += strlen(r->text[k]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    size_t n = 0;
    char err[200];
    ostel_store_requests_parse(buf, size, on_row, &n, err, sizeof(err));
    free(buf);
    return 0;
}
