/*
 * prom: live telemetry for Prometheus (docs/fleet.md). `--metrics-listen 127.0.0.1:9464` serves
 * the latest sample of the run in progress in the text exposition format (version 0.0.4) from a
 * tiny HTTP/1.1 responder on a loopback address; `--metrics-textfile PATH` writes the same text at
 * the end of each run for node_exporter's textfile collector (written to PATH.tmp, then renamed).
 *
 * Names follow Prometheus' conventions: the ostel_ prefix, base units as suffixes (_bytes,
 * _seconds), _total on counters, no colons; labels run, tag, model (and phase where it varies).
 * The sampler thread feeds it (ostel_prom_tap), the runner's output loop tells it the phase, the
 * listener thread reads it; one mutex guards the state. Every function accepts p == NULL and does
 * nothing, so callers hook it in with one line.
 */
#ifndef OSTEL_PROM_H
#define OSTEL_PROM_H

#include "llama/logparse.h"
#include "platform/platform.h"
#include "run/gpu_aggregate.h"
#include "util/util.h"

struct ostel_prom;

/*
 * Starts the exporter. listen: "HOST:PORT" with HOST a loopback address (127.0.0.1, [::1],
 * localhost) or NULL for none; textfile: a path or NULL. Returns NULL after printing an error (a
 * bad or non-loopback address, a port in use). Free with ostel_prom_stop().
 */
struct ostel_prom *ostel_prom_start(const char *listen, const char *textfile);
/* Stops the listener thread and frees everything. */
void ostel_prom_stop(struct ostel_prom *p);
/* The port actually bound (useful with port 0), or 0. */
int ostel_prom_port(const struct ostel_prom *p);

/* A run begins: its labels (borrowed strings are copied; NULL = ""). Clears the previous run's
 * values. */
void ostel_prom_run_begin(struct ostel_prom *p, const char *run, const char *tag,
                          const char *model);
/* A notable log line arrived (runner): moves the live phase (load, eval, teardown). */
void ostel_prom_event(struct ostel_prom *p, enum ostel_logparse_event e);
/* The sampler's callback: one raw sample of the watched tree and the system. arg is the prom. */
void ostel_prom_tap(void *arg, const struct ostel_platform_sample *s);
/* The GPU sampler's callback (run/gpu_sampler.h's ostel_gpu_tap_fn): one GPU's latest row and its
 * energy since the run began (NAN = no counter). arg is the prom. */
void ostel_prom_gpu_tap(void *arg, const struct ostel_gpu_row *row, double energy_total_j);
/* The log's throughput once parsed (NAN = not printed). */
void ostel_prom_set_tps(struct ostel_prom *p, double prompt_tps, double gen_tps);
/* The run ended with `status` ("ok", "failed", …): phase "done"; writes the textfile, if any. */
int ostel_prom_run_end(struct ostel_prom *p, const char *status);

/* The exposition text of the current state into b (appended). */
void ostel_prom_format(struct ostel_prom *p, struct ostel_buf *b);

/* ---- the HTTP responder's request parser (pure; fuzzed) ---- */

/* Bounds of a request the responder reads. */
#define OSTEL_PROM_HTTP_MAX_REQUEST 8192
#define OSTEL_PROM_HTTP_MAX_PATH 256

enum ostel_prom_http_method { OSTEL_PROM_HTTP_GET = 1, OSTEL_PROM_HTTP_HEAD };

/*
 * Parses the request head in buf[0..len) (no NUL needed). Returns 0 when it is incomplete (read
 * more), the length of the head (through the blank line) when complete, with *method and path
 * (NUL-terminated, query string cut off) set; or a negative HTTP status for a request to refuse:
 * -400 malformed, -405 a method other than GET/HEAD, -414 a path longer than
 * OSTEL_PROM_HTTP_MAX_PATH, -431 a head longer than OSTEL_PROM_HTTP_MAX_REQUEST, -505 not HTTP/1.x.
 */
int ostel_prom_http_parse(const char *buf, size_t len, enum ostel_prom_http_method *method,
                          char path[OSTEL_PROM_HTTP_MAX_PATH + 1]);

#endif
