/*
 * logparse_header: the model header facts the memory model needs beyond struct ostel_log_model
 * (head sizes, n_ff, n_swa), read from the raw print_info: / llm_load_print_meta: lines. Kept
 * as the first plain non-zero number each key has anywhere in the log; a per-layer array
 * ("n_ff = [1, 2, 3]") is no plain number and is skipped. Pure.
 */
#include "llama/logparse_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint32_t scan_u32(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p != '=')
        return 0;
    p++;
    while (p < end && *p == ' ')
        p++;
    uint64_t v = 0;
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9' && v < 100000000)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == d || (p < end && *p != '\r' && *p != ' ' && *p != '\n'))
        return 0; /* not a plain number (a per-layer array, for instance) */
    return (uint32_t)v;
}

void ostel_logparse_header_extra_line(struct ostel_str line, struct ostel_log_header_extra *out)
{
    static const char *const tags[] = {"print_info: ", "llm_load_print_meta: "};
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"n_embd_head_k", offsetof(struct ostel_log_header_extra, head_dim_k)},
        {"n_embd_head_v", offsetof(struct ostel_log_header_extra, head_dim_v)},
        {"n_ff", offsetof(struct ostel_log_header_extra, n_ff)},
        {"n_swa", offsetof(struct ostel_log_header_extra, n_swa)},
    };
    for (size_t t = 0; t < OSTEL_ARRAY_LEN(tags); t++) {
        long at = ostel_str_find(line, tags[t]);
        if (at < 0)
            continue;
        const char *p = line.p + at + strlen(tags[t]);
        const char *end = line.p + line.n;
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(keys); k++) {
            size_t kl = strlen(keys[k].key);
            if ((size_t)(end - p) > kl && memcmp(p, keys[k].key, kl) == 0 &&
                (p[kl] == ' ' || p[kl] == '=')) {
                uint32_t *f = (uint32_t *)((char *)out + keys[k].off);
                if (*f == 0)
                    *f = scan_u32(p + kl, end);
            }
        }
    }
}
