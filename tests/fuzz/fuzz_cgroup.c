/*
 * fuzz_cgroup: feeds arbitrary bytes to the memory cgroup parsers (cgroup_parse.c). They must never
 * crash or read outside the buffer. Corpus: tests/fuzz/corpus/cgroup/ (the fixtures' files and
 * hostile variants).
 */
#include "platform/linux/cgroup_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1); /* exact size: ASan sees any over-read */
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    uint64_t v = 0;
    enum ostel_cgroup_limit k = ostel_cgroup_parse_limit(buf, size, &v);
    if (k == OSTEL_CGROUP_LIMIT_BYTES && v >= OSTEL_CGROUP_V1_UNLIMITED)
        abort();
    ostel_cgroup_parse_bytes(buf, size, &v);
    struct ostel_cgroup_events ev;
    ostel_cgroup_parse_events(buf, size, &ev);
    if (ev.valid >> 4)
        abort();
    free(buf);
    return 0;
}
