/*
 * spawn_darwin: children are started with posix_spawn; this backend has no way to have them killed
 * when ostel dies by SIGKILL (Linux has PR_SET_PDEATHSIG, see spawn_linux.c).
 */
#include "platform/platform.h"

int ostel_platform_spawn(char *const argv[], const struct ostel_platform_spawn_opts *o, pid_t *pid)
{
    return ostel_platform_spawn_posix(argv, o, pid);
}

const char *ostel_platform_spawn_guard(void)
{
    return "none";
}
