/*
 * cgroup_linux: the memory cgroup a process is in — its tightest limit, usage and OOM kills — and a
 * cgroup of its own per run (see platform.h, docs/platform.md).
 *
 * v2: the limit that counts is the level (the cgroup or one of its ancestors) with the least room,
 * room = min(memory.max, memory.high) - memory.current; memory.high is included because above it
 * the kernel throttles and reclaims hard, which a run feels as much as the hard limit.
 * v1: memory.limit_in_bytes, tightened by memory.stat's hierarchical_memory_limit (an ancestor's).
 */
#include "platform/linux/cgroup_linux.h"

#include "platform/linux/cgroup_parse.h"
#include "platform/linux/procfs_parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_BUF 8192

/* Reads dir/name into buf (NUL-terminated); returns its length or OSTEL_ERR. */
static ssize_t read_in(const char *dir, const char *name, char *buf, size_t size)
{
    char path[1200];
    int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof(path))
        return OSTEL_ERR;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return OSTEL_ERR;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static enum ostel_cgroup_limit read_limit(const char *dir, const char *name, char *buf, uint64_t *v)
{
    ssize_t n = read_in(dir, name, buf, CG_BUF);
    return n < 0 ? OSTEL_CGROUP_LIMIT_BAD : ostel_cgroup_parse_limit(buf, (size_t)n, v);
}

static bool read_bytes(const char *dir, const char *name, char *buf, uint64_t *v)
{
    ssize_t n = read_in(dir, name, buf, CG_BUF);
    return n >= 0 && ostel_cgroup_parse_bytes(buf, (size_t)n, v);
}

/* The cgroup paths of pid from proc_root/<pid>/cgroup, copied into v2/v1 ("" when absent). */
static bool own_paths(const char *proc_root, pid_t pid, char *buf, char *v2, char *v1, size_t size)
{
    char name[32];
    if (pid > 0)
        snprintf(name, sizeof(name), "%d/cgroup", (int)pid);
    else
        snprintf(name, sizeof(name), "self/cgroup");
    ssize_t n = read_in(proc_root, name, buf, CG_BUF);
    if (n <= 0)
        return false;
    struct ostel_str s2, s1;
    ostel_procfs_parse_cgroup(buf, (size_t)n, &s2, &s1);
    v2[0] = v1[0] = '\0';
    if (s2.p && s2.n < size)
        snprintf(v2, size, "%.*s", (int)s2.n, s2.p);
    if (s1.p && s1.n < size)
        snprintf(v1, size, "%.*s", (int)s1.n, s1.p);
    return v2[0] || v1[0];
}

static bool read_v2(const char *cg_root, const char *rel, char *buf,
                    struct ostel_platform_cgroup *out)
{
    char dir[512];
    int w = snprintf(dir, sizeof(dir), "%s%s", cg_root, strcmp(rel, "/") == 0 ? "" : rel);
    if (w < 0 || (size_t)w >= sizeof(dir))
        return false;
    /* a v2 cgroup with the memory controller has memory.current (not the root: no limit there) */
    uint64_t usage;
    bool leaf_usage = read_bytes(dir, "memory.current", buf, &usage);
    ssize_t n = read_in(dir, "memory.events", buf, CG_BUF);
    if (!leaf_usage && n < 0)
        return false;
    out->version = 2;
    snprintf(out->path, sizeof(out->path), "%s", dir);
    if (n >= 0) {
        struct ostel_cgroup_events ev;
        ostel_cgroup_parse_events(buf, (size_t)n, &ev);
        if ((ev.valid >> OSTEL_CGROUP_EVENT_OOM_KILL) & 1u) {
            out->has_oom_kills = true;
            out->oom_kills = ev.oom_kill;
        }
    }
    if (leaf_usage) {
        out->has_usage = true;
        out->usage_bytes = usage;
    }
    /* walk up to (not including) the mount's root, keeping the level with the least room */
    bool have_room = false;
    uint64_t best_room = 0;
    size_t len = strlen(dir), root_len = strlen(cg_root);
    while (len > root_len) {
        dir[len] = '\0';
        uint64_t mx = 0, hi = 0, cur = 0;
        enum ostel_cgroup_limit km = read_limit(dir, "memory.max", buf, &mx);
        enum ostel_cgroup_limit kh = read_limit(dir, "memory.high", buf, &hi);
        bool has_cur = read_bytes(dir, "memory.current", buf, &cur);
        uint64_t lim = 0;
        const char *src = NULL;
        if (km == OSTEL_CGROUP_LIMIT_BYTES) {
            lim = mx;
            src = "memory.max";
        }
        if (kh == OSTEL_CGROUP_LIMIT_BYTES && (!src || hi < lim)) {
            lim = hi;
            src = "memory.high";
        }
        if (src) {
            uint64_t room = has_cur && cur < lim ? lim - cur : (has_cur ? 0 : lim);
            if (!have_room || room < best_room) {
                have_room = true;
                best_room = room;
                out->limited = true;
                out->limit_bytes = lim;
                out->limit_src = src;
                out->has_usage = has_cur;
                out->usage_bytes = cur;
            }
        }
        while (len > root_len && dir[len - 1] != '/')
            len--;
        if (len > root_len)
            len--; /* the '/' */
    }
    return true;
}

static bool read_v1(const char *cg_root, const char *rel, char *buf,
                    struct ostel_platform_cgroup *out)
{
    char dir[512];
    int w = snprintf(dir, sizeof(dir), "%s/memory%s", cg_root, strcmp(rel, "/") == 0 ? "" : rel);
    if (w < 0 || (size_t)w >= sizeof(dir))
        return false;
    uint64_t lim = 0, usage = 0, hier = 0;
    enum ostel_cgroup_limit kl = read_limit(dir, "memory.limit_in_bytes", buf, &lim);
    bool has_usage = read_bytes(dir, "memory.usage_in_bytes", buf, &usage);
    if (kl == OSTEL_CGROUP_LIMIT_BAD && !has_usage)
        return false;
    out->version = 1;
    snprintf(out->path, sizeof(out->path), "%s", dir);
    out->has_usage = has_usage;
    out->usage_bytes = usage;
    if (kl == OSTEL_CGROUP_LIMIT_BYTES) {
        out->limited = true;
        out->limit_bytes = lim;
        out->limit_src = "memory.limit_in_bytes";
    }
    ssize_t n = read_in(dir, "memory.stat", buf, CG_BUF);
    if (n > 0 && ostel_procfs_find_u64(buf, (size_t)n, "hierarchical_memory_limit", &hier) &&
        hier < OSTEL_CGROUP_V1_UNLIMITED && (!out->limited || hier < out->limit_bytes)) {
        out->limited = true;
        out->limit_bytes = hier;
        out->limit_src = "memory.stat hierarchical_memory_limit";
    }
    uint64_t kills;
    n = read_in(dir, "memory.oom_control", buf, CG_BUF);
    if (n > 0 && ostel_procfs_find_u64(buf, (size_t)n, "oom_kill", &kills)) {
        out->has_oom_kills = true;
        out->oom_kills = kills;
    }
    return true;
}

bool ostel_platform_cgroup_read_at(const char *proc_root, const char *cg_root, pid_t pid,
                                   struct ostel_platform_cgroup *out)
{
    memset(out, 0, sizeof(*out));
    char *buf = ostel_xmalloc(CG_BUF);
    char v2[512], v1[512];
    bool ok = false;
    if (own_paths(proc_root, pid, buf, v2, v1, sizeof(v2))) {
        if (v2[0])
            ok = read_v2(cg_root, v2, buf, out);
        if (!ok) {
            memset(out, 0, sizeof(*out));
            if (v1[0])
                ok = read_v1(cg_root, v1, buf, out);
        }
    }
    if (!ok)
        memset(out, 0, sizeof(*out));
    free(buf);
    return ok;
}

bool ostel_platform_cgroup_read(pid_t pid, struct ostel_platform_cgroup *out)
{
    return ostel_platform_cgroup_read_at("/proc", "/sys/fs/cgroup", pid, out);
}

/* ---- per-run cgroups ---- */

#define RUN_CGROUP_PREFIX "ostel-run-"

struct ostel_platform_run_cgroup {
    char dir[1100];
    int procs_fd;
};

/* Removes empty per-run cgroups of ostel processes that no longer exist (killed by SIGKILL). */
static void sweep_stale(const char *parent)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *e;
    size_t pl = strlen(RUN_CGROUP_PREFIX);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, RUN_CGROUP_PREFIX, pl) != 0)
            continue;
        long pid = strtol(e->d_name + pl, NULL, 10);
        if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
            char path[1400];
            snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
            rmdir(path); /* fails, harmlessly, while processes remain in it */
        }
    }
    closedir(d);
}

/*
 * The directory ostel's own memory cgroup is in, where a child cgroup with memory files can be
 * made: v2 only when "memory" is in its cgroup.subtree_control. On a normal v2 host it is not, and
 * ostel may not put it there: v2's "no internal processes" rule refuses to enable a controller for
 * the children of a cgroup that holds processes (EBUSY), and ostel's own cgroup holds ostel. Moving
 * ostel (and whatever shares its cgroup) elsewhere would be ostel reorganising a hierarchy it does
 * not own, so it does not; the run then counts kills in the cgroup its child shares with ostel
 * (docs/platform.md, "OOM kills"). False with the reason in err.
 */
static bool parent_dir(char *buf, char *out, size_t size, char *err, size_t err_size)
{
    char v2[512], v1[512];
    if (!own_paths("/proc", 0, buf, v2, v1, sizeof(v2))) {
        snprintf(err, err_size, "cannot read /proc/self/cgroup");
        return false;
    }
    snprintf(err, err_size, "no memory cgroup hierarchy");
    if (v2[0] && access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0) {
        int w = snprintf(out, size, "/sys/fs/cgroup%s", strcmp(v2, "/") == 0 ? "" : v2);
        if (w < 0 || (size_t)w >= size)
            return false;
        ssize_t n = read_in(out, "cgroup.subtree_control", buf, CG_BUF);
        if (n > 0) {
            for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
                if (strcmp(t, "memory") == 0)
                    return true;
        }
        snprintf(err, err_size,
                 "cgroup v2: memory is not in %.400s/cgroup.subtree_control, and a cgroup that "
                 "holds processes may not enable it",
                 out);
    }
    if (v1[0]) {
        int w = snprintf(out, size, "/sys/fs/cgroup/memory%s", strcmp(v1, "/") == 0 ? "" : v1);
        if (w >= 0 && (size_t)w < size && access(out, W_OK) == 0)
            return true;
        snprintf(err, err_size, "cgroup v1: %.400s is not writable", out);
    }
    return false;
}

struct ostel_platform_run_cgroup *ostel_platform_run_cgroup_create(char *err, size_t err_size)
{
    char *buf = ostel_xmalloc(CG_BUF);
    char parent[512];
    bool ok = parent_dir(buf, parent, sizeof(parent), err, err_size);
    free(buf);
    if (!ok)
        return NULL;
    sweep_stale(parent);
    struct ostel_platform_run_cgroup *cg = ostel_xcalloc(1, sizeof(*cg));
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(cg->dir, sizeof(cg->dir), "%s/" RUN_CGROUP_PREFIX "%d-%lld", parent, (int)getpid(),
             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (mkdir(cg->dir, 0755) != 0) {
        snprintf(err, err_size, "cannot create %s: %s", cg->dir, strerror(errno));
        free(cg);
        return NULL;
    }
    char procs[1200];
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->dir);
    cg->procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (cg->procs_fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", procs, strerror(errno));
        rmdir(cg->dir);
        free(cg);
        return NULL;
    }
    return cg;
}

int ostel_platform_run_cgroup_fd(const struct ostel_platform_run_cgroup *cg)
{
    return cg ? cg->procs_fd : -1;
}

void ostel_platform_run_cgroup_remove(struct ostel_platform_run_cgroup *cg)
{
    if (!cg)
        return;
    close(cg->procs_fd);
    /* the kernel may take a moment to let go of the last exited task */
    for (int i = 0; i < 100 && rmdir(cg->dir) != 0 && errno == EBUSY; i++)
        usleep(10000);
    free(cg);
}
