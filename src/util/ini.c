/*
 * ini: the study file's INI dialect (see ini.h for the rules).
 */
#include "util/ini.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims [*p, *p + *n) in place. */
static void trim(const char **p, size_t *n)
{
    while (*n && blank(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && blank((*p)[*n - 1]))
        (*n)--;
}

int ostel_ini_parse(const char *buf, size_t len, ostel_ini_fn fn, void *user, char *err,
                    size_t err_size)
{
    char section[OSTEL_INI_MAX_SECTION + 1] = "";
    char key[OSTEL_INI_MAX_LINE + 1];
    char value[OSTEL_INI_MAX_LINE + 1];
    size_t pos = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    int line = 0;
    while (pos < len) {
        line++;
        const char *start = buf + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n && start[n - 1] == '\r')
            n--;
        if (memchr(start, '\0', n)) {
            snprintf(err, err_size, "a NUL byte (not a text file)");
            return line;
        }
        if (n > OSTEL_INI_MAX_LINE) {
            snprintf(err, err_size, "the line is too long (%zu bytes; at most %d)", n,
                     OSTEL_INI_MAX_LINE);
            return line;
        }
        const char *p = start;
        trim(&p, &n);
        if (n == 0 || p[0] == ';' || p[0] == '#')
            continue;
        if (p[0] == '[') {
            const char *close = memchr(p, ']', n);
            if (!close) {
                snprintf(err, err_size, "a section header without ']'");
                return line;
            }
            const char *after = close + 1;
            size_t an = n - (size_t)(after - p);
            trim(&after, &an);
            if (an) {
                snprintf(err, err_size, "text after the section header's ']'");
                return line;
            }
            const char *name = p + 1;
            size_t nn = (size_t)(close - name);
            trim(&name, &nn);
            if (nn == 0 || nn > OSTEL_INI_MAX_SECTION) {
                snprintf(err, err_size,
                         nn ? "a section name longer than %d bytes" : "an empty section name",
                         OSTEL_INI_MAX_SECTION);
                return line;
            }
            memcpy(section, name, nn);
            section[nn] = '\0';
            continue;
        }
        const char *eq = memchr(p, '=', n);
        if (!eq) {
            snprintf(err, err_size, "not a 'key = value' line");
            return line;
        }
        const char *k = p, *v = eq + 1;
        size_t kn = (size_t)(eq - p), vn = n - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);
        if (kn == 0) {
            snprintf(err, err_size, "a value without a key");
            return line;
        }
        memcpy(key, k, kn);
        key[kn] = '\0';
        memcpy(value, v, vn);
        value[vn] = '\0';
        if (err_size)
            err[0] = '\0';
        if (fn(user, section, key, value, line, err, err_size) != 0) {
            if (err_size && !err[0])
                snprintf(err, err_size, "refused");
            return line;
        }
    }
    return 0;
}
