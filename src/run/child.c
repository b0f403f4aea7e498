/*
 * child: a new process group with stdout+stderr on one pipe, tied to ostel's life. See child.h.
 */
#include "run/child.h"

#include "platform/platform.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ostel's environment plus CUDA_DEVICE_ORDER=PCI_BUS_ID unless the user set it: CUDA's default
 * order is fastest first, NVML's is the PCI bus order, and with this llama.cpp's CUDA<k> is NVML's
 * GPU k, which matching its memory breakdown to gpu_metrics.csv needs (docs/gpu.md). NULL when
 * nothing is added. The array is the caller's to free; its strings are borrowed. */
static char **child_env(void)
{
    if (getenv("CUDA_DEVICE_ORDER"))
        return NULL;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **e = ostel_xcalloc(n + 2, sizeof(*e));
    if (n)
        memcpy(e, environ, n * sizeof(*e));
    e[n] = (char *)"CUDA_DEVICE_ORDER=PCI_BUS_ID";
    return e;
}

/* stdout and stderr on out_fd, in a new process group, signals reset, killed when ostel dies. */
static int spawn(char *const argv[], int out_fd, int close_fd, int cgroup_fd, pid_t *pid)
{
    char **env = child_env();
    struct ostel_platform_spawn_opts o = {out_fd, close_fd, true, cgroup_fd, env};
    int rc = ostel_platform_spawn(argv, &o, pid);
    free(env);
    return rc;
}

static int spawn_pipe(char *const argv[], struct ostel_child *c, int cgroup_fd)
{
    int p[2];
    c->pid = -1;
    c->out_fd = -1;
    c->reaped = false;
    if (pipe(p) != 0)
        return ostel_error("cannot create a pipe: %s", strerror(errno));
    pid_t pid;
    int rc = spawn(argv, p[1], p[0], cgroup_fd, &pid);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return ostel_error("cannot start '%s': %s", argv[0], strerror(rc));
    }
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->out_fd = p[0];
    return OSTEL_OK;
}

int ostel_child_spawn(char *const argv[], struct ostel_child *c)
{
    c->cgroup = NULL;
    return spawn_pipe(argv, c, -1);
}

int ostel_child_spawn_own_cgroup(char *const argv[], struct ostel_child *c)
{
    char why[256] = "";
    c->cgroup = ostel_platform_run_cgroup_create(why, sizeof(why));
    int rc = spawn_pipe(argv, c, ostel_platform_run_cgroup_fd(c->cgroup));
    if (rc != OSTEL_OK) {
        ostel_platform_run_cgroup_remove(c->cgroup);
        c->cgroup = NULL;
    }
    return rc;
}

int ostel_child_spawn_to_fd(char *const argv[], int out_fd, struct ostel_child *c)
{
    c->pid = -1;
    c->out_fd = -1;
    c->reaped = false;
    c->cgroup = NULL;
    pid_t pid;
    int rc = spawn(argv, out_fd, -1, -1, &pid);
    if (rc != 0)
        return ostel_error("cannot start '%s': %s", argv[0], strerror(rc));
    c->pid = pid;
    return OSTEL_OK;
}

int ostel_child_check_exit(const struct ostel_child *c, bool *exited)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    *exited = false;
    if (c->reaped) {
        *exited = true;
        return OSTEL_OK;
    }
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
        if (errno == EINTR)
            return OSTEL_OK;
        return ostel_error("waitid: %s", strerror(errno));
    }
    *exited = si.si_pid == c->pid;
    return OSTEL_OK;
}

int ostel_child_reap(struct ostel_child *c, int *wstatus)
{
    for (;;) {
        pid_t r = waitpid(c->pid, wstatus, 0);
        if (r == c->pid)
            break;
        if (r < 0 && errno != EINTR)
            return ostel_error("waitpid: %s", strerror(errno));
    }
    c->reaped = true;
    return OSTEL_OK;
}

void ostel_child_signal_group(const struct ostel_child *c, int sig)
{
    if (c->pid > 0)
        kill(-c->pid, sig);
}

bool ostel_child_group_alive(const struct ostel_child *c)
{
    return c->pid > 0 && (kill(-c->pid, 0) == 0 || errno == EPERM);
}

void ostel_child_close(struct ostel_child *c)
{
    if (c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    ostel_platform_run_cgroup_remove(c->cgroup);
    c->cgroup = NULL;
}
