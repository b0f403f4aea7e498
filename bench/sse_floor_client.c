/*
 * sse_floor_client: the least a client can do to read the fake server's streams, for
 * bench/serve_bench.py's floor line: N connections, one POST each, then epoll (level-triggered)
 * and one recv() per ready socket into a 16 KiB buffer, a clock read per recv, token events
 * counted by their "data: {" prefix, the stream done at "[DONE]". No HTTP parsing, no JSON, no
 * output: what is left is the kernel's cost per token (epoll_wait, recv, the ACKs it sends) and a
 * loop. No real client can cost less per token on this machine. It also measures the ITL error
 * as serve_bench.py does (the send time after each token's '@', the recv's clock read as the
 * arrival), the least any client can see with the same machine load. The set-up, the counting
 * and the result are sse_least.h's, shared with sse_uring_client.c.
 *
 *   cc -O2 -o sse_floor_client bench/sse_floor_client.c -lm
 *   sse_floor_client PORT STREAMS TOKENS   (prints "tokens N itl_err_p50_ms X p99 Y max Z")
 */
#include "sse_least.h"

#include <sys/epoll.h>
#include <unistd.h>

static void watch(int fd, void *ctx)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(*(int *)ctx, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT STREAMS TOKENS\n", argv[0]);
        return 2;
    }
    int ep = epoll_create1(0);
    struct sse_least s;
    if (sse_least_start(&s, atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), watch, &ep) != 0)
        return 1;
    static char buf[16384];
    struct epoll_event evs[512];
    while (s.open > 0) {
        int k = epoll_wait(ep, evs, 512, 5000);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd;
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            long long now = sse_least_now();
            if (sse_least_scan(&s, fd, buf, (long)r, now) || r <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                s.open--;
            }
        }
    }
    return sse_least_finish(&s);
}
