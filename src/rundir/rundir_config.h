/*
 * rundir_config: config.txt's one writer and one reader (docs/run-directory.md, "config.txt"):
 * `key=value` lines, a value never holding a line end, an unknown value empty. The runner writes
 * the file at the start and at the end, `ostel serve` rewrites it with its `serve_*` lines; the
 * study, the report and the store read it. Every write is atomic; nothing here prints but
 * ostel_config_read's error (util's file reader).
 */
#ifndef OSTEL_RUNDIR_CONFIG_H
#define OSTEL_RUNDIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* Appends the line KEY=VALUE to b, VALUE's line ends made spaces (NULL = empty). */
void ostel_config_line(struct ostel_buf *b, const char *key, const char *value);
/* Appends KEY=V, or KEY= when !valid. */
void ostel_config_num(struct ostel_buf *b, const char *key, long long v, bool valid);
/* Writes text as DIR/config.txt atomically; returns 0 or the errno of the step that failed. */
int ostel_config_write(const char *dir, const char *text, size_t len);

/* The next key=value line of *rest (advanced past it): its key and value, borrowed from the text.
 * Lines without '=' or with an empty key are skipped. Returns false at the end. */
bool ostel_config_next(struct ostel_str *rest, struct ostel_str *key, struct ostel_str *value);
/* The value of key's first line in text[0..len), as a new string (the caller frees it), or NULL. */
char *ostel_config_get(const char *text, size_t len, const char *key);
/* DIR/config.txt appended to out (at most max bytes). Returns 0, or OSTEL_ERR: silently when there
 * is none, after printing why when it cannot be read. */
int ostel_config_read(const char *dir, size_t max, struct ostel_buf *out);

#endif
