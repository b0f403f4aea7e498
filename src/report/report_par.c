/*
 * report_par: a minimal parallel for (see report_par.h): each thread takes the next index from
 * one atomic counter, so uneven items (a long metrics.csv) balance themselves.
 */
#include "report/report_par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define PAR_THREADS_MAX 8

struct par_job {
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    atomic_size_t next;
};

static void *par_worker(void *arg)
{
    struct par_job *job = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n)
            return NULL;
        job->fn(job->ctx, i);
    }
}

void ostel_report_parallel(size_t n, size_t min_par, void (*fn)(void *ctx, size_t i), void *ctx)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = ncpu > 1 ? (size_t)ncpu : 1;
    if (nthreads > PAR_THREADS_MAX)
        nthreads = PAR_THREADS_MAX;
    if (n < min_par || nthreads < 2) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    struct par_job job = {.fn = fn, .ctx = ctx, .n = n};
    atomic_init(&job.next, 0);
    pthread_t tid[PAR_THREADS_MAX];
    size_t started = 0;
    for (size_t t = 1; t < nthreads; t++)
        if (pthread_create(&tid[started], NULL, par_worker, &job) == 0)
            started++;
    par_worker(&job); /* the calling thread works too; it alone if no thread could start */
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}
