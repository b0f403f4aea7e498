/*
 * optval: the values of `ostel serve`'s load options as text — lists of levels, token-length
 * distributions and SLO bounds — parsed by one pure code path for `ostel study`'s [serve] keys
 * (run/study_spec.c validates them, serve/serve_study.c turns them into the load's parameters).
 * Nothing prints; each returns false for text it does not accept.
 */
#ifndef OSTEL_OPTVAL_H
#define OSTEL_OPTVAL_H

#include <stdbool.h>
#include <stddef.h>

/* "1,2,4" (integers from 1 to 100000) or, with !integers, "0.5,1,2" (positive, at most 1e6);
 * blanks around a cell are allowed.
 * *out (owned by the caller, free()) is replaced; false, with *out NULL and *n 0, when the text is
 * empty or any cell is not such a number. */
bool ostel_parse_levels(const char *text, bool integers, double **out, size_t *n);

/* "512" (fixed), "512:64" (normal with sd 64) or "256-768" (uniform, inclusive): *mean, *sd and
 * *max (0 unless uniform) set only when the text is one of these, each from 1 to 2^22 (sd from 0).
 */
bool ostel_parse_length(const char *text, int *mean, int *sd, int *max);

/* "ttft=500ms,itl=50ms,e2e=10s" (a bare number is ms; itl's alias tpot, e2e's e2el), each bound
 * positive or none; a key left out or none has no bound (NAN). The three are set only when the text
 * parses. */
bool ostel_parse_slo(const char *text, double *ttft_ms, double *itl_ms, double *e2e_ms);

#endif
