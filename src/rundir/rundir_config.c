/*
 * rundir_config: config.txt's key table, its one writer and its one reader (see rundir_config.h).
 */
#include "rundir/rundir_config.h"

#include "util/fileio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ostel_config_key_info keys[OSTEL_CFG_COUNT] = {
#define OSTEL_CONFIG_INFO_(id, name, by, meaning) {name, sizeof(name) - 1, by, meaning},
    OSTEL_CONFIG_KEYS(OSTEL_CONFIG_INFO_)
#undef OSTEL_CONFIG_INFO_
};

const struct ostel_config_key_info *ostel_config_key(enum ostel_config_key k)
{
    OSTEL_ASSERT((unsigned)k < OSTEL_CFG_COUNT);
    return &keys[k];
}

const char *ostel_config_key_name(enum ostel_config_key k)
{
    return ostel_config_key(k)->name;
}

bool ostel_config_key_lookup(struct ostel_str name, enum ostel_config_key *out)
{
    for (int k = 0; k < OSTEL_CFG_COUNT; k++) {
        if (keys[k].len == name.n && memcmp(keys[k].name, name.p, name.n) == 0) {
            *out = (enum ostel_config_key)k;
            return true;
        }
    }
    return false;
}

/* Appends k's line: KEY=value[0..n), the value's line ends made spaces, and the line's end. */
static void put_line(struct ostel_buf *b, enum ostel_config_key k, const char *value, size_t n)
{
    const struct ostel_config_key_info *info = ostel_config_key(k);
    ostel_buf_append(b, info->name, info->len);
    ostel_buf_putc(b, '=');
    for (size_t i = 0; i < n; i++)
        ostel_buf_putc(b, (value[i] == '\n' || value[i] == '\r') ? ' ' : value[i]);
    ostel_buf_putc(b, '\n');
}

void ostel_config_line(struct ostel_buf *b, enum ostel_config_key k, const char *value)
{
    put_line(b, k, value ? value : "", value ? strlen(value) : 0);
}

void ostel_config_num(struct ostel_buf *b, enum ostel_config_key k, long long v, bool valid)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    ostel_config_line(b, k, valid ? tmp : "");
}

void ostel_config_linef(struct ostel_buf *b, enum ostel_config_key k, const char *fmt, ...)
{
    struct ostel_buf v;
    ostel_buf_init(&v, 0);
    va_list ap;
    va_start(ap, fmt);
    ostel_buf_vprintf(&v, fmt, ap);
    va_end(ap);
    put_line(b, k, v.data ? v.data : "", v.len);
    ostel_buf_free(&v);
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

char *ostel_config_get(const char *text, size_t len, enum ostel_config_key k)
{
    const struct ostel_config_key_info *info = ostel_config_key(k);
    struct ostel_str rest = ostel_str_make(text, len), key, value;
    while (ostel_config_next(&rest, &key, &value))
        if (key.n == info->len && memcmp(key.p, info->name, key.n) == 0)
            return ostel_xstrndup(value.p, value.n);
    return NULL;
}

int ostel_config_read(const char *dir, size_t max, struct ostel_buf *out)
{
    char *path = ostel_xasprintf("%s/config.txt", dir);
    int rc = ostel_is_file(path) ? ostel_file_read_all(path, max, out) : OSTEL_ERR;
    free(path);
    return rc == 0 ? OSTEL_OK : OSTEL_ERR;
}
