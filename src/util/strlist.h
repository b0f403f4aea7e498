/*
 * strlist: a list of owned strings — a study's models, tags and llama.cpp arguments, a scenario's
 * command — split from a spec's comma- or blank-separated text.
 */
#ifndef OSTEL_STRLIST_H
#define OSTEL_STRLIST_H

#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>

/* A list of owned strings; v is NULL-terminated (usable as an argv) once anything is pushed. */
struct ostel_strlist {
    char **v;
    size_t n;
};
/* Appends a copy of s (the list owns it). A zeroed struct is an empty list. */
void ostel_strlist_push(struct ostel_strlist *l, const char *s);
/* Frees every string and the array; the list is empty again. */
void ostel_strlist_free(struct ostel_strlist *l);
/* Replaces the list with "a, b,c" split on commas (cells trimmed, empty cells refused); false on an
 * empty cell. */
bool ostel_strlist_split(struct ostel_strlist *l, const char *text);
/* Replaces the list with text split on runs of blanks (no shell, no quoting). */
void ostel_strlist_split_blanks(struct ostel_strlist *l, const char *text);

#endif
