/*
 * poller (Linux): epoll, level-triggered (see platform/poller.h).
 */
#include "platform/poller.h"

#include "util/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct ostel_poller {
    int ep;
    struct epoll_event buf[OSTEL_POLLER_MAX];
};

struct ostel_poller *ostel_poller_new(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        ostel_error("epoll_create1: %s", strerror(errno));
        return NULL;
    }
    struct ostel_poller *p = ostel_xcalloc(1, sizeof(*p));
    p->ep = ep;
    return p;
}

void ostel_poller_free(struct ostel_poller *p)
{
    if (!p)
        return;
    close(p->ep);
    free(p);
}

int ostel_poller_set(struct ostel_poller *p, int fd, bool in, bool out)
{
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u);
    e.data.fd = fd;
    if (epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &e) == 0)
        return OSTEL_OK;
    if (errno == ENOENT && epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &e) == 0)
        return OSTEL_OK;
    return OSTEL_ERR;
}

void ostel_poller_remove(struct ostel_poller *p, int fd)
{
    (void)epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, NULL); /* EBADF/ENOENT: already gone */
}

int ostel_poller_wait(struct ostel_poller *p, int timeout_ms, struct ostel_poller_event *ev,
                      int max)
{
    if (max > (int)OSTEL_ARRAY_LEN(p->buf))
        max = (int)OSTEL_ARRAY_LEN(p->buf);
    int n = epoll_wait(p->ep, p->buf, max, timeout_ms);
    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++) {
        uint32_t e = p->buf[i].events;
        ev[i].fd = p->buf[i].data.fd;
        ev[i].in = (e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) != 0;
        ev[i].out = (e & EPOLLOUT) != 0;
        ev[i].err = (e & EPOLLERR) != 0;
    }
    return n;
}
