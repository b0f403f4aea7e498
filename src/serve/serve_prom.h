/*
 * serve_prom: the Prometheus text exposition format, as far as a scrape of llama-server's /metrics
 * needs: each sample line "name{labels} value [timestamp]" handed to a callback; comments (# HELP,
 * # TYPE) and blank lines skipped; a line that does not parse is skipped too (counted). Pure, never
 * prints.
 */
#ifndef OSTEL_SERVE_PROM_H
#define OSTEL_SERVE_PROM_H

#include "util/util.h"

/* name: the metric name with its labels ("llamacpp:requests_processing", "x{a=\"b\"}"), borrowed */
typedef void (*ostel_serve_prom_sample_fn)(void *ctx, struct ostel_str name, double value);

/* Returns the number of lines that could not be parsed. */
size_t ostel_serve_prom_parse(const char *text, size_t len, ostel_serve_prom_sample_fn fn,
                              void *ctx);

#endif
