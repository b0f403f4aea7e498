/*
 * fake_sse_server: a stand-in for llama-server, written for ostel's client benchmark and its fault
 * tests. It listens on 127.0.0.1 only and answers, over HTTP/1.1 with keep-alive:
 *   GET  /health          200 {"status":"ok"}
 *   POST /tokenize        {"tokens":[...]}: one token per whitespace-separated word
 *   GET  /metrics         a few Prometheus lines in llama-server's names
 *   POST /v1/completions  an SSE stream (chunked): max_tokens chunks, one every 1/--rate seconds,
 *                         at absolute deadlines, then a chunk with usage and timings, then [DONE]
 * Faults (for tests): --fault KIND --fault-every K applies KIND to every K-th completion:
 *   500 (an HTTP 500 with an error object), truncate (the connection closed halfway through the
 *   stream), badjson (a malformed event halfway through), exit (the server exits halfway through).
 * --cache-check N: each answer's timings.cache_n is what a prompt cache holding the last N prompts
 * could reuse — 1 (the BOS a real server adds) + the longest prefix, of the first 16 prompt tokens,
 * that the prompt shares with one of them; 0 for the first prompt. (Without it cache_n is 0.)
 * At exit (SIGINT/SIGTERM) it prints its own send-gap error: the time each token left minus its
 * deadline, p50/p99/max in µs, so the client's ITL error can be told from the server's.
 *
 *   cc -O2 -o fake_sse_server bench/fake_sse_server.c -lm
 *   fake_sse_server --port 0 --rate 20 --port-file FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 65536
#define INBUF 65536

struct conn {
    int fd;
    char in[INBUF];
    size_t inlen;
    bool streaming;
    int tokens_left, tokens_total, sent;
    int64_t next_ns, start_ns;
    int fault; /* 0 none, else the kind for this stream */
    int prompt_n;
    int cache_n;
    struct conn *qnext; /* FIFO of streams by deadline */
    bool queued;
};

enum { F_NONE, F_500, F_TRUNC, F_BADJSON, F_EXIT };

static volatile sig_atomic_t g_stop;
static struct conn *g_conns[MAXC];
static struct conn *q_head, *q_tail;
static int64_t gap_ns = 50000000;
static int fault_kind = F_NONE, fault_every = 0;
static long completions;
#define SEEN_TOK 16
#define SEEN_MAX 200000
static long cache_check;          /* --cache-check N: prompts remembered, 0 = off */
static int32_t (*seen)[SEEN_TOK]; /* a ring of the last cache_check prompts' first tokens */
static int *seen_len;
static long nseen, seen_next;
static double *lag_us;
static size_t nlag, caplag;
static long long tokens_sent;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static void on_sig(int s)
{
    (void)s;
    g_stop = 1;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            /* a slow reader: wait until it drains (the benchmark's client must keep up) */
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_chunk(int fd, const char *data, size_t n)
{
    char head[32];
    int h = snprintf(head, sizeof(head), "%zx\r\n", n);
    char buf[4096];
    if (n + (size_t)h + 2 > sizeof(buf))
        return -1;
    memcpy(buf, head, (size_t)h);
    memcpy(buf + h, data, n);
    memcpy(buf + h + n, "\r\n", 2);
    return send_all(fd, buf, (size_t)h + n + 2);
}

static void close_conn(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1; /* freed lazily: it may still sit in the queue */
    c->streaming = false;
}

static void respond(struct conn *c, int code, const char *ctype, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: keep-alive\r\n\r\n",
                     code,
                     code == 200   ? "OK"
                     : code == 404 ? "Not Found"
                                   : "Error",
                     ctype, strlen(body));
    send_all(c->fd, head, (size_t)n);
    send_all(c->fd, body, strlen(body));
}

static void enqueue(struct conn *c)
{
    c->qnext = NULL;
    c->queued = true;
    if (q_tail)
        q_tail->qnext = c;
    else
        q_head = c;
    q_tail = c;
}

/* --cache-check: 1 + the longest prefix body's prompt shares with an earlier one (see the top). */
static int cache_n_of(const char *body)
{
    const char *p = strstr(body, "\"prompt\"");
    if (!cache_check || !p || !(p = strchr(p, '[')))
        return 0;
    int32_t t[SEEN_TOK];
    int n = 0;
    for (p++; n < SEEN_TOK && *p && *p != ']';) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        t[n++] = (int32_t)v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    int best = -1;
    for (long i = 0; i < nseen; i++) {
        int k = 0;
        while (k < n && k < seen_len[i] && seen[i][k] == t[k])
            k++;
        if (k > best)
            best = k;
    }
    if (!seen) {
        seen = calloc((size_t)cache_check, sizeof(*seen));
        seen_len = calloc((size_t)cache_check, sizeof(*seen_len));
        if (!seen || !seen_len)
            abort();
    }
    memcpy(seen[seen_next], t, (size_t)n * sizeof(t[0]));
    seen_len[seen_next] = n;
    seen_next = (seen_next + 1) % cache_check;
    if (nseen < cache_check)
        nseen++;
    return best < 0 ? 0 : 1 + best;
}

static void start_stream(struct conn *c, int max_tokens, int prompt_n, int cache_n)
{
    completions++;
    c->fault = fault_every > 0 && completions % fault_every == 0 ? fault_kind : F_NONE;
    if (c->fault == F_500) {
        respond(c, 500, "application/json",
                "{\"error\":{\"code\":500,\"message\":\"injected \\\"fault\\\" <b>\",\"type\":"
                "\"server_error\"}}");
        return;
    }
    const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
    if (send_all(c->fd, head, sizeof(head) - 1) != 0)
        return;
    c->streaming = true;
    c->tokens_total = c->tokens_left = max_tokens > 0 ? max_tokens : 16;
    c->sent = 0;
    c->prompt_n = prompt_n;
    c->cache_n = cache_n;
    c->start_ns = now_ns();
    c->next_ns = c->start_ns + gap_ns;
    enqueue(c);
}

/* Sends the stream's next token (or its end); returns false when the stream is over. */
static bool stream_step(int ep, struct conn *c, int64_t now)
{
    if (nlag == caplag) {
        caplag = caplag ? caplag * 2 : 1 << 16;
        lag_us = realloc(lag_us, caplag * sizeof(double));
    }
    lag_us[nlag++] = (double)(now - c->next_ns) / 1e3;
    char ev[1024];
    int n;
    if (c->fault && c->sent == c->tokens_total / 2) {
        if (c->fault == F_EXIT)
            exit(3);
        if (c->fault == F_TRUNC) {
            close_conn(ep, c);
            return false;
        }
        if (c->fault == F_BADJSON) {
            n = snprintf(ev, sizeof(ev), "data: {\"choices\":[{\"text\":\"x\",,}\n\n");
            send_chunk(c->fd, ev, (size_t)n);
            c->fault = F_NONE;
        }
    }
    if (c->tokens_left > 0) {
        /* the text carries the send time (CLOCK_MONOTONIC ns): a client on this machine can
         * pair each arrival with its send and measure its own ITL error */
        n = snprintf(ev, sizeof(ev),
                     "data: {\"choices\":[{\"text\":\" tok%d@%lld\",\"index\":0,"
                     "\"logprobs\":null,\"finish_reason\":null}],\"created\":1,\"id\":\"x\","
                     "\"model\":\"fake\",\"object\":\"text_completion\"}\n\n",
                     c->sent, (long long)now_ns());
        if (send_chunk(c->fd, ev, (size_t)n) != 0) {
            close_conn(ep, c);
            return false;
        }
        tokens_sent++;
        c->sent++;
        c->tokens_left--;
        return true;
    }
    double ms = (double)(now - c->start_ns) / 1e6;
    n = snprintf(ev, sizeof(ev),
                 "data: {\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,"
                 "\"finish_reason\":\"length\"}],\"created\":1,\"id\":\"x\",\"model\":\"fake\","
                 "\"object\":\"text_completion\",\"usage\":{\"completion_tokens\":%d,"
                 "\"prompt_tokens\":%d,\"total_tokens\":%d},\"timings\":{\"cache_n\":%d,"
                 "\"prompt_n\":%d,\"prompt_ms\":0.01,\"predicted_n\":%d,\"predicted_ms\":%.3f}}"
                 "\n\ndata: [DONE]\n\n",
                 c->sent, c->prompt_n, c->sent + c->prompt_n, c->cache_n, c->prompt_n, c->sent, ms);
    send_chunk(c->fd, ev, (size_t)n);
    send_all(c->fd, "0\r\n\r\n", 5);
    c->streaming = false;
    return false;
}

static int json_int(const char *body, const char *key, int dflt)
{
    const char *p = strstr(body, key);
    if (!p)
        return dflt;
    p = strchr(p, ':');
    return p ? atoi(p + 1) : dflt;
}

static int count_prompt(const char *body)
{
    const char *p = strstr(body, "\"prompt\"");
    if (!p || !(p = strchr(p, '[')))
        return 0;
    int n = 1;
    for (; *p && *p != ']'; p++)
        n += *p == ',';
    return n;
}

/* Handles every complete request in c->in. */
static void handle_input(int ep, struct conn *c)
{
    for (;;) {
        char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t hlen = (size_t)(end - c->in) + 4;
        /* a copy of the head: the buffer itself must stay intact while the body is incomplete
         * (a client may send the head and the body in two writes) */
        char head[INBUF];
        memcpy(head, c->in, hlen);
        head[hlen] = '\0';
        int clen = 0;
        char *cl = strcasestr(head, "content-length:");
        if (cl)
            clen = atoi(cl + 15);
        if (clen < 0 || hlen + (size_t)clen > INBUF - 1)
            clen = 0;
        if (hlen + (size_t)clen > c->inlen)
            return; /* body not complete */
        char body[INBUF];
        memcpy(body, c->in + hlen, (size_t)clen);
        body[clen] = '\0';
        char method[8] = "", path[128] = "";
        sscanf(head, "%7s %127s", method, path);
        memmove(c->in, c->in + hlen + clen, c->inlen - hlen - (size_t)clen);
        c->inlen -= hlen + (size_t)clen;
        if (!strcmp(path, "/health")) {
            respond(c, 200, "application/json", "{\"status\":\"ok\"}");
        } else if (!strcmp(path, "/metrics")) {
            char m[512];
            snprintf(m, sizeof(m),
                     "# HELP llamacpp:tokens_predicted_total Number of generation tokens.\n"
                     "# TYPE llamacpp:tokens_predicted_total counter\n"
                     "llamacpp:tokens_predicted_total %lld\nllamacpp:requests_processing %d\n",
                     tokens_sent, 0);
            respond(c, 200, "text/plain; version=0.0.4", m);
        } else if (!strcmp(path, "/tokenize")) {
            static char out[INBUF * 4];
            size_t o = (size_t)snprintf(out, sizeof(out), "{\"tokens\":[");
            int k = 0;
            bool inword = false;
            /* the words of the "content" string, up to its closing quote */
            const char *ct = strstr(body, "\"content\"");
            ct = ct ? strchr(ct + 10, '"') : NULL;
            for (const char *p = ct ? ct + 1 : ""; *p && *p != '"' && o + 16 < sizeof(out); p++) {
                if (*p == '\\' && p[1])
                    p++;
                bool sp = *p == ' ' || *p == '\n' || *p == '\t';
                if (!sp && !inword)
                    o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%d", k++ ? "," : "",
                                          100 + (int)(((unsigned char)*p * 31 + k) % 5000));
                inword = !sp;
            }
            snprintf(out + o, sizeof(out) - o, "]}");
            respond(c, 200, "application/json", out);
        } else if (!strcmp(path, "/v1/completions") && !strcmp(method, "POST")) {
            start_stream(c, json_int(body, "\"max_tokens\"", 16), count_prompt(body),
                         cache_n_of(body));
            if (c->streaming)
                return; /* further requests wait until this stream ends (HTTP/1.1) */
        } else {
            respond(c, 404, "application/json", "{\"error\":\"not found\"}");
        }
        (void)ep;
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    double rate = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--cache-check") && i + 1 < argc) {
            cache_check = atol(argv[++i]);
            if (cache_check < 0 || cache_check > SEEN_MAX)
                cache_check = SEEN_MAX;
        } else if (!strcmp(argv[i], "--fault-every") && i + 1 < argc)
            fault_every = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fault") && i + 1 < argc) {
            const char *k = argv[++i];
            fault_kind = !strcmp(k, "500")        ? F_500
                         : !strcmp(k, "truncate") ? F_TRUNC
                         : !strcmp(k, "badjson")  ? F_BADJSON
                         : !strcmp(k, "exit")     ? F_EXIT
                                                  : F_NONE;
        } else {
            fprintf(stderr,
                    "usage: %s [--port N] [--port-file F] [--rate TOK_PER_S] [--cache-check N] "
                    "[--fault 500|truncate|badjson|exit --fault-every K]\n",
                    argv[0]);
            return 2;
        }
    }
    gap_ns = (int64_t)(1e9 / rate);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 4096) != 0) {
        perror("bind");
        return 1;
    }
    socklen_t sl = sizeof(sa);
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%d\n", ntohs(sa.sin_port));
            fclose(f);
        }
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    while (!g_stop) {
        int64_t now = now_ns();
        /* send every token that is due */
        while (q_head && q_head->next_ns <= now) {
            struct conn *c = q_head;
            q_head = c->qnext;
            if (!q_head)
                q_tail = NULL;
            c->queued = false;
            if (c->fd < 0 || !c->streaming) {
                if (c->fd < 0)
                    free(c);
                continue;
            }
            if (stream_step(ep, c, now_ns())) {
                c->next_ns += gap_ns;
                enqueue(c);
            } else if (c->fd < 0) {
                free(c);
            } else {
                handle_input(ep, c); /* a pipelined request waiting */
            }
        }
        int timeout = 50;
        if (q_head) {
            int64_t d = q_head->next_ns - now_ns();
            timeout = d <= 0 ? 0 : (int)((d + 999999) / 1000000);
            if (timeout > 50)
                timeout = 50;
        }
        /* sub-millisecond precision: sleep the rest of the deadline when it is close */
        if (q_head && timeout <= 1) {
            int64_t d = q_head->next_ns - now_ns();
            if (d > 0) {
                struct timespec ts = {0, (long)d};
                nanosleep(&ts, NULL);
            }
            timeout = 0;
        }
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    if (fd >= MAXC) {
                        close(fd);
                        continue;
                    }
                    struct conn *nc = calloc(1, sizeof(*nc));
                    nc->fd = fd;
                    g_conns[fd] = nc;
                    struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e2);
                }
                continue;
            }
            ssize_t r = recv(c->fd, c->in + c->inlen, INBUF - 1 - c->inlen, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                bool queued = c->queued;
                close_conn(ep, c);
                if (!queued)
                    free(c);
                continue;
            }
            c->inlen += (size_t)r;
            if (!c->streaming)
                handle_input(ep, c);
        }
    }
    if (nlag) {
        qsort(lag_us, nlag, sizeof(double), cmp_d);
        fprintf(stderr,
                "fake_sse_server: %lld tokens sent; send lag behind deadline p50 %.1f us, p99 "
                "%.1f us, max %.1f us\n",
                tokens_sent, lag_us[nlag / 2], lag_us[(size_t)(0.99 * (double)(nlag - 1))],
                lag_us[nlag - 1]);
    }
    return 0;
}
