/*
 * darwin_parse: the pure computations of the macOS backend (see darwin_parse.h).
 */
#include "platform/darwin/darwin_parse.h"

#include <string.h>

uint64_t ostel_darwin_mach_to_ns(uint64_t ticks, uint32_t numer, uint32_t denom)
{
    if (denom == 0 || numer == 0)
        numer = denom = 1;
    if (numer == denom)
        return ticks;
    /* (q * denom + r) * numer / denom = q * numer + r * numer / denom; r < denom < 2^32 keeps the
     * second product within 64 bits. */
    uint64_t q = ticks / denom, r = ticks % denom;
    uint64_t hi;
    if (q != 0 && numer > UINT64_MAX / q)
        return UINT64_MAX;
    hi = q * numer;
    uint64_t lo = r * numer / denom;
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

size_t ostel_darwin_clean_pids(pid_t *pids, int returned, size_t cap)
{
    if (returned <= 0)
        return 0;
    size_t lim = (size_t)returned < cap ? (size_t)returned : cap;
    size_t n = 0;
    for (size_t i = 0; i < lim; i++)
        if (pids[i] > 0)
            pids[n++] = pids[i];
    return n;
}

int ostel_darwin_pressure_flag(int64_t v)
{
    return (v == 1 || v == 2 || v == 4) ? (int)v : 0;
}

int ostel_darwin_avail_level(int64_t v)
{
    return (v >= 0 && v <= 100) ? (int)v : -1;
}

bool ostel_darwin_sysctl_int(const void *buf, size_t len, int64_t *out)
{
    if (len == sizeof(int32_t)) {
        int32_t v;
        memcpy(&v, buf, sizeof(v));
        *out = v;
        return true;
    }
    if (len == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, buf, sizeof(v));
        *out = v;
        return true;
    }
    return false;
}

uint64_t ostel_darwin_avail_bytes(const struct ostel_darwin_vm *vm, uint64_t page_size,
                                  uint64_t mem_total_bytes)
{
    uint64_t app = vm->internal_page_count > vm->purgeable_count
                       ? vm->internal_page_count - vm->purgeable_count
                       : 0;
    uint64_t used_pages = 0, used;
    if (!ostel_add_u64(app, vm->wire_count, &used_pages) ||
        !ostel_add_u64(used_pages, vm->compressor_page_count, &used_pages) ||
        !ostel_mul_u64(used_pages, page_size, &used))
        return 0;
    return used >= mem_total_bytes ? 0 : mem_total_bytes - used;
}

bool ostel_darwin_wired_limit_bytes(int64_t mb, uint64_t *bytes)
{
    if (mb < 0 || (uint64_t)mb > UINT64_MAX / 1048576)
        return false;
    *bytes = (uint64_t)mb * 1048576;
    return true;
}

static bool contains(const pid_t *v, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == pid)
            return true;
    return false;
}

size_t ostel_darwin_walk_tree(pid_t *tree, size_t *n, size_t cap, pid_t *scratch,
                              size_t scratch_cap, ostel_darwin_list_children_fn list, void *ctx,
                              bool *truncated)
{
    *truncated = false;
    for (size_t i = 0; i < *n; i++) {
        int got = list(ctx, tree[i], scratch, scratch_cap);
        if (got < 0)
            continue;
        if ((size_t)got >= scratch_cap)
            *truncated = true; /* a full buffer may have dropped some */
        for (size_t k = 0; k < (size_t)got && k < scratch_cap; k++) {
            pid_t c = scratch[k];
            if (c <= 0 || contains(tree, *n, c))
                continue;
            if (*n >= cap) {
                *truncated = true;
                break;
            }
            tree[(*n)++] = c;
        }
    }
    return *n;
}
