/*
 * ppid_linux: a process's parent from /proc/<pid>/stat (the field after the parenthesised name,
 * which may itself hold spaces and parentheses: the last ')' ends it).
 */
#include "platform/platform.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pid_t ostel_platform_parent_pid(pid_t pid)
{
    if (pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
        return -1;
    char *end = NULL;
    long pp = strtol(rp + 4, &end, 10);
    if (end == rp + 4 || pp < 0)
        return -1;
    return (pid_t)pp;
}
