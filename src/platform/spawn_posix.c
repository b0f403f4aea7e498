/*
 * spawn_posix: starting a child with posix_spawn, for the backends that have no way to tie a
 * child's life to ostel's (macOS, the stub). Linux uses spawn_linux.c instead, which adds
 * PR_SET_PDEATHSIG. See ostel_platform_spawn() in platform.h.
 */
#include "platform/platform.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

extern char **environ;

int ostel_platform_spawn_posix(char *const argv[], const struct ostel_platform_spawn_opts *o,
                               pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, o->out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, o->out_fd, 2);
    if (o->close_fd >= 0)
        posix_spawn_file_actions_addclose(&fa, o->close_fd);
    if (o->out_fd > 2)
        posix_spawn_file_actions_addclose(&fa, o->out_fd);
    /* Own process group; default signal dispositions and an empty mask whatever ostel set up. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, argv[0], &fa, &attr, argv, o->envp ? o->envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}
