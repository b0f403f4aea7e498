/*
 * names: turning user-given labels into file names, and checking that a path built from them stays
 * where it belongs. `ostel run` (its default run directory) and `ostel study` (every run and
 * warm-up directory) use the same two functions, so a tag is made safe the same way everywhere and
 * a tag like "../../../../X" can never name a directory outside the study.
 */
#ifndef OSTEL_NAMES_H
#define OSTEL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Longest sanitised tag, in bytes. */
#define OSTEL_TAG_NAME_MAX 64

/*
 * A tag made safe for one path component: bytes outside [A-Za-z0-9._-] become '_', a leading '.'
 * becomes '_' (so neither "." nor ".." nor a hidden name can result), at most OSTEL_TAG_NAME_MAX
 * bytes; "" becomes "run". Pure. The caller frees the result.
 */
char *ostel_tag_sanitize(const char *tag);

/* True when name is one non-empty path component: no '/', not "." or "..". Pure. */
bool ostel_path_is_component(const char *name);

/*
 * Checks that path lies inside the directory base (strictly below it), after resolving symbolic
 * links of every part that exists; the part of path that does not exist yet must hold no ".."
 * component. base must exist. Returns 0, or OSTEL_ERR with a one-line reason in err (nothing
 * printed).
 */
int ostel_path_check_inside(const char *base, const char *path, char *err, size_t err_size);

/*
 * Checks, before anything is created, that path can be used as a directory that will hold files
 * whose names add up to reserve bytes: its length plus reserve below PATH_MAX, and no component
 * longer than NAME_MAX. Returns 0, or OSTEL_ERR with the reason in err ("the path is 4220 bytes
 * long; at most 4031 fit"). Pure.
 */
int ostel_path_check_length(const char *path, size_t reserve, char *err, size_t err_size);

#endif
