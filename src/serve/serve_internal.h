/*
 * serve_internal: what the files of src/serve/ share and nothing else sees.
 */
#ifndef OSTEL_SERVE_INTERNAL_H
#define OSTEL_SERVE_INTERNAL_H

#include "serve/serve.h"
#include "util/util.h"

#include <stdint.h>

/* One blocking request: GET (body NULL) or POST of JSON. out collects the answer (capped by its
 * max). Returns 0 when an HTTP answer came (status set), OSTEL_ERR with err otherwise. */
int ostel_serve_http(const char *url, const char *body, double timeout_s, struct ostel_buf *out,
                     long *status, char *err, size_t err_size);
/* URL/tokenize of text (no special tokens added); *ids owned by the caller (free). */
int ostel_serve_tokenize(const char *url, const char *text, int32_t **ids, size_t *n, char *err,
                         size_t err_size);

/* Adds to each level's telemetry in o->json the GPU ("gpu": gpu_metrics.csv's rows inside the
 * level's span) and the server's gauges ("server": server_metrics.csv's busy slots, deferred
 * requests, KV cache) read from DIR; an absent file adds nothing. Prints nothing. */
void ostel_serve_level_telemetry_extra(const char *dir, const struct ostel_serve_outcome *o);

#endif
