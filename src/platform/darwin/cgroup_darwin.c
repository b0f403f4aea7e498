/*
 * cgroup_darwin: this backend has no cgroups; every answer is "none" (see platform.h).
 */
#include "platform/platform.h"

#include <string.h>

bool ostel_platform_cgroup_read(pid_t pid, struct ostel_platform_cgroup *out)
{
    (void)pid;
    memset(out, 0, sizeof(*out));
    return false;
}

struct ostel_platform_run_cgroup *ostel_platform_run_cgroup_create(char *err, size_t err_size)
{
    if (err && err_size)
        strncpy(err, "no cgroups on this platform", err_size - 1)[err_size - 1] = '\0';
    return NULL;
}

int ostel_platform_run_cgroup_fd(const struct ostel_platform_run_cgroup *cg)
{
    (void)cg;
    return -1;
}

void ostel_platform_run_cgroup_remove(struct ostel_platform_run_cgroup *cg)
{
    (void)cg;
}

const char *ostel_platform_oom_scope(const struct ostel_platform *p)
{
    (void)p;
    return "none";
}
