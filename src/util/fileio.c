/*
 * fileio: whole-file reads, atomic writes and directory creation.
 */
#include "util/fileio.h"

#include "util/names.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ostel_file_read_all(const char *path, size_t max, struct ostel_buf *out)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; non-regular files are refused */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return ostel_error("cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ostel_error("'%s' is not a regular file", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return ostel_error("cannot read '%s': %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max) {
            close(fd);
            return ostel_error("'%s' is larger than %zu bytes", path, max);
        }
        ostel_buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return OSTEL_OK;
}

int ostel_file_stream_open(struct ostel_file_stream *f, const char *path)
{
    f->tmp = ostel_xasprintf("%s.tmp.XXXXXX", path);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp);
        f->tmp = NULL;
        return e ? e : EIO;
    }
    return 0;
}

int ostel_file_stream_write(void *ctx, const void *data, size_t len)
{
    struct ostel_file_stream *f = ctx;
    return ostel_fd_write_all_errno(f->fd, data, len);
}

int ostel_file_stream_commit(struct ostel_file_stream *f, const char *path)
{
    int e = 0;
    if (fchmod(f->fd, 0644) != 0 || fsync(f->fd) != 0)
        e = errno;
    if (close(f->fd) != 0 && !e)
        e = errno;
    if (!e && rename(f->tmp, path) != 0)
        e = errno;
    if (e)
        unlink(f->tmp); /* on every error path: no *.tmp.* is left behind */
    free(f->tmp);
    f->tmp = NULL;
    f->fd = -1;
    return e;
}

void ostel_file_stream_abort(struct ostel_file_stream *f)
{
    if (!f->tmp)
        return;
    close(f->fd);
    unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
    f->fd = -1;
}

int ostel_file_write_atomic_errno(const char *path, const void *data, size_t len)
{
    struct ostel_file_stream f;
    int e = ostel_file_stream_open(&f, path);
    if (e)
        return e;
    e = ostel_file_stream_write(&f, data, len);
    if (e) {
        ostel_file_stream_abort(&f);
        return e;
    }
    return ostel_file_stream_commit(&f, path);
}

int ostel_fd_write_all_errno(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno ? errno : EIO;
        if (w == 0)
            return EIO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void ostel_write_error_text(char *out, size_t n, int e, const char *file)
{
    if (!n)
        return;
    snprintf(out, n, "%s writing %s", strerror(e), file);
    if (out[0] >= 'A' && out[0] <= 'Z') /* "No space…" → "no space…" */
        out[0] = (char)(out[0] - 'A' + 'a');
}

int ostel_file_write_atomic(const char *path, const void *data, size_t len)
{
    int e = ostel_file_write_atomic_errno(path, data, len);
    if (e)
        return ostel_error("cannot write '%s': %s", path, strerror(e));
    return OSTEL_OK;
}

/* Room kept below PATH_MAX for the files ostel puts in a directory it made ("/summary.json.tmp.…").
 */
#define MKDIR_RESERVE 64

int ostel_mkdir_p(const char *path)
{
    char err[160];
    if (ostel_path_check_length(path, MKDIR_RESERVE, err, sizeof(err)) != 0)
        return ostel_error("cannot create directory '%.48s%s': %s", path,
                           strlen(path) > 48 ? "..." : "", err);
    char *p = ostel_xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    /* the directories made here, to remove again when a deeper one fails: all or nothing */
    size_t made[PATH_MAX / 2], n_made = 0; /* a component takes at least 2 bytes */
    int rc = OSTEL_OK;
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) == 0) {
            if (n_made < OSTEL_ARRAY_LEN(made))
                made[n_made++] = (size_t)(s - p);
        } else if (errno != EEXIST) {
            int e = errno;
            ostel_error("cannot create directory '%s': %s", p, strerror(e));
            rc = OSTEL_ERR;
            *s = saved;
            break;
        }
        *s = saved;
        if (!saved)
            break;
    }
    if (rc != OSTEL_OK)
        while (n_made > 0) {
            p[made[--n_made]] = '\0';
            rmdir(p);
        }
    free(p);
    if (rc != OSTEL_OK)
        return rc;
    if (!ostel_is_dir(path))
        return ostel_error("'%s' exists and is not a directory", path);
    return OSTEL_OK;
}

bool ostel_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool ostel_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_executable_file(const char *path)
{
    return access(path, X_OK) == 0 && ostel_is_file(path);
}

char *ostel_find_executable(const char *name)
{
    if (!name || !*name)
        return NULL;
    if (strchr(name, '/'))
        return is_executable_file(name) ? ostel_xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = ostel_xstrdup(path), *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *f = ostel_xasprintf("%s/%s", *d ? d : ".", name);
        if (is_executable_file(f))
            found = f;
        else
            free(f);
    }
    free(copy);
    return found;
}

void ostel_path_split_base(const char *path, size_t *len, size_t *base)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/')
        b--;
    *len = n;
    *base = b;
}
