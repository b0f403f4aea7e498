/*
 * sse_floor_client: the least a client can do to read the fake server's streams, for
 * bench/serve_bench.py's floor line: N connections, one POST each, then epoll (level-triggered)
 * and one recv() per ready socket into a 16 KiB buffer, a clock read per recv, token events
 * counted by their "data: {" prefix, the stream done at "[DONE]". No HTTP parsing, no JSON, no
 * output: what is left is the kernel's cost per token (epoll_wait, recv, the ACKs it sends) and a
 * loop. No real client can cost less per token on this machine. It also measures the ITL error
 * as serve_bench.py does (the send time after each token's '@', the recv's clock read as the
 * arrival), the least any client can see with the same machine load.
 *
 *   cc -O2 -o sse_floor_client bench/sse_floor_client.c -lm
 *   sse_floor_client PORT STREAMS TOKENS   (prints "tokens N itl_err_p50_ms X p99 Y max Z")
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT STREAMS TOKENS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[2]), tokens = atoi(argv[3]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ep = epoll_create1(0);
    char body[256], req[512];
    int bl = snprintf(body, sizeof(body),
                      "{\"model\":\"ostel\",\"prompt\":[1,2,3,4,5,6,7,8],\"max_tokens\":%d,"
                      "\"stream\":true}",
                      tokens);
    int rlen = snprintf(req, sizeof(req),
                        "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                        "application/json\r\nContent-Length: %d\r\n\r\n%s",
                        bl, body);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            send(fd, req, (size_t)rlen, 0) != rlen) {
            perror("connect");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    long long seen = 0;
    /* per stream (by fd): the last token's arrival and send; the errors found */
    long long *last_a = calloc(65536, sizeof(long long)),
              *last_s = calloc(65536, sizeof(long long));
    size_t nerr = 0, caperr = (size_t)n * (size_t)tokens + 1;
    double *err = malloc(caperr * sizeof(double));
    int open = n;
    static char buf[16384];
    struct epoll_event evs[512];
    while (open > 0) {
        int k = epoll_wait(ep, evs, 512, 5000);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd;
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            long long now =
                t.tv_sec * 1000000000ll + t.tv_nsec; /* the arrival, as a client keeps */
            bool done = r <= 0;
            for (char *p = buf; r > 0 && (p = memmem(p, (size_t)(buf + r - p), "data: ", 6));
                 p += 6) {
                if (p[6] == '{') {
                    seen++;
                    char *at = memchr(p, '@', (size_t)(buf + r - p));
                    char *eol = memchr(p, '\n', (size_t)(buf + r - p));
                    if (at && eol && at < eol && fd < 65536) {
                        long long sent = strtoll(at + 1, NULL, 10);
                        if (last_s[fd] && nerr < caperr)
                            err[nerr++] =
                                fabs((double)((now - last_a[fd]) - (sent - last_s[fd]))) / 1e6;
                        last_a[fd] = now;
                        last_s[fd] = sent;
                    }
                } else if (p[6] == '[') {
                    done = true;
                }
            }
            if (done) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                open--;
            }
        }
    }
    /* the closing chunk (usage) is a data: { event too */
    qsort(err, nerr, sizeof(double), cmp_d);
    printf("tokens %lld itl_err_p50_ms %.3f p99 %.3f max %.3f\n", seen - (n - open),
           nerr ? err[nerr / 2] : 0.0, nerr ? err[(size_t)(0.99 * (double)(nerr - 1))] : 0.0,
           nerr ? err[nerr - 1] : 0.0);
    free(err);
    free(last_a);
    free(last_s);
    return open == 0 ? 0 : 1;
}
