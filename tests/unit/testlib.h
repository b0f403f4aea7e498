/*
 * testlib: helpers shared by the cmocka unit tests: fixture paths, temporary directories, running
 * the real ostel binary and capturing its output.
 */
#ifndef OSTEL_TESTLIB_H
#define OSTEL_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/util.h"

/* $OSTEL_SRC_DIR/<rel> (the source tree, set by CTest); the caller frees it. */
char *test_src_path(const char *rel);
/* tests/data/logs/shared (other machines' logs, copied from ../shared/logs); absent fails the test.
 */
char *test_shared_logs_dir(void);
/* A fresh temporary directory; the caller frees the string and may remove the directory. */
char *test_tmpdir(void);
/* Removes a directory tree (best effort). */
void test_rmtree(const char *path);
/* Reads a whole file into a NUL-terminated string (fails the test when unreadable). */
char *test_read_file(const char *path, size_t *len);
void test_write_file(const char *path, const void *data, size_t len);
/* Cell i (0: the first, after the row's leading bar) of a markdown table row, trimmed; empty past
 * the row's end. The docs' lists that unit tests hold to the code's tables are such rows. */
struct ostel_str test_md_cell(struct ostel_str row, int i);
/* The next `code` span of *cell into *name (its text between the backticks), *cell advanced past
 * it; false when none is left. An opening backtick without its closing one fails the test. */
bool test_md_next_code(struct ostel_str *cell, struct ostel_str *name);
/* Copies file `from` to `to`; with a name, from/name to to/name (from and to are directories). */
void test_copy_file(const char *from, const char *to, const char *name);

/*
 * Runs the ostel binary ($OSTEL_BIN) with argv (NULL-terminated, without "ostel"), capturing stdout
 * and stderr. Returns the exit status (128+signal when killed). The caller frees *out and *err.
 */
int test_run_ostel(const char *const *argv, char **out, char **err);

#endif
