/*
 * fuzz_prom_http: the Prometheus responder's request parser (run/prom.c) over arbitrary bytes, fed
 * whole and in every prefix the way recv() may deliver it; checks the invariants the responder
 * relies on. Corpus: tests/fuzz/corpus/prom_http (see its README).
 */
#include "run/prom.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t len)
{
    enum ostel_prom_http_method m = 0;
    char path[OSTEL_PROM_HTTP_MAX_PATH + 1];
    int rc = ostel_prom_http_parse(buf, len, &m, path);
    if (rc > 0) {
        if ((size_t)rc > len || rc > OSTEL_PROM_HTTP_MAX_REQUEST)
            abort(); /* the head lies inside what was read, within the bound */
        if (m != OSTEL_PROM_HTTP_GET && m != OSTEL_PROM_HTTP_HEAD)
            abort();
        size_t n = strlen(path);
        if (n == 0 || n > OSTEL_PROM_HTTP_MAX_PATH || path[0] != '/')
            abort();
    } else if (rc < 0 && rc != -400 && rc != -405 && rc != -414 && rc != -431 && rc != -505) {
        abort();
    } else if (rc == 0 && len >= OSTEL_PROM_HTTP_MAX_REQUEST) {
        abort(); /* never wait for more than the bound */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy: the parser must not read past len (ASan catches it on the heap) */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    for (size_t n = size > 64 ? size - 64 : 0; n <= size; n++)
        check(buf, n);
    free(buf);
    return 0;
}
