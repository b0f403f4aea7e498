/*
 * fnv: FNV-1a 64-bit (see fnv.h for the two offset bases).
 */
#include "util/fnv.h"

#include <stdio.h>

uint64_t ostel_fnv1a64(const void *data, size_t len, uint64_t basis)
{
    uint64_t h = basis;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull; /* the 64-bit FNV prime */
    }
    return h;
}

void ostel_fnv1a64_hex(const void *data, size_t len, uint64_t basis, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)ostel_fnv1a64(data, len, basis));
}
