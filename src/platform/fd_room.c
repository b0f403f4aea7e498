/*
 * fd_room: room for many open descriptors, made before it is needed. A load of a thousand streams
 * holds a thousand sockets, and the soft RLIMIT_NOFILE is often 1024. And the kernel's descriptor
 * table grows when a descriptor beyond its size is opened: on Linux, in a process with more than
 * one thread, each growth waits for an RCU grace period before the old table is freed (fs/file.c:
 * expand_fdtable → synchronize_rcu), 10-17 ms on a 2-vCPU VM, inside whichever call opened the
 * descriptor. ostel serve's event loop opened its streams' sockets mid-level and stood still that
 * long at each growth with every stream unread. POSIX only (getrlimit, fcntl): every backend.
 */
#include "platform/platform.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>

void ostel_platform_fd_limit_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t cur = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return;
#ifdef OPEN_MAX
    /* macOS refuses an unlimited soft limit for descriptors (its hard one is RLIM_INFINITY); its
     * setrlimit(2) says to ask for min(OPEN_MAX, rlim_max) instead */
    rlim_t open_max = (rlim_t)OPEN_MAX;
    if (open_max > cur) {
        rl.rlim_cur = open_max < rl.rlim_max ? open_max : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
#else
    (void)cur;
#endif
}

int ostel_platform_fd_room(int n)
{
    ostel_platform_fd_limit_raise();
    struct rlimit rl;
    if (n <= 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    int room = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)n ? n : (int)rl.rlim_cur;
    if (room <= 0)
        return 0;
    /* the lowest free descriptor at or above room - 1 makes the table hold room descriptors;
     * F_DUPFD never closes one in use (dup2 would) */
    int base = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (base < 0)
        return 0;
    int top = fcntl(base, F_DUPFD_CLOEXEC, room - 1);
    close(base);
    if (top >= 0)
        close(top);
    /* no free one up to the limit: the table holds room when the last of it is in use */
    return top >= 0 || fcntl(room - 1, F_GETFD) >= 0 ? room : 0;
}
