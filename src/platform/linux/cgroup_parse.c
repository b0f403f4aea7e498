/*
 * cgroup_parse: the memory controller's files, parsed (see cgroup_parse.h).
 */
#include "platform/linux/cgroup_parse.h"

#include "platform/linux/procfs_parse.h"

#include <string.h>

/* One token of a one-value file: the bytes before a final "\n"; nothing else may follow. */
static bool one_token(const char *buf, size_t len, struct ostel_str *tok)
{
    if (len && buf[len - 1] == '\n')
        len--;
    if (len == 0 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n' || buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\0')
            return false;
    *tok = ostel_str_make(buf, len);
    return true;
}

static bool decimal(struct ostel_str t, uint64_t *out)
{
    uint64_t v = 0;
    if (t.n == 0 || t.n > 20)
        return false;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(t.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

enum ostel_cgroup_limit ostel_cgroup_parse_limit(const char *buf, size_t len, uint64_t *bytes)
{
    struct ostel_str t;
    if (!one_token(buf, len, &t))
        return OSTEL_CGROUP_LIMIT_BAD;
    if (ostel_str_eq(t, "max"))
        return OSTEL_CGROUP_LIMIT_NONE;
    uint64_t v;
    if (!decimal(t, &v))
        return OSTEL_CGROUP_LIMIT_BAD;
    if (v >= OSTEL_CGROUP_V1_UNLIMITED)
        return OSTEL_CGROUP_LIMIT_NONE;
    *bytes = v;
    return OSTEL_CGROUP_LIMIT_BYTES;
}

bool ostel_cgroup_parse_bytes(const char *buf, size_t len, uint64_t *bytes)
{
    struct ostel_str t;
    return one_token(buf, len, &t) && decimal(t, bytes);
}

void ostel_cgroup_parse_events(const char *buf, size_t len, struct ostel_cgroup_events *out)
{
    memset(out, 0, sizeof(*out));
    static const char *const keys[] = {"high", "max", "oom", "oom_kill"};
    uint64_t *dst[] = {&out->high, &out->max, &out->oom, &out->oom_kill};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(keys); k++)
        if (ostel_procfs_find_u64(buf, len, keys[k], dst[k]))
            out->valid |= 1u << k;
}
