/*
 * cgroup_linux: reading a process's memory cgroup, and per-run cgroups (see platform.h). The
 * reader takes its roots as arguments so that the unit tests can point it at fixture trees
 * (tests/data/proc/cgroup-v1, cgroup-v2).
 */
#ifndef OSTEL_CGROUP_LINUX_H
#define OSTEL_CGROUP_LINUX_H

#include "platform/platform.h"

/*
 * ostel_platform_cgroup_read() with /proc at proc_root and the cgroup mounts below cg_root (v2 at
 * cg_root itself, v1's memory hierarchy at cg_root/memory). pid 0 reads proc_root/self/cgroup.
 */
bool ostel_platform_cgroup_read_at(const char *proc_root, const char *cg_root, pid_t pid,
                                   struct ostel_platform_cgroup *out);

#endif
