/*
 * procfs_parse: pure parsers of Linux /proc and cgroup files (see procfs_parse.h). Numbers are
 * parsed by hand — no strtod (locale) and nothing that could allocate on first use — so the
 * sampler's hot path stays allocation-free. Every loop is bounded by the buffer's length; nothing
 * reads past it.
 */
#include "platform/linux/procfs_parse.h"

#include <string.h>

static void set_err(char *err, size_t err_size, const char *msg)
{
    if (err && err_size > 0) {
        size_t n = strlen(msg);
        if (n >= err_size)
            n = err_size - 1;
        memcpy(err, msg, n);
        err[n] = '\0';
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses an unsigned decimal at s[*i..n); advances *i. False on no digit or overflow. */
static bool scan_u64(const char *s, size_t n, size_t *i, uint64_t *out)
{
    size_t k = *i;
    uint64_t v = 0;
    if (k >= n || !is_digit(s[k]))
        return false;
    while (k < n && is_digit(s[k])) {
        uint64_t d = (uint64_t)(s[k] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        k++;
    }
    *i = k;
    *out = v;
    return true;
}

/* A signed decimal; negative values are returned as 0 with *neg set (cutime can be "-1" in theory).
 */
static bool scan_i64_clamped(const char *s, size_t n, size_t *i, uint64_t *out)
{
    size_t k = *i;
    bool neg = false;
    if (k < n && (s[k] == '-' || s[k] == '+')) {
        neg = s[k] == '-';
        k++;
    }
    uint64_t v;
    if (!scan_u64(s, n, &k, &v))
        return false;
    *i = k;
    *out = neg ? 0 : v;
    return true;
}

/* A non-negative decimal with an optional fraction ("12.34"); locale-independent. */
static bool scan_fixed(const char *s, size_t n, size_t *i, double *out)
{
    uint64_t ip;
    size_t k = *i;
    if (!scan_u64(s, n, &k, &ip))
        return false;
    double v = (double)ip;
    if (k < n && s[k] == '.') {
        k++;
        double scale = 0.1;
        size_t digits = 0;
        while (k < n && is_digit(s[k])) {
            if (digits < 18) {
                v += (s[k] - '0') * scale;
                scale /= 10;
            }
            digits++;
            k++;
        }
        if (digits == 0)
            return false;
    }
    *i = k;
    *out = v;
    return true;
}

static void skip_spaces(const char *s, size_t n, size_t *i)
{
    while (*i < n && is_space(s[*i]))
        (*i)++;
}

static void skip_blanks(const char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t'))
        (*i)++;
}

int ostel_procfs_parse_stat(const char *buf, size_t len, struct ostel_procfs_stat *out, char *err,
                            size_t err_size)
{
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    uint64_t v;
    skip_spaces(buf, len, &i);
    if (!scan_u64(buf, len, &i, &v) || v == 0 || v > 0x7fffffff) {
        set_err(err, err_size, "stat: no pid");
        return OSTEL_ERR;
    }
    out->pid = (long)v;
    /* comm ends at the LAST ')' of the line: comm itself may hold ')', ' ' and even '\n'. */
    const char *open = memchr(buf + i, '(', len - i);
    const char *close = NULL;
    for (size_t k = len; k > i; k--) {
        if (buf[k - 1] == ')') {
            close = buf + k - 1;
            break;
        }
    }
    if (!open || !close || close < open) {
        set_err(err, err_size, "stat: no (comm)");
        return OSTEL_ERR;
    }
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof(out->comm))
        clen = sizeof(out->comm) - 1;
    memcpy(out->comm, open + 1, clen);
    out->comm[clen] = '\0';

    i = (size_t)(close - buf) + 1;
    skip_spaces(buf, len, &i);
    if (i >= len || is_space(buf[i])) {
        set_err(err, err_size, "stat: no state");
        return OSTEL_ERR;
    }
    out->state = buf[i++];
    if (i < len && !is_space(buf[i])) {
        set_err(err, err_size, "stat: bad state");
        return OSTEL_ERR;
    }
    /* Fields 4.. (1-based, man 5 proc). Read up to field 24 (rss). */
    uint64_t f[25] = {0};
    int field = 4;
    for (; field <= 24; field++) {
        skip_spaces(buf, len, &i);
        if (i >= len)
            break;
        if (!scan_i64_clamped(buf, len, &i, &f[field])) {
            set_err(err, err_size, "stat: bad number");
            return OSTEL_ERR;
        }
        if (i < len && !is_space(buf[i])) {
            set_err(err, err_size, "stat: bad number");
            return OSTEL_ERR;
        }
    }
    if (field <= 24) {
        set_err(err, err_size, "stat: too few fields");
        return OSTEL_ERR;
    }
    out->ppid = f[4] > 0x7fffffff ? 0 : (long)f[4];
    out->minflt = f[10];
    out->cminflt = f[11];
    out->majflt = f[12];
    out->cmajflt = f[13];
    out->utime = f[14];
    out->stime = f[15];
    out->cutime = f[16];
    out->cstime = f[17];
    out->num_threads = f[20];
    out->starttime = f[22];
    out->rss_pages = f[24];
    return OSTEL_OK;
}

/* Iterates "Key:<blanks>value..." lines: returns the value part after the key of `line`. */
static bool line_key(struct ostel_str line, const char *key, char sep, size_t *value_at)
{
    if (key[0] != '\0' && line.n > 0 && line.p[0] != key[0]) /* cheap reject of most lines */
        return false;
    size_t kl = strlen(key);
    if (line.n <= kl || memcmp(line.p, key, kl) != 0 || line.p[kl] != sep)
        return false;
    *value_at = kl + 1;
    return true;
}

/* "<blanks><u64>[ kB]" */
static bool line_u64(struct ostel_str line, size_t at, uint64_t *out)
{
    size_t i = at;
    skip_blanks(line.p, line.n, &i);
    uint64_t v;
    if (!scan_u64(line.p, line.n, &i, &v))
        return false;
    if (i < line.n && !is_space(line.p[i]))
        return false;
    *out = v;
    return true;
}

struct key_slot {
    const char *key;
    int bit;
    uint64_t *dst;
};

static void parse_key_lines(const char *buf, size_t len, char sep, const struct key_slot *slots,
                            size_t nslots, uint32_t *valid)
{
    uint32_t all = 0;
    for (size_t k = 0; k < nslots; k++)
        all |= 1u << slots[k].bit;
    struct ostel_str rest = ostel_str_make(buf, len), line;
    while ((*valid & all) != all && ostel_str_next_line(&rest, &line)) {
        for (size_t k = 0; k < nslots; k++) {
            size_t at;
            if ((*valid >> slots[k].bit) & 1u)
                continue;
            if (line_key(line, slots[k].key, sep, &at) && line_u64(line, at, slots[k].dst)) {
                *valid |= 1u << slots[k].bit;
                break;
            }
        }
    }
}

void ostel_procfs_parse_status(const char *buf, size_t len, struct ostel_procfs_status *out)
{
    memset(out, 0, sizeof(*out));
    const struct key_slot slots[] = {
        {"VmRSS", OSTEL_PROCFS_STATUS_VM_RSS, &out->vm_rss_kib},
        {"RssAnon", OSTEL_PROCFS_STATUS_RSS_ANON, &out->rss_anon_kib},
        {"RssFile", OSTEL_PROCFS_STATUS_RSS_FILE, &out->rss_file_kib},
        {"RssShmem", OSTEL_PROCFS_STATUS_RSS_SHMEM, &out->rss_shmem_kib},
        {"VmSwap", OSTEL_PROCFS_STATUS_VM_SWAP, &out->vm_swap_kib},
        {"Threads", OSTEL_PROCFS_STATUS_THREADS, &out->threads},
        {"PPid", OSTEL_PROCFS_STATUS_PPID, &out->ppid},
    };
    parse_key_lines(buf, len, ':', slots, OSTEL_ARRAY_LEN(slots), &out->valid);
}

int ostel_procfs_parse_statm(const char *buf, size_t len, struct ostel_procfs_statm *out, char *err,
                             size_t err_size)
{
    memset(out, 0, sizeof(*out));
    uint64_t *dst[3] = {&out->size_pages, &out->resident_pages, &out->shared_pages};
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        skip_spaces(buf, len, &i);
        if (!scan_u64(buf, len, &i, dst[k]) || (i < len && !is_space(buf[i]))) {
            set_err(err, err_size, "statm: bad number");
            return OSTEL_ERR;
        }
    }
    return OSTEL_OK;
}

bool ostel_procfs_statm_memory(const struct ostel_procfs_statm *sm, uint64_t page_size,
                               uint64_t *rss_kib, uint64_t *anon_kib, uint64_t *file_kib)
{
    uint64_t kib_per_page = page_size / 1024 ? page_size / 1024 : 4;
    if (sm->shared_pages > sm->resident_pages || sm->resident_pages > UINT64_MAX / kib_per_page)
        return false;
    *rss_kib = sm->resident_pages * kib_per_page;
    *anon_kib = (sm->resident_pages - sm->shared_pages) * kib_per_page;
    *file_kib = sm->shared_pages * kib_per_page;
    return true;
}

void ostel_procfs_parse_meminfo(const char *buf, size_t len, struct ostel_procfs_meminfo *out)
{
    memset(out, 0, sizeof(*out));
    const struct key_slot slots[] = {
        {"MemTotal", OSTEL_PROCFS_MEMINFO_TOTAL, &out->mem_total_kib},
        {"MemFree", OSTEL_PROCFS_MEMINFO_FREE, &out->mem_free_kib},
        {"MemAvailable", OSTEL_PROCFS_MEMINFO_AVAILABLE, &out->mem_avail_kib},
        {"SwapTotal", OSTEL_PROCFS_MEMINFO_SWAP_TOTAL, &out->swap_total_kib},
        {"SwapFree", OSTEL_PROCFS_MEMINFO_SWAP_FREE, &out->swap_free_kib},
    };
    parse_key_lines(buf, len, ':', slots, OSTEL_ARRAY_LEN(slots), &out->valid);
}

void ostel_procfs_parse_vmstat(const char *buf, size_t len, struct ostel_procfs_vmstat *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t old_refault = 0;
    const struct key_slot slots[] = {
        {"pgpgin", OSTEL_PROCFS_VMSTAT_PGPGIN, &out->pgpgin_kib},
        {"pgpgout", OSTEL_PROCFS_VMSTAT_PGPGOUT, &out->pgpgout_kib},
        {"pswpin", OSTEL_PROCFS_VMSTAT_PSWPIN, &out->pswpin},
        {"pswpout", OSTEL_PROCFS_VMSTAT_PSWPOUT, &out->pswpout},
        {"pgmajfault", OSTEL_PROCFS_VMSTAT_PGMAJFAULT, &out->pgmajfault},
        {"workingset_refault_file", OSTEL_PROCFS_VMSTAT_REFAULT_FILE, &out->refault_file},
        {"oom_kill", OSTEL_PROCFS_VMSTAT_OOM_KILL, &out->oom_kill},
        /* Kernels before 5.9 have one refault counter (file pages only, anon were not tracked). */
        {"workingset_refault", 31, &old_refault},
    };
    parse_key_lines(buf, len, ' ', slots, OSTEL_ARRAY_LEN(slots), &out->valid);
    if (((out->valid >> 31) & 1u) && !((out->valid >> OSTEL_PROCFS_VMSTAT_REFAULT_FILE) & 1u)) {
        out->refault_file = old_refault;
        out->valid |= 1u << OSTEL_PROCFS_VMSTAT_REFAULT_FILE;
    }
    out->valid &= ~(1u << 31);
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" */
static void parse_psi_line(struct ostel_str line, size_t at, double *avg10, uint64_t *total,
                           uint32_t *valid, int avg_bit, int total_bit)
{
    size_t i = at;
    while (i < line.n) {
        skip_spaces(line.p, line.n, &i); /* all of them: a lone '\v' must not stall the loop */
        if (i >= line.n)
            break;
        size_t start = i;
        while (i < line.n && line.p[i] != '=' && !is_space(line.p[i]))
            i++;
        if (i >= line.n || line.p[i] != '=') {
            while (i < line.n && !is_space(line.p[i]))
                i++;
            continue;
        }
        struct ostel_str key = ostel_str_make(line.p + start, i - start);
        i++; /* '=' */
        size_t vstart = i;
        if (ostel_str_eq(key, "avg10")) {
            double d;
            if (scan_fixed(line.p, line.n, &i, &d) && (i >= line.n || is_space(line.p[i])) &&
                d <= 100.0) {
                *avg10 = d;
                *valid |= 1u << avg_bit;
            }
        } else if (ostel_str_eq(key, "total")) {
            uint64_t v;
            if (scan_u64(line.p, line.n, &i, &v) && (i >= line.n || is_space(line.p[i]))) {
                *total = v;
                *valid |= 1u << total_bit;
            }
        }
        if (i == vstart || (i < line.n && !is_space(line.p[i])))
            while (i < line.n && !is_space(line.p[i]))
                i++;
    }
}

void ostel_procfs_parse_psi(const char *buf, size_t len, struct ostel_procfs_psi *out)
{
    memset(out, 0, sizeof(*out));
    struct ostel_str rest = ostel_str_make(buf, len), line;
    while (ostel_str_next_line(&rest, &line)) {
        size_t at;
        if (line_key(line, "some", ' ', &at) && !((out->valid >> OSTEL_PROCFS_PSI_SOME_TOTAL) & 1u))
            parse_psi_line(line, at, &out->some_avg10, &out->some_total_us, &out->valid,
                           OSTEL_PROCFS_PSI_SOME_AVG10, OSTEL_PROCFS_PSI_SOME_TOTAL);
        else if (line_key(line, "full", ' ', &at) &&
                 !((out->valid >> OSTEL_PROCFS_PSI_FULL_TOTAL) & 1u))
            parse_psi_line(line, at, &out->full_avg10, &out->full_total_us, &out->valid,
                           OSTEL_PROCFS_PSI_FULL_AVG10, OSTEL_PROCFS_PSI_FULL_TOTAL);
    }
}

int ostel_procfs_parse_pids(const char *buf, size_t len, pid_t *out, size_t cap, size_t *count,
                            bool *truncated, char *err, size_t err_size)
{
    size_t i = 0, n = 0;
    *truncated = false;
    *count = 0;
    for (;;) {
        skip_spaces(buf, len, &i);
        if (i >= len)
            break;
        uint64_t v;
        if (!scan_u64(buf, len, &i, &v) || v == 0 || v > 0x7fffffff ||
            (i < len && !is_space(buf[i]))) {
            *count = n;
            set_err(err, err_size, "pid list: bad pid");
            return OSTEL_ERR;
        }
        if (n < cap)
            out[n++] = (pid_t)v;
        else
            *truncated = true;
    }
    *count = n;
    return OSTEL_OK;
}

bool ostel_procfs_parse_pid_name(const char *name, pid_t *out)
{
    size_t n = strnlen(name, 16);
    size_t i = 0;
    uint64_t v;
    if (n == 0 || n >= 16 || !scan_u64(name, n, &i, &v) || i != n || v == 0 || v > 0x7fffffff)
        return false;
    *out = (pid_t)v;
    return true;
}

bool ostel_procfs_parse_loadavg(const char *buf, size_t len, struct ostel_procfs_loadavg *out)
{
    size_t i = 0;
    for (int field = 1; field <= 3; field++) { /* the three load averages */
        skip_spaces(buf, len, &i);
        size_t start = i;
        while (i < len && !is_space(buf[i]))
            i++;
        if (i == start)
            return false;
    }
    uint64_t running, tasks, last_pid;
    skip_spaces(buf, len, &i);
    if (!scan_u64(buf, len, &i, &running) || i >= len || buf[i] != '/')
        return false;
    i++;
    if (!scan_u64(buf, len, &i, &tasks) || i >= len || !is_space(buf[i]))
        return false;
    skip_spaces(buf, len, &i);
    if (!scan_u64(buf, len, &i, &last_pid) || last_pid > 0x7fffffff)
        return false;
    skip_spaces(buf, len, &i);
    if (i != len)
        return false;
    out->tasks = tasks;
    out->last_pid = last_pid;
    return true;
}

static void copy_trimmed(struct ostel_str s, char *out, size_t out_size)
{
    s = ostel_str_trim(s);
    size_t n = s.n < out_size - 1 ? s.n : out_size - 1;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s.p[k];
        out[k] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c; /* config.txt values: one line */
    }
    out[n] = '\0';
}

bool ostel_procfs_parse_cpu_model(const char *buf, size_t len, char *out, size_t out_size)
{
    static const char *const keys[] = {"model name", "Processor", "cpu model"};
    if (out_size == 0)
        return false;
    out[0] = '\0';
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(keys); k++) {
        struct ostel_str rest = ostel_str_make(buf, len), line;
        size_t kl = strlen(keys[k]);
        while (ostel_str_next_line(&rest, &line)) {
            if (line.n < kl || memcmp(line.p, keys[k], kl) != 0)
                continue;
            size_t i = kl;
            skip_blanks(line.p, line.n, &i);
            if (i >= line.n || line.p[i] != ':')
                continue;
            struct ostel_str v = ostel_str_make(line.p + i + 1, line.n - i - 1);
            v = ostel_str_trim(v);
            if (v.n == 0)
                continue;
            copy_trimmed(v, out, out_size);
            return true;
        }
    }
    return false;
}

bool ostel_procfs_parse_os_release(const char *buf, size_t len, char *out, size_t out_size)
{
    if (out_size == 0)
        return false;
    out[0] = '\0';
    struct ostel_str rest = ostel_str_make(buf, len), line;
    while (ostel_str_next_line(&rest, &line)) {
        size_t at;
        if (!line_key(line, "PRETTY_NAME", '=', &at))
            continue;
        struct ostel_str v = ostel_str_trim(ostel_str_make(line.p + at, line.n - at));
        if (v.n >= 2 && (v.p[0] == '"' || v.p[0] == '\'') && v.p[v.n - 1] == v.p[0])
            v = ostel_str_make(v.p + 1, v.n - 2);
        if (v.n == 0)
            return false;
        copy_trimmed(v, out, out_size);
        return true;
    }
    return false;
}

static bool safe_cgroup_path(struct ostel_str p)
{
    if (p.n == 0 || p.p[0] != '/')
        return false;
    for (size_t i = 0; i < p.n; i++) {
        if (p.p[i] == '\0')
            return false;
        if (p.p[i] == '.' && i + 1 < p.n && p.p[i + 1] == '.' && p.p[i - 1] == '/' &&
            (i + 2 == p.n || p.p[i + 2] == '/'))
            return false;
    }
    return true;
}

/* Whether the comma-separated controller list holds `name`. */
static bool has_controller(struct ostel_str list, const char *name)
{
    size_t nl = strlen(name), i = 0;
    while (i <= list.n) {
        size_t start = i;
        while (i < list.n && list.p[i] != ',')
            i++;
        if (i - start == nl && memcmp(list.p + start, name, nl) == 0)
            return true;
        i++;
    }
    return false;
}

void ostel_procfs_parse_cgroup(const char *buf, size_t len, struct ostel_str *v2,
                               struct ostel_str *v1_memory)
{
    *v2 = ostel_str_make(NULL, 0);
    *v1_memory = ostel_str_make(NULL, 0);
    struct ostel_str rest = ostel_str_make(buf, len), line;
    while (ostel_str_next_line(&rest, &line)) {
        const char *c1 = memchr(line.p, ':', line.n);
        if (!c1)
            continue;
        size_t after1 = (size_t)(c1 - line.p) + 1;
        const char *c2 = memchr(c1 + 1, ':', line.n - after1);
        if (!c2)
            continue;
        struct ostel_str id = ostel_str_make(line.p, (size_t)(c1 - line.p));
        struct ostel_str ctl = ostel_str_make(c1 + 1, (size_t)(c2 - c1 - 1));
        struct ostel_str path = ostel_str_make(c2 + 1, line.n - (size_t)(c2 + 1 - line.p));
        if (!safe_cgroup_path(path))
            continue;
        if (ostel_str_eq(id, "0") && ctl.n == 0) {
            if (!v2->p)
                *v2 = path;
        } else if (has_controller(ctl, "memory")) {
            if (!v1_memory->p)
                *v1_memory = path;
        }
    }
}

bool ostel_procfs_find_u64(const char *buf, size_t len, const char *key, uint64_t *out)
{
    struct ostel_str rest = ostel_str_make(buf, len), line;
    while (ostel_str_next_line(&rest, &line)) {
        size_t at;
        if (line_key(line, key, ' ', &at) && line_u64(line, at, out))
            return true;
    }
    return false;
}
