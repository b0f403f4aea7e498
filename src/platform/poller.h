/*
 * poller: waiting on many sockets at once at a cost that grows with the ready ones, not the
 * watched ones (ostel serve's client watches a thousand streams). Linux: epoll; elsewhere: poll()
 * over the set (src/platform/poller_poll.h). One interface, one implementation compiled.
 */
#ifndef OSTEL_POLLER_H
#define OSTEL_POLLER_H

#include <stdbool.h>

/* The most events one ostel_poller_wait returns: a thousand streams' sockets ready at once are
 * reported by one wait, not by two a batch's work apart. */
#define OSTEL_POLLER_MAX 4096

struct ostel_poller;
struct ostel_poller_event {
    int fd;
    bool in, out, err;
};

/* Returns NULL after printing an error. Free with ostel_poller_free(). */
struct ostel_poller *ostel_poller_new(void);
void ostel_poller_free(struct ostel_poller *p);
/* Watches fd for reading and/or writing (adds it, or changes what is watched). */
int ostel_poller_set(struct ostel_poller *p, int fd, bool in, bool out);
/* Stops watching fd (it may already be closed). */
void ostel_poller_remove(struct ostel_poller *p, int fd);
/* Waits at most timeout_ms for ready descriptors; fills ev[0..max) (max at most OSTEL_POLLER_MAX)
 * and returns how many (0 on timeout or EINTR). */
int ostel_poller_wait(struct ostel_poller *p, int timeout_ms, struct ostel_poller_event *ev,
                      int max);

#endif
