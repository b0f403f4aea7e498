/*
 * rundir_config: config.txt's one writer and one reader (see rundir_config.h).
 */
#include "rundir/rundir_config.h"

#include "util/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ostel_config_line(struct ostel_buf *b, const char *key, const char *value)
{
    ostel_buf_printf(b, "%s=", key);
    for (const char *p = value ? value : ""; *p; p++)
        ostel_buf_putc(b, (*p == '\n' || *p == '\r') ? ' ' : *p);
    ostel_buf_putc(b, '\n');
}

void ostel_config_num(struct ostel_buf *b, const char *key, long long v, bool valid)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    ostel_config_line(b, key, valid ? tmp : "");
}

int ostel_config_write(const char *dir, const char *text, size_t len)
{
    char *path = ostel_xasprintf("%s/config.txt", dir);
    int e = ostel_file_write_atomic_errno(path, text ? text : "", len);
    free(path);
    return e;
}

bool ostel_config_next(struct ostel_str *rest, struct ostel_str *key, struct ostel_str *value)
{
    struct ostel_str line;
    while (ostel_str_next_line(rest, &line)) {
        long eq = ostel_str_find(line, "=");
        if (eq <= 0)
            continue;
        *key = ostel_str_make(line.p, (size_t)eq);
        *value = ostel_str_make(line.p + eq + 1, line.n - (size_t)eq - 1);
        return true;
    }
    return false;
}

char *ostel_config_get(const char *text, size_t len, const char *key)
{
    struct ostel_str rest = ostel_str_make(text, len), line;
    size_t klen = strlen(key);
    while (ostel_str_next_line(&rest, &line)) {
        if (line.n > klen && memcmp(line.p, key, klen) == 0 && line.p[klen] == '=')
            return ostel_xstrndup(line.p + klen + 1, line.n - klen - 1);
    }
    return NULL;
}

int ostel_config_read(const char *dir, size_t max, struct ostel_buf *out)
{
    char *path = ostel_xasprintf("%s/config.txt", dir);
    int rc = ostel_is_file(path) ? ostel_file_read_all(path, max, out) : OSTEL_ERR;
    free(path);
    return rc == 0 ? OSTEL_OK : OSTEL_ERR;
}
