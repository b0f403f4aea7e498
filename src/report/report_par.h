/*
 * report_par: runs fn(ctx, i) for i in [0, n) on a few threads (the machine's cores, at most 8);
 * fewer than `min_par` items run on the calling thread. fn must touch only item i's own data.
 * Used by the loaders: parsing 10,000 summaries is CPU-bound and every run is independent.
 */
#ifndef OSTEL_REPORT_PAR_H
#define OSTEL_REPORT_PAR_H

#include <stddef.h>

void ostel_report_parallel(size_t n, size_t min_par, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
