/*
 * Unit tests for the compiled platform backend on the live system, and for the macOS backend's pure
 * helpers (darwin_parse.c, built everywhere).
 *
 * The live test forks a 3-level tree (A -> B -> C), has C allocate and touch 64 MiB, then burn CPU,
 * and checks that the tree count, the RSS growth and the CPU time follow. The expected growth is
 * not a constant: C measures its own (statm before and after, CPU clock before and after) and sends
 * it back, so a sanitizer's shadow memory or a different allocator moves both sides alike. A failed
 * assertion still closes the handle and ends the tree (the teardown), so it adds no leak report.
 * It also checks that ostel_platform_sample() never allocates: under AddressSanitizer with the
 * sanitizer's malloc hooks, in a plain glibc build by interposing malloc.
 */
#include "testlib.h"
#include "platform/darwin/darwin_parse.h"
#include "platform/linux/procfs_parse.h"
#include "platform/platform.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- counting allocations ---- */

static volatile long alloc_count;
static volatile int alloc_counting;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OSTEL_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define OSTEL_TEST_ASAN 1
#endif

#if defined(OSTEL_TEST_ASAN)
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (alloc_counting)
        alloc_count++;
}
static void on_free(const volatile void *p)
{
    (void)p;
}
static bool alloc_hook_install(void)
{
    return __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
}
#elif defined(__GLIBC__)
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t c, size_t n);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n)
{
    if (alloc_counting)
        alloc_count++;
    return __libc_malloc(n);
}
void *calloc(size_t c, size_t n)
{
    if (alloc_counting)
        alloc_count++;
    return __libc_calloc(c, n);
}
void *realloc(void *p, size_t n)
{
    if (alloc_counting)
        alloc_count++;
    return __libc_realloc(p, n);
}
static bool alloc_hook_install(void)
{
    return true;
}
#else
static bool alloc_hook_install(void)
{
    return false;
}
#endif

/* ---- the child tree ---- */

#define TREE_ALLOC_BYTES (64u << 20)

struct tree {
    pid_t a;
    int cmd_w;   /* test -> C: 'a' allocate, 'b' burn CPU, 'f' fork D, close = exit */
    int ready_r; /* C -> test: one struct tree_reply per finished command */
};

/* What C measured of itself around one command; rss_* are 0 where statm cannot be read. */
struct tree_reply {
    uint64_t rss_before_bytes, rss_after_bytes; /* its own /proc/self/statm resident */
    uint64_t cpu_before_ns, cpu_after_ns;       /* its own CLOCK_PROCESS_CPUTIME_ID */
};

/* One live test's resources, released by the teardown also when an assertion failed. */
struct live {
    struct tree t;
    bool tree_on;
    struct ostel_platform *p, *p2;
};

static void wait_reply(int fd, struct tree_reply *r)
{
    struct tree_reply tmp;
    size_t got = 0;
    while (got < sizeof(tmp)) {
        ssize_t n = read(fd, (char *)&tmp + got, sizeof(tmp) - got);
        if (n == 0)
            fail_msg("the test tree ended early");
        if (n > 0)
            got += (size_t)n;
    }
    if (r)
        *r = tmp;
}

/* C's own resident bytes from /proc/self/statm (async-signal-safe calls only: C was forked). */
static uint64_t self_rss_bytes(void)
{
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return 0;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    struct ostel_procfs_statm sm;
    if (n <= 0 || ostel_procfs_parse_statm(buf, (size_t)n, &sm, NULL, 0) != 0)
        return 0;
    return sm.resident_pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t self_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static OSTEL_NORETURN void run_c(int cmd_r, int ready_w)
{
    char *mem = NULL;
    char c;
    pid_t d = -1;
    int d_w = -1; /* D lives until C closes this */
    struct tree_reply r = {0};
    if (write(ready_w, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(1);
    while (read(cmd_r, &c, 1) == 1) {
        r.rss_before_bytes = self_rss_bytes();
        r.cpu_before_ns = self_cpu_ns();
        if (c == 'f' && d < 0) {
            int dp[2];
            if (pipe(dp) != 0)
                _exit(1);
            d = fork();
            if (d < 0)
                _exit(1);
            if (d == 0) {
                close(dp[1]);
                close(cmd_r);
                close(ready_w);
                while (read(dp[0], &c, 1) > 0)
                    ;
                _exit(0);
            }
            close(dp[0]);
            d_w = dp[1];
        } else if (c == 'a') {
            mem = malloc(TREE_ALLOC_BYTES);
            if (!mem)
                _exit(1);
            for (size_t i = 0; i < TREE_ALLOC_BYTES; i += 4096)
                mem[i] = (char)i | 1;
        } else if (c == 'b') {
            struct timespec t0, t;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
            volatile uint64_t x = 0;
            do {
                for (int i = 0; i < 100000; i++)
                    x += (uint64_t)i * 7;
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
            } while ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) <
                     300000000LL);
        }
        r.rss_after_bytes = self_rss_bytes();
        r.cpu_after_ns = self_cpu_ns();
        if (write(ready_w, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(1);
    }
    free(mem);
    if (d > 0) {
        close(d_w);
        int st;
        waitpid(d, &st, 0);
    }
    _exit(0);
}

/* A forks B, B forks C; A and B wait for their child. */
static struct tree tree_start(void)
{
    int cmd[2], ready[2];
    assert_int_equal(pipe(cmd), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t a = fork();
    assert_true(a >= 0);
    if (a == 0) {
        close(cmd[1]);
        close(ready[0]);
        pid_t b = fork();
        if (b == 0) {
            pid_t c = fork();
            if (c == 0)
                run_c(cmd[0], ready[1]);
            close(cmd[0]);
            close(ready[1]);
            int st;
            waitpid(c, &st, 0);
            _exit(0);
        }
        close(cmd[0]);
        close(ready[1]);
        int st;
        waitpid(b, &st, 0);
        _exit(0);
    }
    close(cmd[0]);
    close(ready[1]);
    struct tree t = {a, cmd[1], ready[0]};
    wait_reply(t.ready_r, NULL);
    return t;
}

static void tree_command(struct tree *t, char c, struct tree_reply *r)
{
    assert_int_equal(write(t->cmd_w, &c, 1), 1);
    wait_reply(t->ready_r, r);
}

static void tree_stop(struct tree *t)
{
    close(t->cmd_w);
    close(t->ready_r);
    int st;
    waitpid(t->a, &st, 0);
}

static int live_setup(void **state)
{
    *state = ostel_xcalloc(1, sizeof(struct live));
    return 0;
}

static void live_start(struct live *l)
{
    l->t = tree_start();
    l->tree_on = true;
}

static void live_stop(struct live *l)
{
    if (l->tree_on)
        tree_stop(&l->t);
    l->tree_on = false;
}

static int live_teardown(void **state)
{
    struct live *l = *state;
    unsetenv("OSTEL_PLATFORM_SCAN");
    unsetenv("OSTEL_PLATFORM_STATUS");
    live_stop(l);
    ostel_platform_close(l->p);
    ostel_platform_close(l->p2);
    free(l);
    return 0;
}

/* |got - want| <= tol, printed on failure. */
static void assert_near(const char *what, double got, double want, double tol)
{
    if (got < want - tol || got > want + tol)
        fail_msg("%s: %.3f, expected %.3f within %.3f", what, got, want, tol);
}

/* ---- live tests ---- */

static void test_self(void **state)
{
    (void)state;
    char err[256] = "";
    struct ostel_platform *p = ostel_platform_open(getpid(), 64, err, sizeof(err));
    assert_non_null(p);
    struct ostel_platform_sample s;
    assert_int_equal(ostel_platform_sample(p, &s), 0);
    assert_true(s.realtime_ns > 1600000000LL * 1000000000LL);
    assert_true(s.monotonic_ns > 0);
    char desc[512];
    ostel_platform_describe(p, desc, sizeof(desc));
    assert_true(
        strncmp(desc, ostel_platform_backend_name(), strlen(ostel_platform_backend_name())) == 0);
    if (strcmp(ostel_platform_backend_name(), "stub") == 0) {
        assert_int_equal(s.valid, 0);
    } else {
        assert_true(s.root_alive);
        assert_int_equal(s.procs, 1);
        assert_true(ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_RSS));
        assert_true(s.rss_bytes > (1u << 20));
        assert_true(ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_MEM_TOTAL));
        assert_true(s.mem_avail_bytes > 0 && s.mem_avail_bytes <= s.mem_total_bytes);
        assert_true(ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_PAGEINS));
    }
    if (strcmp(ostel_platform_backend_name(), "linux") == 0) {
        assert_true(ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_RSS_ANON));
        assert_true(ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_RSS_FILE));
        assert_true(ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_SWAP));
        assert_true(s.rss_anon_bytes + s.rss_file_bytes <= s.rss_bytes + (1u << 20));
        /* vmstat is read only up to the last line a sample uses: every counter is there, and
         * agrees with the whole file read just after (counters only grow). */
        for (int i = 0; i < 20; i++)
            ostel_platform_sample(p, &s);
        enum ostel_platform_field vf[] = {
            OSTEL_PLATFORM_FIELD_PAGEINS,    OSTEL_PLATFORM_FIELD_PAGEOUTS,
            OSTEL_PLATFORM_FIELD_SWAPINS,    OSTEL_PLATFORM_FIELD_SWAPOUTS,
            OSTEL_PLATFORM_FIELD_SYS_MAJFLT, OSTEL_PLATFORM_FIELD_REFAULT_FILE};
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(vf); k++)
            assert_true(ostel_platform_sample_has(&s, vf[k]));
        size_t len;
        char *text = test_read_file("/proc/vmstat", &len);
        struct ostel_procfs_vmstat vm;
        ostel_procfs_parse_vmstat(text, len, &vm);
        free(text);
        uint64_t kib_per_page = (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
        assert_true(s.pageins <= vm.pgpgin_kib / kib_per_page);
        assert_true(s.pageins + 1000000 > vm.pgpgin_kib / kib_per_page);
        assert_true(s.pageouts <= vm.pgpgout_kib / kib_per_page);
        assert_true(s.swapins <= vm.pswpin && s.swapouts <= vm.pswpout);
        assert_true(s.sys_majflt <= vm.pgmajfault && s.sys_majflt + 100000 > vm.pgmajfault);
        assert_true(s.refault_file <= vm.refault_file);
        assert_true(s.refault_file + 1000000 > vm.refault_file);
        uint64_t kills = 99;
        const char *scope = NULL;
        assert_true(ostel_platform_read_oom_kills(p, &kills, &scope));
        assert_int_equal(kills, 0);
        assert_non_null(scope);
        print_message("      %s\n", desc);
    }
    ostel_platform_close(p);

    assert_null(ostel_platform_open(0, 64, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_null(ostel_platform_open(getpid(), 0, err, sizeof(err)));
}

static void run_tree(struct live *l, bool force_scan, bool force_status)
{
    if (force_scan)
        setenv("OSTEL_PLATFORM_SCAN", "1", 1);
    if (force_status)
        setenv("OSTEL_PLATFORM_STATUS", "1", 1);
    live_start(l);
    struct tree *t = &l->t;
    char err[256] = "";
    l->p = ostel_platform_open(t->a, 16, err, sizeof(err));
    unsetenv("OSTEL_PLATFORM_SCAN");
    unsetenv("OSTEL_PLATFORM_STATUS");
    struct ostel_platform *p = l->p;
    assert_non_null(p);
    char desc[512];
    ostel_platform_describe(p, desc, sizeof(desc));
    print_message("      %s\n", desc);
    struct ostel_platform_sample s0, s1, s2, s3;
    assert_int_equal(ostel_platform_sample(p, &s0), 0);
    assert_int_equal(s0.procs, 3);
    assert_int_equal(s0.threads, 3);
    assert_true(s0.root_alive);
    assert_false(s0.tree_truncated);

    /* A and B sit in waitpid(): the tree grows by what C itself saw it grow by. */
    struct tree_reply r;
    tree_command(t, 'a', &r);
    assert_int_equal(ostel_platform_sample(p, &s1), 0);
    assert_int_equal(s1.procs, 3);
    double grew_mib = ((double)s1.rss_bytes - (double)s0.rss_bytes) / 1048576.0;
    double child_mib = ((double)r.rss_after_bytes - (double)r.rss_before_bytes) / 1048576.0;
    print_message("      tree rss grew by %.1f MiB, C saw itself grow by %.1f MiB (allocated 64)\n",
                  grew_mib, child_mib);
    /* touched pages are resident: at least most of them, whatever the allocator adds */
    double floor_mib = (double)TREE_ALLOC_BYTES / 1048576.0 / 2.0;
    assert_true(grew_mib > floor_mib);
    if (r.rss_before_bytes > 0 && r.rss_after_bytes > 0) {
        /* 1 MiB or 2 %: pages the other two processes or C's stack may have touched meanwhile */
        double tol = child_mib * 0.02 > 1.0 ? child_mib * 0.02 : 1.0;
        assert_near("tree rss growth (MiB) against C's own", grew_mib, child_mib, tol);
        if (ostel_platform_sample_has(&s1, OSTEL_PLATFORM_FIELD_RSS_ANON)) {
            double anon_mib = ((double)s1.rss_anon_bytes - (double)s0.rss_anon_bytes) / 1048576.0;
            assert_near("tree anonymous rss growth (MiB)", anon_mib, child_mib, tol);
        }
    }
    assert_true(s1.minflt >= s0.minflt + (TREE_ALLOC_BYTES / 4096) / 2);

    /* The kernel reports CPU time in clock ticks: the tree's growth equals C's own CPU clock's
     * within a few ticks (rounding in three processes), however fast or crowded the machine. */
    tree_command(t, 'b', &r);
    assert_int_equal(ostel_platform_sample(p, &s2), 0);
    double cpu_ms = (double)(s2.cpu_ns - s1.cpu_ns) / 1e6;
    double child_cpu_ms = (double)(r.cpu_after_ns - r.cpu_before_ns) / 1e6;
    double tick_ms = 1000.0 / (double)sysconf(_SC_CLK_TCK);
    print_message("      tree cpu grew by %.0f ms, C used %.0f ms (burned 300 of its thread)\n",
                  cpu_ms, child_cpu_ms);
    assert_true(child_cpu_ms >= 300.0);
    assert_near("tree cpu growth (ms) against C's own", cpu_ms, child_cpu_ms, 4.0 * tick_ms);

    struct ostel_platform_pressure st;
    ostel_platform_pressure_init(&st);
    struct ostel_platform_metrics m;
    ostel_platform_metrics_compute(&s1, &s2, &st, &m);
    assert_true(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_CPU_PCT));
    assert_true(m.v[OSTEL_PLATFORM_METRIC_CPU_PCT] > 0.0);
    assert_true(ostel_platform_metrics_has(&m, OSTEL_PLATFORM_METRIC_VM_PRESSURE_FLAG));

    /* No allocation inside sample(), also while it finds a process born after the first samples
     * (C forks D): through the children file kept open since then, or the next /proc scan. */
    bool counting = alloc_hook_install();
    if (counting) {
        /* The hook itself must see an allocation, or the zero below would prove nothing. */
        alloc_count = 0;
        alloc_counting = 1;
        void *volatile probe = malloc(16);
        free(probe);
        alloc_counting = 0;
        assert_true(alloc_count >= 1);
        alloc_count = 0;
        alloc_counting = 1;
    }
    for (int i = 0; i < 50; i++)
        ostel_platform_sample(p, &s3);
    assert_int_equal(s3.procs, 3);
    alloc_counting = 0;
    tree_command(t, 'f', NULL);
    alloc_counting = counting;
    /* The scan runs every 500 ms; no deadline of our own here (ctest's timeout is the bound). */
    while (s3.procs != 4) {
        ostel_platform_sample(p, &s3);
        if (s3.procs != 4)
            usleep(10000);
    }
    alloc_counting = 0;
    assert_int_equal(s3.procs, 4);
    assert_int_equal(s3.threads, 4);
    if (counting)
        assert_int_equal(alloc_count, 0);

    /* The tree ends: its processes vanish between samples, which is not an error. */
    live_stop(l);
    assert_int_equal(ostel_platform_sample(p, &s3), 0);
    assert_false(s3.root_alive);
    assert_int_equal(s3.procs, 0);
    assert_true(ostel_platform_sample_has(&s3, OSTEL_PLATFORM_FIELD_MEM_TOTAL));
}

static void test_tree(void **state)
{
    (void)state;
    if (strcmp(ostel_platform_backend_name(), "stub") == 0)
        skip();
    run_tree(*state, false, false);
}

/* Linux: memory from status every sample, as while swap is in use (this VM has none). */
static void test_tree_status(void **state)
{
    (void)state;
    if (strcmp(ostel_platform_backend_name(), "linux") != 0)
        skip();
    run_tree(*state, false, true);
}

/*
 * Linux: the two ways of reading a process's memory (statm without swap in use, status with it)
 * give the same numbers for the same idle tree.
 */
static void test_memory_paths(void **state)
{
    (void)state;
    if (strcmp(ostel_platform_backend_name(), "linux") != 0)
        skip();
    struct live *l = *state;
    live_start(l);
    tree_command(&l->t, 'a', NULL);
    struct ostel_platform *fast = l->p = ostel_platform_open(l->t.a, 16, NULL, 0);
    setenv("OSTEL_PLATFORM_STATUS", "1", 1);
    struct ostel_platform *slow = l->p2 = ostel_platform_open(l->t.a, 16, NULL, 0);
    unsetenv("OSTEL_PLATFORM_STATUS");
    assert_non_null(fast);
    assert_non_null(slow);
    char desc[512];
    ostel_platform_describe(slow, desc, sizeof(desc));
    assert_non_null(strstr(desc, "OSTEL_PLATFORM_STATUS=1"));
    struct ostel_platform_sample a, b;
    ostel_platform_sample(fast, &a);
    ostel_platform_sample(slow, &b);
    print_message(
        "      statm path: rss %llu anon %llu file %llu swap %llu; status path: rss %llu "
        "anon %llu file %llu swap %llu (KiB)\n",
        (unsigned long long)a.rss_bytes >> 10, (unsigned long long)a.rss_anon_bytes >> 10,
        (unsigned long long)a.rss_file_bytes >> 10, (unsigned long long)a.swap_bytes >> 10,
        (unsigned long long)b.rss_bytes >> 10, (unsigned long long)b.rss_anon_bytes >> 10,
        (unsigned long long)b.rss_file_bytes >> 10, (unsigned long long)b.swap_bytes >> 10);
    enum ostel_platform_field f[] = {OSTEL_PLATFORM_FIELD_RSS, OSTEL_PLATFORM_FIELD_RSS_ANON,
                                     OSTEL_PLATFORM_FIELD_RSS_FILE, OSTEL_PLATFORM_FIELD_SWAP};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(f); k++) {
        assert_true(ostel_platform_sample_has(&a, f[k]));
        assert_true(ostel_platform_sample_has(&b, f[k]));
    }
    assert_int_equal(a.procs, 3);
    assert_int_equal(b.procs, 3);
    assert_true(a.rss_anon_bytes > TREE_ALLOC_BYTES);
    /* The tree is blocked in read(): its counters do not move between the two samples. */
    assert_int_equal(a.rss_bytes, b.rss_bytes);
    assert_int_equal(a.rss_anon_bytes, b.rss_anon_bytes);
    assert_int_equal(a.rss_file_bytes, b.rss_file_bytes);
    if (ostel_platform_sample_has(&a, OSTEL_PLATFORM_FIELD_SWAP_TOTAL) &&
        ostel_platform_sample_has(&a, OSTEL_PLATFORM_FIELD_SWAP_FREE) &&
        a.swap_free_bytes >= a.swap_total_bytes)
        assert_int_equal(a.swap_bytes, 0); /* no swap in use: nothing of ours is in swap */
    assert_int_equal(a.swap_bytes, b.swap_bytes);
}

/* Linux: the /proc scan used where the kernel has no task children files. */
static void test_tree_scan(void **state)
{
    (void)state;
    if (strcmp(ostel_platform_backend_name(), "linux") != 0)
        skip();
    run_tree(*state, true, false);
}

static void test_tree_truncated(void **state)
{
    (void)state;
    if (strcmp(ostel_platform_backend_name(), "stub") == 0)
        skip();
    struct live *l = *state;
    live_start(l);
    struct ostel_platform *p = l->p = ostel_platform_open(l->t.a, 2, NULL, 0);
    assert_non_null(p);
    struct ostel_platform_sample s;
    ostel_platform_sample(p, &s);
    assert_int_equal(s.procs, 2);
    assert_true(s.tree_truncated);
}

static void test_host(void **state)
{
    (void)state;
    struct ostel_platform_host h;
    assert_int_equal(ostel_platform_host_read(&h), 0);
    assert_true(strlen(h.os) > 0);
    assert_true(strlen(h.kernel) > 0);
    assert_true((h.valid >> OSTEL_PLATFORM_HOST_PAGE_SIZE) & 1u);
    assert_true(h.page_size >= 4096);
    if (strcmp(ostel_platform_backend_name(), "stub") != 0) {
        assert_true((h.valid >> OSTEL_PLATFORM_HOST_CORES) & 1u);
        assert_true(h.logical_cores >= 1);
        assert_true((h.valid >> OSTEL_PLATFORM_HOST_RAM) & 1u);
        assert_true(h.ram_bytes >= (64ull << 20));
    }
    print_message("      host=%s os=%s (%s) kernel=%s cpu=%s cores=%u ram=%llu MiB\n", h.hostname,
                  h.os, h.os_version, h.kernel, h.cpu_model, h.logical_cores,
                  (unsigned long long)(h.ram_bytes >> 20));
}

/* ---- darwin_parse: the macOS backend's pure part ---- */

static void test_darwin_units(void **state)
{
    (void)state;
    /* Apple Silicon: 24 MHz ticks, numer/denom 125/3: 24,000,000 ticks = 1 s. */
    assert_int_equal(ostel_darwin_mach_to_ns(24000000, 125, 3), 1000000000ull);
    assert_int_equal(ostel_darwin_mach_to_ns(1, 125, 3), 41);
    assert_int_equal(ostel_darwin_mach_to_ns(123456789, 1, 1), 123456789);
    assert_int_equal(ostel_darwin_mach_to_ns(5, 0, 0), 5);
    /* No overflow on large values: 10^15 ticks ~ 1.3 years of CPU. */
    assert_int_equal(ostel_darwin_mach_to_ns(1000000000000002ull, 125, 3), 41666666666666750ull);
    assert_int_equal(ostel_darwin_mach_to_ns(UINT64_MAX, 125, 3), UINT64_MAX);

    assert_int_equal(ostel_darwin_pressure_flag(1), 1);
    assert_int_equal(ostel_darwin_pressure_flag(2), 2);
    assert_int_equal(ostel_darwin_pressure_flag(4), 4);
    assert_int_equal(ostel_darwin_pressure_flag(0), 0);
    assert_int_equal(ostel_darwin_pressure_flag(3), 0);
    assert_int_equal(ostel_darwin_avail_level(37), 37);
    assert_int_equal(ostel_darwin_avail_level(101), -1);
    assert_int_equal(ostel_darwin_avail_level(-1), -1);

    int32_t i32 = -7;
    int64_t i64 = 1ll << 40, v;
    assert_true(ostel_darwin_sysctl_int(&i32, sizeof(i32), &v));
    assert_int_equal(v, -7);
    assert_true(ostel_darwin_sysctl_int(&i64, sizeof(i64), &v));
    assert_true(v == 1ll << 40);
    assert_false(ostel_darwin_sysctl_int(&i64, 2, &v));

    uint64_t bytes;
    assert_true(ostel_darwin_wired_limit_bytes(0, &bytes));
    assert_int_equal(bytes, 0);
    assert_true(ostel_darwin_wired_limit_bytes(49152, &bytes));
    assert_true(bytes == 49152ull << 20);
    assert_false(ostel_darwin_wired_limit_bytes(-1, &bytes));
}

static void test_darwin_avail(void **state)
{
    (void)state;
    /* 16 GiB with 16 KiB pages = 1048576 pages. Used = (internal 400000 - purgeable 50000) + wired
     * 150000 + compressed 100000 = 600000 pages; available = 448576 pages. */
    struct ostel_darwin_vm vm = {
        .free_count = 20000,
        .active_count = 300000,
        .inactive_count = 290000,
        .speculative_count = 10000,
        .wire_count = 150000,
        .purgeable_count = 50000,
        .compressor_page_count = 100000,
        .internal_page_count = 400000,
        .external_page_count = 300000,
    };
    uint64_t total = 16ull << 30;
    assert_true(ostel_darwin_avail_bytes(&vm, 16384, total) == 448576ull * 16384);
    vm.wire_count = 2000000; /* more used than RAM: 0, not a wrapped number */
    assert_int_equal(ostel_darwin_avail_bytes(&vm, 16384, total), 0);
    vm.wire_count = UINT64_MAX;
    assert_int_equal(ostel_darwin_avail_bytes(&vm, 16384, total), 0);
    vm.wire_count = 0;
    vm.purgeable_count = 500000; /* purgeable > internal */
    assert_true(ostel_darwin_avail_bytes(&vm, 16384, total) == (1048576ull - 100000) * 16384);
}

/* A fake process table: parent of each pid. */
struct fake_procs {
    pid_t pid[16], ppid[16];
    size_t n;
};

static int fake_list(void *ctx, pid_t ppid, pid_t *buf, size_t cap)
{
    struct fake_procs *f = ctx;
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->ppid[i] == ppid && n < cap)
            buf[n++] = f->pid[i];
    return (int)n;
}

static void test_darwin_tree(void **state)
{
    (void)state;
    pid_t pids[6] = {5, 0, -1, 9, 0, 0};
    assert_int_equal(ostel_darwin_clean_pids(pids, 6, 6), 2);
    assert_int_equal(pids[0], 5);
    assert_int_equal(pids[1], 9);
    assert_int_equal(ostel_darwin_clean_pids(pids, -1, 6), 0);
    pid_t big[3] = {1, 2, 3};
    assert_int_equal(ostel_darwin_clean_pids(big, 1000, 3), 3);

    /* 100 -> 101 -> 102 -> 103, 100 -> 104; 200 unrelated; 105 was ours, reparented to 1. */
    struct fake_procs f = {{101, 102, 103, 104, 200, 105, 106}, {100, 101, 102, 100, 1, 1, 105}, 7};
    pid_t tree[8] = {100, 105}, scratch[4];
    size_t n = 2;
    bool trunc;
    ostel_darwin_walk_tree(tree, &n, 8, scratch, 4, fake_list, &f, &trunc);
    assert_int_equal(n, 7);
    assert_false(trunc);
    for (size_t i = 0; i < n; i++)
        assert_true(tree[i] != 200);
    n = 1;
    ostel_darwin_walk_tree(tree, &n, 3, scratch, 4, fake_list, &f, &trunc);
    assert_int_equal(n, 3);
    assert_true(trunc);
}

/* ---- room for descriptors (fd_room.c) ---- */

/* The descriptor table's size (Linux: FDSize in /proc/self/status), or -1 where it cannot be read
 */
static long fd_table_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    long n = -1;
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "FDSize: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0)
        close(fd);
    return fd;
}

static void test_fd_room(void **state)
{
    (void)state;
    assert_int_equal(ostel_platform_fd_room(0), 0);
    ostel_platform_fd_limit_raise();
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(rl.rlim_cur == rl.rlim_max); /* raised to the hard limit */
    int lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 3000 ? 3000 : (int)rl.rlim_cur;
    assert_true(lim > 64);
    /* the table grows to hold lim descriptors, and nothing is left open: not the lowest free
     * descriptor, nor the one the table was grown with */
    int free_before = lowest_free_fd();
    long table_before = fd_table_size();
    assert_true(table_before < lim); /* -1 where it cannot be read */
    assert_int_equal(ostel_platform_fd_room(lim), lim);
    assert_int_equal(lowest_free_fd(), free_before);
    assert_int_equal(fcntl(lim - 1, F_GETFD), -1);
    if (table_before >= 0) /* Linux */
        assert_true(fd_table_size() >= lim);
    /* a pipe in use where the room's last descriptor goes stays open and the same */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(dup2(p[0], lim - 1), lim - 1);
    assert_int_equal(ostel_platform_fd_room(lim), lim);
    struct stat st;
    assert_int_equal(fstat(lim - 1, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(fcntl(lim, F_GETFD), -1);
    close(lim - 1);
    close(p[0]);
    close(p[1]);

    /* a hard limit below n: the room is the limit, also when its last descriptor is in use and no
     * free one is left above it (in a child, whose limit may be lowered) */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit low = {300, 300};
        int got = setrlimit(RLIMIT_NOFILE, &low) == 0 ? ostel_platform_fd_room(5000) : -1;
        long size = fd_table_size();
        int last =
            dup2(open("/dev/null", O_RDONLY), 299) == 299 ? ostel_platform_fd_room(5000) : -1;
        _exit(got == 300 && (size < 0 || size >= 300) && last == 300 && fcntl(299, F_GETFD) >= 0
                  ? 0
                  : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self),
        cmocka_unit_test_setup_teardown(test_tree, live_setup, live_teardown),
        cmocka_unit_test_setup_teardown(test_tree_scan, live_setup, live_teardown),
        cmocka_unit_test_setup_teardown(test_tree_status, live_setup, live_teardown),
        cmocka_unit_test_setup_teardown(test_memory_paths, live_setup, live_teardown),
        cmocka_unit_test_setup_teardown(test_tree_truncated, live_setup, live_teardown),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_darwin_units),
        cmocka_unit_test(test_darwin_avail),
        cmocka_unit_test(test_darwin_tree),
        cmocka_unit_test(test_fd_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
