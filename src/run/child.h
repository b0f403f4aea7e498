/*
 * child: starting and ending the watched program. posix_spawn with an argv array (never a shell),
 * in a process group of its own so that ostel can signal the child and everything it started;
 * stdout and stderr share one pipe so the log keeps their arrival order; stdin is /dev/null. The
 * environment is ostel's, plus CUDA_DEVICE_ORDER=PCI_BUS_ID unless it is set (CUDA<k> = NVML's GPU
 * k; docs/gpu.md).
 *
 * Descriptors (run-command.h's habit): ostel_child_spawn() returns the pipe's read end in out_fd,
 * owned by the caller (ostel_child_close() closes it); the write end exists only in the child.
 */
#ifndef OSTEL_CHILD_H
#define OSTEL_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

struct ostel_platform_run_cgroup;

struct ostel_child {
    pid_t pid;  /* also the process group id */
    int out_fd; /* read end of the stdout+stderr pipe, non-blocking, close-on-exec */
    bool reaped;
    struct ostel_platform_run_cgroup *cgroup; /* owned: the child's own cgroup, or NULL */
};

/* Starts argv[0] (a path) with argv. Returns 0, or OSTEL_ERR after printing why. */
int ostel_child_spawn(char *const argv[], struct ostel_child *c);
/*
 * Like ostel_child_spawn, but the child's stdout and stderr go to out_fd (borrowed, e.g. a log
 * file) instead of a pipe; c->out_fd is -1. For background programs whose output nobody drains.
 */
int ostel_child_spawn_to_fd(char *const argv[], int out_fd, struct ostel_child *c);
/*
 * ostel_child_spawn in a memory cgroup of the child's own where this host allows one
 * (ostel_platform_run_cgroup_create), so that an OOM kill counted there is the child's and no other
 * process's; elsewhere exactly ostel_child_spawn. ostel_child_close() removes the cgroup.
 */
int ostel_child_spawn_own_cgroup(char *const argv[], struct ostel_child *c);
/* Sets *exited when the child has exited, without reaping it (its /proc entry stays readable). */
int ostel_child_check_exit(const struct ostel_child *c, bool *exited);
/* Reaps the child; *wstatus as from waitpid. Blocks until it has exited. */
int ostel_child_reap(struct ostel_child *c, int *wstatus);
/* Sends sig to the child's whole process group (ESRCH is not an error). */
void ostel_child_signal_group(const struct ostel_child *c, int sig);
/* True while any process of the child's group is alive. */
bool ostel_child_group_alive(const struct ostel_child *c);
void ostel_child_close(struct ostel_child *c);

#endif
