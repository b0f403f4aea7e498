/*
 * poller_poll: the portable poller, poll() over every watched descriptor (platform/poller.h),
 * included by the darwin and stub backends. Its cost grows with the watched sockets.
 */
#ifndef OSTEL_POLLER_POLL_H
#define OSTEL_POLLER_POLL_H

#include "platform/poller.h"
#include "util/util.h"

#include <poll.h>
#include <stdlib.h>

struct ostel_poller {
    struct pollfd *pfd;
    size_t n, cap;
};

struct ostel_poller *ostel_poller_new(void)
{
    return ostel_xcalloc(1, sizeof(struct ostel_poller));
}

void ostel_poller_free(struct ostel_poller *p)
{
    if (!p)
        return;
    free(p->pfd);
    free(p);
}

int ostel_poller_set(struct ostel_poller *p, int fd, bool in, bool out)
{
    size_t i = 0;
    while (i < p->n && p->pfd[i].fd != fd)
        i++;
    if (i == p->n) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 64;
            p->pfd = ostel_xrealloc(p->pfd, p->cap * sizeof(*p->pfd));
        }
        p->pfd[p->n++].fd = fd;
    }
    p->pfd[i].events = (short)((in ? POLLIN : 0) | (out ? POLLOUT : 0));
    p->pfd[i].revents = 0;
    return OSTEL_OK;
}

void ostel_poller_remove(struct ostel_poller *p, int fd)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->pfd[i].fd == fd) {
            p->pfd[i] = p->pfd[--p->n];
            return;
        }
}

int ostel_poller_wait(struct ostel_poller *p, int timeout_ms, struct ostel_poller_event *ev,
                      int max)
{
    if (poll(p->pfd, (nfds_t)p->n, timeout_ms) <= 0)
        return 0;
    int k = 0;
    for (size_t i = 0; i < p->n && k < max; i++) {
        short r = p->pfd[i].revents;
        if (!r)
            continue;
        ev[k].fd = p->pfd[i].fd;
        ev[k].in = (r & (POLLIN | POLLHUP)) != 0;
        ev[k].out = (r & POLLOUT) != 0;
        ev[k].err = (r & (POLLERR | POLLNVAL)) != 0;
        k++;
    }
    return k;
}

#endif
