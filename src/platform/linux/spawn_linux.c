/*
 * spawn_linux: fork + execve so that the child can ask, before it becomes the program, to be killed
 * when ostel ends (PR_SET_PDEATHSIG). posix_spawn has no hook for that, and without it `kill -9`
 * of ostel left `ostel hog` holding gigabytes and `ostel run -- sleep 60` sleeping on.
 *
 * The kernel sends the signal when the THREAD that forked exits, not the process: ostel forks from
 * its main thread, which lives as long as ostel. The parent may already have died between fork and
 * prctl; the child then sees another parent in getppid() and exits at once.
 *
 * Between fork and execve the child only makes async-signal-safe calls (ostel has threads). An
 * execve failure travels back as an errno over a close-on-exec pipe: when this returns 0 the child
 * runs the program (or has already ended), just as after posix_spawn.
 */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static OSTEL_NORETURN void child_fail(int err_fd, int e)
{
    if (write(err_fd, &e, sizeof(e)) < 0) {
        /* the parent then sees the pipe close without an errno: nobody else to tell */
    }
    _exit(127);
}

static OSTEL_NORETURN void child_main(char *const argv[], const struct ostel_platform_spawn_opts *o,
                                      pid_t parent, int err_fd)
{
    if (o->die_with_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
            child_fail(err_fd, errno);
        if (getppid() != parent) /* ostel died before prctl: nobody to outlive */
            _exit(127);
    }
    if (setpgid(0, 0) != 0)
        child_fail(err_fd, errno);
    if (o->cgroup_fd >=
        0) { /* its own cgroup, before it runs anything: its OOM kills are its own */
        char digits[24];
        size_t n = 0;
        for (unsigned long v = (unsigned long)getpid(); v; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        char txt[24];
        for (size_t i = 0; i < n; i++)
            txt[i] = digits[n - 1 - i];
        if (write(o->cgroup_fd, txt, n) != (ssize_t)n)
            child_fail(err_fd, errno);
    }
    struct sigaction dfl;
    dfl.sa_handler = SIG_DFL;
    dfl.sa_flags = 0;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* EINVAL for the reserved ones is fine */
    int in = open("/dev/null", O_RDONLY);
    if (in < 0)
        child_fail(err_fd, errno);
    if ((in != 0 && dup2(in, 0) < 0) || dup2(o->out_fd, 1) < 0 || dup2(o->out_fd, 2) < 0)
        child_fail(err_fd, errno);
    if (in > 2)
        close(in);
    if (o->close_fd > 2)
        close(o->close_fd);
    if (o->out_fd > 2)
        close(o->out_fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(argv[0], argv, o->envp ? o->envp : environ);
    child_fail(err_fd, errno);
}

int ostel_platform_spawn(char *const argv[], const struct ostel_platform_spawn_opts *o, pid_t *pid)
{
    int ep[2];
    if (pipe(ep) != 0)
        return errno;
    fcntl(ep[0], F_SETFD, FD_CLOEXEC);
    fcntl(ep[1], F_SETFD, FD_CLOEXEC);
    /* The child must not run a handler of ostel's before it has reset them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        close(ep[0]);
        child_main(argv, o, parent, ep[1]);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(ep[1]);
    if (c < 0) {
        close(ep[0]);
        return fork_errno;
    }
    setpgid(c, c); /* also from here, as a shell does: no window where a group signal misses it */
    int child_errno = 0;
    ssize_t n;
    do
        n = read(ep[0], &child_errno, sizeof(child_errno));
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof(child_errno)) {
        int st;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR)
            ;
        return child_errno ? child_errno : ECHILD;
    }
    *pid = c;
    return 0;
}

const char *ostel_platform_spawn_guard(void)
{
    return "PR_SET_PDEATHSIG";
}
