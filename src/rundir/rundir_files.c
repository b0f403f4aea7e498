/*
 * rundir_files: the names of a run directory's files and the removal of one ostel wrote (see
 * rundir_files.h).
 */
#include "rundir/rundir_files.h"

#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const artifacts[] = {
    "llama_output.log", "metrics.csv",       "config.txt", "summary.json",
    "gpu_metrics.csv",  ".ostel-write-test", NULL,
};

/* True when name is want or want's temporary form "want.tmp.…". */
static bool is_form_of(const char *name, const char *want)
{
    size_t n = strlen(want);
    if (strncmp(name, want, n) != 0)
        return false;
    return name[n] == '\0' || strncmp(name + n, ".tmp.", 5) == 0;
}

static bool in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (is_form_of(name, list[i]))
            return true;
    return false;
}

bool ostel_rundir_is_ours(const char *name, const char *const *extra)
{
    return in_list(name, artifacts) || in_list(name, extra);
}

static bool is_dot(const char *name)
{
    return !strcmp(name, ".") || !strcmp(name, "..");
}

int ostel_rundir_remove(const char *dir, const char *const *extra)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? OSTEL_OK
                               : ostel_error("cannot open '%s': %s", dir, strerror(errno));
    /* first every name, so that a refused directory keeps all its files */
    struct dirent *e;
    while ((e = readdir(d))) {
        if (is_dot(e->d_name))
            continue;
        bool ours = ostel_rundir_is_ours(e->d_name, extra);
        if (ours) {
            /* ostel writes files (and never links or directories) there: a directory, FIFO or
             * socket under one of its names is someone else's too */
            char *f = ostel_xasprintf("%s/%s", dir, e->d_name);
            struct stat st;
            ours =
                lstat(f, &st) != 0 ? errno == ENOENT : S_ISREG(st.st_mode) || S_ISLNK(st.st_mode);
            free(f);
        }
        if (ours)
            continue;
        int rc =
            ostel_error("'%s' holds '%s', which ostel did not write: move it away", dir, e->d_name);
        closedir(d);
        return rc;
    }
    rewinddir(d);
    int rc = OSTEL_OK;
    while ((e = readdir(d))) {
        if (is_dot(e->d_name) || !ostel_rundir_is_ours(e->d_name, extra))
            continue; /* one that came since is left, and rmdir says so */
        char *f = ostel_xasprintf("%s/%s", dir, e->d_name);
        if (unlink(f) != 0 && errno != ENOENT && rc == OSTEL_OK)
            rc = ostel_error("cannot remove '%s': %s", f, strerror(errno));
        free(f);
    }
    closedir(d);
    if (rc == OSTEL_OK && rmdir(dir) != 0)
        rc = ostel_error("cannot remove '%s': %s", dir, strerror(errno));
    return rc;
}
