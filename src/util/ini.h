/*
 * ini: a small INI reader for study files, written for ostel instead of inih so that its rules are
 * ours and the same on every machine (inih's are compile-time options of the installed library:
 * Debian's cuts a value at " ;" and calls a line longer than 200 bytes malformed).
 *
 * The rules (docs/study.md):
 *   - a UTF-8 byte-order mark at the start is skipped; lines end at "\n" (a "\r" before it is
 *     dropped); leading and trailing blanks of every line, key and value are trimmed
 *   - an empty line, or one whose first non-blank byte is ';' or '#', is a comment
 *   - "[name]" starts a section; nothing may follow the ']'
 *   - "key = value": the value is the WHOLE rest of the line after the first '=', ';' and '#'
 *     included (no inline comments), and may be empty
 *   - anything else is an error, as are NUL bytes and lines longer than OSTEL_INI_MAX_LINE bytes
 * Keys before the first section get the section "". Duplicates are the caller's to judge.
 */
#ifndef OSTEL_INI_H
#define OSTEL_INI_H

#include <stddef.h>

#define OSTEL_INI_MAX_LINE 8192 /* bytes of one line, without its "\n" */
#define OSTEL_INI_MAX_SECTION 128

/*
 * Called once per "key = value" line with NUL-terminated strings valid only during the call and
 * the line's number (from 1). Return 0 to go on, or non-zero to stop after writing the reason into
 * err (err_size bytes).
 */
typedef int (*ostel_ini_fn)(void *user, const char *section, const char *key, const char *value,
                            int line, char *err, size_t err_size);

/*
 * Parses buf[0..len) (need not be NUL-terminated). Pure: never prints, never allocates. Returns 0,
 * or the number of the first bad line (>= 1) with a one-line reason in err; a callback's refusal
 * returns its line and its reason.
 */
int ostel_ini_parse(const char *buf, size_t len, ostel_ini_fn fn, void *user, char *err,
                    size_t err_size);

#endif
