/*
 * names: safe file names from tags and a containment check for paths (see names.h).
 */
#include "util/names.h"

#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ostel_tag_sanitize(const char *tag)
{
    size_t n = strlen(tag);
    if (n > OSTEL_TAG_NAME_MAX)
        n = OSTEL_TAG_NAME_MAX;
    if (n == 0)
        return ostel_xstrdup("run");
    char *s = ostel_xstrndup(tag, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || (i == 0 && c == '.'))
            s[i] = '_';
    }
    return s;
}

bool ostel_path_is_component(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* The longest existing prefix of path (cut at a '/'), resolved; *rest gets the part after it. */
static char *resolve_existing(const char *path, const char **rest)
{
    size_t n = strlen(path);
    char *copy = ostel_xstrdup(path);
    for (;;) {
        char *r = realpath(copy, NULL);
        if (r) {
            *rest = path + n;
            free(copy);
            return r;
        }
        while (n > 0 && copy[n - 1] != '/')
            n--;
        while (n > 1 && copy[n - 1] == '/')
            n--;
        if (n == 0) {
            free(copy);
            *rest = path;
            return realpath(".", NULL);
        }
        copy[n] = '\0'; /* "/" always resolves, so the loop ends */
    }
}

int ostel_path_check_inside(const char *base, const char *path, char *err, size_t err_size)
{
    char *rb = realpath(base, NULL);
    if (!rb) {
        snprintf(err, err_size, "cannot resolve '%s': %s", base, strerror(errno));
        return OSTEL_ERR;
    }
    const char *rest;
    char *rp = resolve_existing(path, &rest);
    int rc = 0;
    /* the part not created yet: plain names only */
    for (const char *c = rest; *c && rc == 0;) {
        while (*c == '/')
            c++;
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            rc = OSTEL_ERR;
        c += len;
    }
    size_t bl = strlen(rb);
    bool below = false;
    if (rp && strncmp(rp, rb, bl) == 0) {
        if (rp[bl] == '\0')
            below = rest[strspn(rest, "/")] != '\0'; /* base itself, or a name still to be made */
        else
            below = rp[bl] == '/' || strcmp(rb, "/") == 0;
    }
    if (rc != 0 || !below) {
        snprintf(err, err_size, "'%s' is not inside '%s'", path, base);
        rc = OSTEL_ERR;
    }
    free(rb);
    free(rp);
    return rc;
}

int ostel_path_check_length(const char *path, size_t reserve, char *err, size_t err_size)
{
    size_t n = strlen(path);
    if (n + reserve >= PATH_MAX) {
        snprintf(err, err_size, "the path is %zu bytes long; at most %zu fit", n,
                 (size_t)PATH_MAX - 1 - reserve);
        return OSTEL_ERR;
    }
    for (const char *c = path; *c;) {
        while (*c == '/')
            c++;
        size_t len = strcspn(c, "/");
        if (len > NAME_MAX) {
            snprintf(err, err_size, "a part of the path is %zu bytes long; at most %d fit", len,
                     NAME_MAX);
            return OSTEL_ERR;
        }
        c += len;
    }
    return 0;
}
