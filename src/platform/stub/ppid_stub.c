/*
 * ppid_stub: no way to tell a process's parent here.
 */
#include "platform/platform.h"

pid_t ostel_platform_parent_pid(pid_t pid)
{
    (void)pid;
    return -1;
}
