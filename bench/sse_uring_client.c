/*
 * sse_uring_client: bench/sse_floor_client.c's least-work reader of the fake server's streams, with
 * io_uring in place of epoll + recv — the question it answers is whether any client, by a way of
 * reading the kernel offers, could cost much less per token than the epoll floor. Each connection
 * has one multishot receive (IORING_RECV_MULTISHOT) drawing from a ring of provided buffers; the
 * ring is IORING_SETUP_DEFER_TASKRUN, so the receives of every socket that got data run in one
 * io_uring_enter and no readiness event or recv system call is made per token. The kernel still
 * copies each segment out and sends each ACK (on loopback both the ACK's sending and its
 * processing on the server's socket happen in the reader's context). The same token counting and
 * ITL error as the floor's (one clock read per completion; the set-up, the counting and the result
 * are sse_least.h's).
 *
 *   cc -O2 -o sse_uring_client bench/sse_uring_client.c -luring -lm   (liburing-dev >= 2.3,
 *   kernel >= 6.1)
 *   sse_uring_client PORT STREAMS TOKENS   (prints "tokens N itl_err_p50_ms X p99 Y max Z")
 *   sse_uring_client --probe               (exit 0: the kernel has what the reader needs)
 */
#include "sse_least.h"

#include <errno.h>
#include <liburing.h>
#include <sys/mman.h>
#include <unistd.h>

#define NBUF 4096 /* provided buffers (a power of two) */
#define BUFSZ 4096
#define BGID 1

static void arm(struct io_uring *ring, int fd)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, (unsigned long long)fd);
}

static void arm_fd(int fd, void *ring)
{
    arm(ring, fd);
}

int main(int argc, char **argv)
{
    bool probe = argc == 2 && strcmp(argv[1], "--probe") == 0;
    if (argc != 4 && !probe) {
        fprintf(stderr, "usage: %s PORT STREAMS TOKENS | --probe\n", argv[0]);
        return 2;
    }
    struct io_uring ring;
    struct io_uring_params prm = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                           IORING_SETUP_CQSIZE,
                                  .cq_entries = 65536};
    int rc = io_uring_queue_init_params(4096, &ring, &prm);
    if (rc < 0) {
        fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-rc));
        return 1;
    }
    /* the provided buffers: a ring the kernel takes receive buffers from */
    size_t ring_bytes = NBUF * sizeof(struct io_uring_buf);
    struct io_uring_buf_ring *br =
        mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *bufs = malloc((size_t)NBUF * BUFSZ);
    if (br == MAP_FAILED || !bufs)
        return 1;
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID};
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) {
        fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-rc));
        return 1;
    }
    io_uring_buf_ring_init(br);
    for (int i = 0; i < NBUF; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i,
                              io_uring_buf_ring_mask(NBUF), i);
    io_uring_buf_ring_advance(br, NBUF);
    if (probe) /* this kernel has what the reader needs */
        return 0;

    struct sse_least s;
    if (sse_least_start(&s, atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), arm_fd, &ring) != 0)
        return 1;
    io_uring_submit(&ring);
    bool *closed = calloc(SSE_LEAST_MAXFD, sizeof(bool));
    while (s.open > 0) {
        struct __kernel_timespec ts = {.tv_sec = 5};
        struct io_uring_cqe *cqe;
        rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
        if (rc < 0 && rc != -EINTR) {
            fprintf(stderr, "wait: %s\n", strerror(-rc));
            break;
        }
        unsigned head, seen_cqes = 0, returned = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen_cqes++;
            int fd = (int)io_uring_cqe_get_data64(cqe);
            int r = cqe->res;
            long long now = sse_least_now();
            bool done = r <= 0 && r != -ENOBUFS && r != -ECANCELED;
            if (r > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
                unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                char *buf = bufs + (size_t)bid * BUFSZ;
                done = sse_least_scan(&s, fd, buf, r, now);
                io_uring_buf_ring_add(br, buf, BUFSZ, (unsigned short)bid,
                                      io_uring_buf_ring_mask(NBUF), (int)returned++);
            }
            if (closed[fd]) {
                /* a completion after the stream's end */
            } else if (done) {
                closed[fd] = true;
                close(fd); /* its multishot receive is cancelled when the ring ends */
                s.open--;
            } else if (!(cqe->flags & IORING_CQE_F_MORE)) {
                arm(&ring, fd); /* ended (buffers ran out): armed again */
            }
        }
        io_uring_buf_ring_advance(br, (int)returned);
        io_uring_cq_advance(&ring, seen_cqes);
    }
    io_uring_queue_exit(&ring);
    free(closed);
    return sse_least_finish(&s);
}
