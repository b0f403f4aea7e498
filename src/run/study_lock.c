/*
 * study_lock: one writer per study directory. DIR/.lock is held with flock(LOCK_EX) for as long as
 * the study runs; the kernel releases it when the process ends however it ends (kill -9 included),
 * so a killed study never leaves a stale lock. The holder writes its pid into the file for the
 * refusal message; the pid is information only, the flock is the lock. The descriptor is
 * close-on-exec, so llama.cpp and the background load never hold it.
 */
#include "run/study.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The holder's pid as written in the lock file, or 0 when it cannot be read (not yet written). */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

int ostel_study_lock(const char *dir, bool wait)
{
    char *path = ostel_xasprintf("%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        int e = errno;
        ostel_error("study: cannot open the lock file '%s': %s", path, strerror(e));
        free(path);
        return -1;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (rc != 0 && errno == EWOULDBLOCK && wait) {
        long pid = lock_holder(fd);
        if (pid)
            ostel_warn("study: '%s' is in use by another ostel study (pid %ld); waiting", dir, pid);
        else
            ostel_warn("study: '%s' is in use by another ostel study; waiting", dir);
        while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
            ;
    }
    if (rc != 0) {
        int e = errno;
        long pid = lock_holder(fd);
        if (e != EWOULDBLOCK)
            ostel_error("study: cannot lock '%s': %s", path, strerror(e));
        else if (pid)
            ostel_error("study: '%s' is in use by another ostel study (pid %ld); wait for it, or "
                        "use --wait",
                        dir, pid);
        else
            ostel_error("study: '%s' is in use by another ostel study; wait for it, or use --wait",
                        dir);
        close(fd);
        free(path);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        ostel_warn("study: cannot write the pid into '%s': %s", path, strerror(errno));
    free(path);
    return fd;
}

void ostel_study_unlock(int fd)
{
    if (fd < 0)
        return;
    /* The file stays (removing it would race a second study that has it open); emptied, it names
     * no holder. */
    (void)!ftruncate(fd, 0);
    close(fd);
}
