/*
 * budget: the host memory a run may use now, as `ostel fit` budgets it — MemAvailable (RAM when
 * that is unknown), or the room left in the memory cgroup ostel runs in (limit - usage) when that
 * is less: inside a container or a systemd slice the cgroup OOM-kills long before MemAvailable runs
 * out. Pure: no I/O, no allocation; fed by ostel_platform_cgroup_read() (or, in the unit tests, by
 * the reader over fixture trees).
 */
#include "platform/platform.h"

#include <stdio.h>
#include <string.h>

void ostel_platform_choose_budget(uint64_t avail_bytes, uint64_t ram_bytes,
                                  const struct ostel_platform_cgroup *cg,
                                  struct ostel_platform_budget *out)
{
    memset(out, 0, sizeof(*out));
    const char *host = avail_bytes ? "MemAvailable" : "RAM";
    out->bytes = avail_bytes ? avail_bytes : ram_bytes;
    out->bound = !out->bytes   ? OSTEL_PLATFORM_BUDGET_UNKNOWN
                 : avail_bytes ? OSTEL_PLATFORM_BUDGET_MEM_AVAILABLE
                               : OSTEL_PLATFORM_BUDGET_RAM;
    snprintf(out->src, sizeof(out->src), "%s", host);
    if (!cg || cg->version == 0 || !cg->limited)
        return;
    /* usage unknown: the whole limit is the room (an upper bound, still tighter than none) */
    uint64_t used = cg->has_usage ? cg->usage_bytes : 0;
    uint64_t room = used < cg->limit_bytes ? cg->limit_bytes - used : 0;
    if (out->bytes && room >= out->bytes)
        return;
    out->bytes = room ? room : 1; /* a full cgroup: 0 would read as unknown */
    out->bound = OSTEL_PLATFORM_BUDGET_CGROUP;
    snprintf(out->src, sizeof(out->src), "cgroup v%d %s - usage, below %s", cg->version,
             cg->limit_src ? cg->limit_src : "limit", host);
}
