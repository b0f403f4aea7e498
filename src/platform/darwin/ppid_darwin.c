/*
 * ppid_darwin: a process's parent through proc_pidinfo(PROC_PIDTBSDINFO).
 */
#include "platform/platform.h"

#include <libproc.h>
#include <sys/proc_info.h>

pid_t ostel_platform_parent_pid(pid_t pid)
{
    struct proc_bsdinfo bi;
    if (pid <= 0 || proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &bi, sizeof(bi)) != (int)sizeof(bi))
        return -1;
    return (pid_t)bi.pbi_ppid;
}
