/*
 * sse_least.h: what bench/sse_floor_client.c and bench/sse_uring_client.c share — the streams'
 * set-up (N connections to the fake server on 127.0.0.1, one POST each), the least parsing of what
 * a read returns (token events counted by their "data: {" prefix, the stream's end at "[DONE]",
 * the ITL error from the send time the fake server writes after each token's '@') and the printed
 * result. Each client differs only in how it reads. Header-only: each is built alone with cc.
 */
#ifndef SSE_LEAST_H
#define SSE_LEAST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define SSE_LEAST_MAXFD 65536

struct sse_least {
    int n, open;
    long long seen;             /* "data: {" events, the closing (usage) one of each stream too */
    long long *last_a, *last_s; /* per stream (by fd): the last token's arrival and send, ns */
    double *err;                /* the ITL errors found, ms */
    size_t nerr, caperr;
};

/* Connects n streams to 127.0.0.1:port and posts one streamed completion of `tokens` tokens on
 * each; calls add(fd, ctx) for each. Returns 0, or 1 after perror. */
static int sse_least_start(struct sse_least *s, int port, int n, int tokens,
                           void (*add)(int fd, void *ctx), void *ctx)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(s, 0, sizeof(*s));
    s->n = s->open = n;
    s->last_a = calloc(SSE_LEAST_MAXFD, sizeof(long long));
    s->last_s = calloc(SSE_LEAST_MAXFD, sizeof(long long));
    s->caperr = (size_t)n * (size_t)tokens + 1;
    s->err = malloc(s->caperr * sizeof(double));
    if (!s->last_a || !s->last_s || !s->err)
        return 1;
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
        if (fd >= 0) /* else socket()'s errno stays for perror */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (fd < 0 || fd >= SSE_LEAST_MAXFD ||
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            send(fd, req, (size_t)rlen, 0) != rlen) {
            perror("connect");
            return 1;
        }
        add(fd, ctx);
    }
    return 0;
}

/* The arrival, as a client keeps it: one clock read. */
static long long sse_least_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000ll + t.tv_nsec;
}

/* Counts the token events in what one read of stream fd returned (r bytes at buf, arrived at now)
 * and adds their ITL errors; returns whether the stream ended ([DONE]). */
static bool sse_least_scan(struct sse_least *s, int fd, char *buf, long r, long long now)
{
    bool done = false;
    for (char *p = buf; r > 0 && (p = memmem(p, (size_t)(buf + r - p), "data: ", 6)); p += 6) {
        if (p + 6 >= buf + r)
            break;
        if (p[6] == '{') {
            s->seen++;
            char *at = memchr(p, '@', (size_t)(buf + r - p));
            char *eol = memchr(p, '\n', (size_t)(buf + r - p));
            if (at && eol && at < eol) {
                long long sent = strtoll(at + 1, NULL, 10);
                if (s->last_s[fd] && s->nerr < s->caperr)
                    s->err[s->nerr++] =
                        fabs((double)((now - s->last_a[fd]) - (sent - s->last_s[fd]))) / 1e6;
                s->last_a[fd] = now;
                s->last_s[fd] = sent;
            }
        } else if (p[6] == '[') {
            done = true;
        }
    }
    return done;
}

static int sse_least_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Prints "tokens N itl_err_p50_ms X p99 Y max Z" (the closing chunks not counted as tokens) and
 * returns the exit status: 0 when every stream ended. */
static int sse_least_finish(struct sse_least *s)
{
    qsort(s->err, s->nerr, sizeof(double), sse_least_cmp);
    size_t k = s->nerr;
    printf("tokens %lld itl_err_p50_ms %.3f p99 %.3f max %.3f\n", s->seen - (s->n - s->open),
           k ? s->err[k / 2] : 0.0, k ? s->err[(size_t)(0.99 * (double)(k - 1))] : 0.0,
           k ? s->err[k - 1] : 0.0);
    free(s->err);
    free(s->last_a);
    free(s->last_s);
    return s->open == 0 ? 0 : 1;
}

#endif
