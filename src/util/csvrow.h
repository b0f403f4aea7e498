/*
 * csvrow: one CSV line formatted into the caller's buffer, without allocating (the sampler threads
 * write a row per sample). Cells are added left to right, a comma before every cell but the first;
 * a number is printed with a fixed count of decimals and a value that is not finite (NAN: not
 * read) is an empty cell, never 0. Once a cell does not fit, the row is spoilt and
 * ostel_csvrow_end() returns 0. Text cells are written as they are: the callers' cells (column
 * names, phase names) never hold a comma, quote or newline; text from elsewhere (a server's error
 * message, a metric's name) goes through ostel_csvrow_quoted().
 *
 *     char line[512];
 *     struct ostel_csvrow w;
 *     ostel_csvrow_init(&w, line, sizeof(line));
 *     ostel_csvrow_num(&w, ts, 3);
 *     ostel_csvrow_text(&w, "load");
 *     size_t n = ostel_csvrow_end(&w);  // "12.345,load\n", or 0 when it did not fit
 */
#ifndef OSTEL_CSVROW_H
#define OSTEL_CSVROW_H

#include <stdbool.h>
#include <stddef.h>

struct ostel_csvrow {
    char *out;    /* borrowed: the caller's buffer */
    size_t size;  /* its size in bytes */
    size_t len;   /* bytes written so far (out[len] is '\0' while !full) */
    size_t cells; /* cells added */
    bool full;    /* a cell did not fit: the row is spoilt */
};

/* Starts a row in out[size] (borrowed until ostel_csvrow_end). */
void ostel_csvrow_init(struct ostel_csvrow *w, char *out, size_t size);
/* Adds a cell holding s as it is ("" makes an empty cell). */
void ostel_csvrow_text(struct ostel_csvrow *w, const char *s);
/* Adds a cell holding s[0..n) quoted, whatever it holds: '"', each quote doubled, each control
 * byte (below 0x20: a newline, a tab) made a space, so the row stays one line; '"'. */
void ostel_csvrow_quoted(struct ostel_csvrow *w, const char *s, size_t n);
/* Adds a cell holding v with `decimals` places ("%.*f"), or an empty cell when v is not finite. */
void ostel_csvrow_num(struct ostel_csvrow *w, double v, int decimals);
/* Ends the row with '\n' (and a '\0' after it); returns its length without the '\0', or 0 when
 * a cell or the newline did not fit. */
size_t ostel_csvrow_end(struct ostel_csvrow *w);

#endif
