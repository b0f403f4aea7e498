/*
 * store_uri: how a database is opened for reading only (`ostel db info`, `report --db`, `db
 * export`/`query`) without creating anything beside it and also on a read-only mount.
 *
 * ostel's databases are in WAL mode. A plain read-only open of a WAL database makes SQLite create
 * the -wal and -shm files (and fail where it cannot, e.g. on a read-only mount). So:
 *   - without a -wal file beside it, the database is entirely in its main file (SQLite removes the
 *     -wal when the last writer closes cleanly): open it `immutable=1`, which reads the file alone,
 *     creates nothing and takes no locks. A writer that starts meanwhile writes into a new -wal,
 * not into the main file, until it checkpoints (after about 1000 pages): a report made during a
 *     study's write may miss the newest runs, never read a half-written one in practice.
 *   - with a -wal file (a writer is active, or one was killed), `mode=ro`: the reader then sees the
 *     writer's committed transactions through the existing -wal and -shm.
 *   - a file not in WAL mode (`db import` writes through a rollback journal, then switches back):
 *     `mode=ro`, with locks; a hot journal left by a killed import makes the open fail with one
 *     error until a writer opens the file and rolls it back.
 */
#include "store/store_internal.h"

#include "util/fileio.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

/* Percent-escapes what a URI path must not hold raw ('%', '?', '#'). */
static void put_uri_path(struct ostel_buf *b, const char *path)
{
    if (path[0] == '/')
        while (path[1] == '/') /* "file://x" would name a host */
            path++;
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f)
            ostel_buf_printf(b, "%%%02X", c);
        else
            ostel_buf_putc(b, (char)c);
    }
}

char *ostel_store_readonly_uri(const char *path)
{
    char *wal = ostel_xasprintf("%s-wal", path);
    /* a file in rollback-journal mode (a bulk import's, store.c bulk_journal, or one made by
     * another tool) is read with locks, never immutable: a writer changes the file in place, and
     * a hot journal left by a killed one must be rolled back before the file is read */
    bool live = ostel_is_file(wal) || !ostel_store_file_is_wal(path);
    free(wal);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_puts(&b, "file:");
    put_uri_path(&b, path);
    ostel_buf_puts(&b, live ? "?mode=ro" : "?mode=ro&immutable=1");
    ostel_buf_putc(&b, '\0');
    return ostel_buf_detach(&b);
}

bool ostel_store_file_is_wal(const char *path)
{
    unsigned char h[20];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, h, sizeof(h));
    close(fd);
    return n == (ssize_t)sizeof(h) && memcmp(h, "SQLite format 3", 16) == 0 && h[18] == 2 &&
           h[19] == 2;
}
