/*
 * testlib: see testlib.h.
 */
#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *test_src_path(const char *rel)
{
    const char *src = getenv("OSTEL_SRC_DIR");
    return ostel_xasprintf("%s/%s", src && *src ? src : ".", rel);
}

char *test_shared_logs_dir(void)
{
    char *p = test_src_path("tests/data/logs/shared");
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        fail_msg("%s is missing: the other machines' logs are part of the repository", p);
    return p;
}

char *test_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *tmpl = ostel_xasprintf("%s/ostel-test.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp failed");
    return tmpl;
}

void test_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = ostel_xasprintf("%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            test_rmtree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(path);
}

struct ostel_str test_md_cell(struct ostel_str row, int i)
{
    size_t k = 0;
    for (int bars = 0; k < row.n && bars <= i; k++)
        if (row.p[k] == '|')
            bars++;
    size_t j = k;
    while (j < row.n && row.p[j] != '|')
        j++;
    return ostel_str_trim(ostel_str_make(row.p + k, j - k));
}

bool test_md_next_code(struct ostel_str *cell, struct ostel_str *name)
{
    const char *end = cell->p + cell->n;
    const char *open = memchr(cell->p, '`', cell->n);
    if (!open)
        return false;
    const char *close = memchr(open + 1, '`', (size_t)(end - open - 1));
    assert_non_null(close);
    *name = ostel_str_make(open + 1, (size_t)(close - open - 1));
    *cell = ostel_str_make(close + 1, (size_t)(end - close - 1));
    return true;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ostel_buf_append(&b, chunk, n);
    fclose(f);
    if (len)
        *len = b.len;
    return ostel_buf_detach(&b);
}

void test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    fclose(f);
}

void test_copy_file(const char *from, const char *to, const char *name)
{
    char *a = name ? ostel_xasprintf("%s/%s", from, name) : ostel_xstrdup(from);
    char *b = name ? ostel_xasprintf("%s/%s", to, name) : ostel_xstrdup(to);
    size_t n;
    char *d = test_read_file(a, &n);
    test_write_file(b, d, n);
    free(d);
    free(a);
    free(b);
}

static char *slurp_fd(int fd)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        ostel_buf_append(&b, chunk, (size_t)n);
    return ostel_buf_detach(&b);
}

int test_run_ostel(const char *const *argv, char **out, char **err)
{
    const char *bin = getenv("OSTEL_BIN");
    if (!bin || !*bin)
        fail_msg("OSTEL_BIN is not set (run the tests through ctest)");
    char *dir = test_tmpdir();
    char *po = ostel_xasprintf("%s/out", dir), *pe = ostel_xasprintf("%s/err", dir);
    size_t n = 0;
    while (argv[n])
        n++;
    char **av = ostel_xcalloc(n + 2, sizeof(char *));
    av[0] = (char *)bin;
    for (size_t i = 0; i < n; i++)
        av[i + 1] = (char *)argv[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    if (posix_spawn(&pid, bin, &fa, NULL, av, environ) != 0)
        fail_msg("cannot spawn %s", bin);
    posix_spawn_file_actions_destroy(&fa);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    int fd = open(po, O_RDONLY);
    char *o = slurp_fd(fd);
    close(fd);
    fd = open(pe, O_RDONLY);
    char *e = slurp_fd(fd);
    close(fd);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    test_rmtree(dir);
    free(dir);
    free(po);
    free(pe);
    free(av);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
