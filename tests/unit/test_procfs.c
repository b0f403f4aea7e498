/*
 * Unit tests for the Linux /proc parsers (src/platform/linux/procfs_parse.c): real snapshots
 * captured on the development VM (tests/data/proc/README.md says how) and hostile inputs. Built on
 * every OS.
 */
#include "testlib.h"
#include "platform/linux/procfs_parse.h"

#include <stdlib.h>
#include <string.h>

static char *fixture(const char *name, size_t *len)
{
    char *rel = ostel_xasprintf("tests/data/proc/%s", name);
    char *path = test_src_path(rel);
    char *data = test_read_file(path, len);
    free(rel);
    free(path);
    return data;
}

static void test_stat_paren_comm(void **state)
{
    (void)state;
    size_t len;
    char *d = fixture("stat_paren_comm", &len);
    struct ostel_procfs_stat st;
    char err[128] = "";
    assert_int_equal(ostel_procfs_parse_stat(d, len, &st, err, sizeof(err)), OSTEL_OK);
    assert_int_equal(st.pid, 15543);
    assert_string_equal(st.comm, "a) (b c");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 15540);
    assert_int_equal(st.minflt, 100);
    assert_int_equal(st.majflt, 0);
    assert_int_equal(st.num_threads, 1);
    assert_int_equal(st.starttime, 58855);
    assert_int_equal(st.rss_pages, 416);
    free(d);
}

static void test_stat_cat(void **state)
{
    (void)state;
    size_t len;
    char *d = fixture("stat_cat", &len);
    struct ostel_procfs_stat st;
    assert_int_equal(ostel_procfs_parse_stat(d, len, &st, NULL, 0), OSTEL_OK);
    assert_string_equal(st.comm, "cat");
    assert_int_equal(st.state, 'R');
    assert_true(st.pid > 0 && st.ppid > 0);
    free(d);
}

static void test_stat_synthetic(void **state)
{
    (void)state;
    /* All counters set, cutime negative (clamped), a comm with a newline. */
    const char *s = "77 (x\n)y) R 1 2 3 4 5 6 7 8 9 10 11 12 -13 14 15 16 4 0 99 1000 55 rest\n";
    struct ostel_procfs_stat st;
    assert_int_equal(ostel_procfs_parse_stat(s, strlen(s), &st, NULL, 0), OSTEL_OK);
    assert_string_equal(st.comm, "x\n)y");
    assert_int_equal(st.ppid, 1);
    assert_int_equal(st.minflt, 7);
    assert_int_equal(st.cminflt, 8);
    assert_int_equal(st.majflt, 9);
    assert_int_equal(st.cmajflt, 10);
    assert_int_equal(st.utime, 11);
    assert_int_equal(st.stime, 12);
    assert_int_equal(st.cutime, 0);
    assert_int_equal(st.cstime, 14);
    assert_int_equal(st.num_threads, 4);
    assert_int_equal(st.starttime, 99);
    assert_int_equal(st.rss_pages, 55);
}

static void test_stat_hostile(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "abc",
        "12",
        "12 (comm",
        "12 comm) S 1",
        "12 (comm) S",
        "12 (comm) S 1 2 3",
        "12 (comm) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21",
        "12 (comm) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 x1",
        "12 (comm) S 1 2 3 4 5 6 7 8 99999999999999999999999 10 11 12 13 14 15 16 17 18 19 20 21",
        "0 (comm) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21",
        ")( 12 (",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(bad); i++) {
        struct ostel_procfs_stat st;
        char err[64] = "";
        assert_int_equal(ostel_procfs_parse_stat(bad[i], strlen(bad[i]), &st, err, sizeof(err)),
                         OSTEL_ERR);
        assert_true(strncmp(err, "stat: ", 6) == 0);
    }
    /* A length that cuts the buffer: the parser must not read past it. */
    const char *s = "12 (comm) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21";
    struct ostel_procfs_stat st;
    assert_int_equal(ostel_procfs_parse_stat(s, 20, &st, NULL, 0), OSTEL_ERR);
}

static void test_status_statm(void **state)
{
    (void)state;
    size_t len;
    char *d = fixture("status_sleep", &len);
    struct ostel_procfs_status s;
    ostel_procfs_parse_status(d, len, &s);
    assert_true((s.valid >> OSTEL_PROCFS_STATUS_VM_RSS) & 1u);
    assert_int_equal(s.vm_rss_kib, 1836);
    assert_int_equal(s.rss_anon_kib, 108);
    assert_int_equal(s.rss_file_kib, 1728);
    assert_int_equal(s.rss_shmem_kib, 0);
    assert_int_equal(s.vm_swap_kib, 0);
    assert_int_equal(s.threads, 1);
    assert_int_equal(s.ppid, 15540);
    assert_int_equal(s.valid, 0x7f);
    free(d);

    d = fixture("statm_sleep", &len);
    struct ostel_procfs_statm sm;
    assert_int_equal(ostel_procfs_parse_statm(d, len, &sm, NULL, 0), OSTEL_OK);
    assert_int_equal(sm.size_pages, 730);
    assert_int_equal(sm.resident_pages, 459);
    assert_int_equal(sm.shared_pages, 432);
    free(d);

    /* A kernel before 4.5: no RssAnon; a kernel thread: no Vm lines at all. */
    const char *old = "Name:\tx\nVmRSS:\t  100 kB\nVmSwap:\t 8 kB\nThreads:\t3\n";
    ostel_procfs_parse_status(old, strlen(old), &s);
    assert_false((s.valid >> OSTEL_PROCFS_STATUS_RSS_ANON) & 1u);
    assert_int_equal(s.vm_rss_kib, 100);
    assert_int_equal(s.vm_swap_kib, 8);
    const char *junk = "VmRSS:\t 12x kB\nVmRSS\t5\nRssAnon: -4 kB\nThreads:";
    ostel_procfs_parse_status(junk, strlen(junk), &s);
    assert_int_equal(s.valid, 0);
    char err[64];
    assert_int_equal(ostel_procfs_parse_statm("1 2", 3, &sm, err, sizeof(err)), OSTEL_ERR);
    assert_int_equal(ostel_procfs_parse_statm("1 2 3x", 6, &sm, err, sizeof(err)), OSTEL_ERR);
}

/* statm in status's terms (the sampler's path when no swap is in use): the same process's two
 * files, captured together, must agree line for line. */
static void test_statm_memory(void **state)
{
    (void)state;
    size_t len;
    char *d = fixture("status_sleep", &len);
    struct ostel_procfs_status st;
    ostel_procfs_parse_status(d, len, &st);
    free(d);
    d = fixture("statm_sleep", &len);
    struct ostel_procfs_statm sm;
    assert_int_equal(ostel_procfs_parse_statm(d, len, &sm, NULL, 0), OSTEL_OK);
    free(d);
    uint64_t rss = 0, anon = 0, file = 0;
    assert_true(ostel_procfs_statm_memory(&sm, 4096, &rss, &anon, &file));
    assert_int_equal(rss, st.vm_rss_kib);                       /* 1836 */
    assert_int_equal(anon, st.rss_anon_kib);                    /* 108 */
    assert_int_equal(file, st.rss_file_kib + st.rss_shmem_kib); /* 1728 */
    assert_int_equal(rss, 1836);

    /* 16 KiB pages (arm64 with 16K pages); a process without mm reads all zeros. */
    sm = (struct ostel_procfs_statm){10, 7, 3};
    assert_true(ostel_procfs_statm_memory(&sm, 16384, &rss, &anon, &file));
    assert_int_equal(rss, 112);
    assert_int_equal(anon, 64);
    assert_int_equal(file, 48);
    const char *zero = "0 0 0 0 0 0 0\n";
    assert_int_equal(ostel_procfs_parse_statm(zero, strlen(zero), &sm, NULL, 0), OSTEL_OK);
    assert_true(ostel_procfs_statm_memory(&sm, 4096, &rss, &anon, &file));
    assert_int_equal(rss + anon + file, 0);

    /* Not what a kernel writes: shared above resident, or a size that overflows in KiB. The
     * outputs stay untouched. */
    rss = anon = file = 77;
    sm = (struct ostel_procfs_statm){10, 3, 7};
    assert_false(ostel_procfs_statm_memory(&sm, 4096, &rss, &anon, &file));
    sm = (struct ostel_procfs_statm){0, UINT64_MAX / 2, 0};
    assert_false(ostel_procfs_statm_memory(&sm, 4096, &rss, &anon, &file));
    assert_int_equal(rss, 77);
    assert_int_equal(anon, 77);
    assert_int_equal(file, 77);
}

static void test_meminfo_vmstat(void **state)
{
    (void)state;
    size_t len;
    char *d = fixture("meminfo", &len);
    struct ostel_procfs_meminfo mi;
    ostel_procfs_parse_meminfo(d, len, &mi);
    assert_int_equal(mi.valid, 0x1f);
    assert_int_equal(mi.mem_total_kib, 24684100);
    assert_true(mi.mem_avail_kib > 0 && mi.mem_avail_kib <= mi.mem_total_kib);
    assert_int_equal(mi.swap_total_kib, 0);
    free(d);
    /* Parsing stops once every key is found; the first line of a key still wins. */
    const char *dup = "MemTotal: 1 kB\nMemFree: 2 kB\nMemAvailable: 3 kB\nSwapTotal: 4 kB\n"
                      "SwapFree: 5 kB\nMemTotal: 9 kB\n";
    ostel_procfs_parse_meminfo(dup, strlen(dup), &mi);
    assert_int_equal(mi.valid, 0x1f);
    assert_int_equal(mi.mem_total_kib, 1);
    assert_int_equal(mi.swap_free_kib, 5);

    d = fixture("vmstat", &len);
    struct ostel_procfs_vmstat vm;
    ostel_procfs_parse_vmstat(d, len, &vm);
    assert_int_equal(vm.valid, 0x7f);
    assert_true(vm.pgpgin_kib > 0);
    assert_int_equal(vm.pswpin, 0);
    assert_int_equal(vm.oom_kill, 0);
    /* The sampler reads vmstat only up to its last line in use: a prefix ending before the
     * pgmajfault line lacks that counter (the sampler then reads the whole file), one ending after
     * it has everything a sample needs. */
    const char *maj = strstr(d, "\npgmajfault ");
    assert_non_null(maj);
    struct ostel_procfs_vmstat pre;
    ostel_procfs_parse_vmstat(d, (size_t)(maj - d) + 1, &pre);
    assert_false((pre.valid >> OSTEL_PROCFS_VMSTAT_PGMAJFAULT) & 1u);
    assert_true((pre.valid >> OSTEL_PROCFS_VMSTAT_PSWPOUT) & 1u);
    const char *eol = strchr(maj + 1, '\n');
    assert_non_null(eol);
    ostel_procfs_parse_vmstat(d, (size_t)(eol - d) + 1, &pre);
    assert_int_equal(pre.valid, 0x3f); /* all but oom_kill, which comes later */
    assert_int_equal(pre.pgmajfault, vm.pgmajfault);
    assert_int_equal(pre.refault_file, vm.refault_file);
    /* "pgpgin" must not match "pgpginfoo", and the 5.9+ name wins over the old one. */
    const char *s = "pgpginfoo 5\npgpgin 8\nworkingset_refault 3\nworkingset_refault_file 7\n";
    ostel_procfs_parse_vmstat(s, strlen(s), &vm);
    assert_int_equal(vm.pgpgin_kib, 8);
    assert_int_equal(vm.refault_file, 7);
    const char *old = "workingset_refault 3\n";
    ostel_procfs_parse_vmstat(old, strlen(old), &vm);
    assert_int_equal(vm.refault_file, 3);
    assert_int_equal(vm.valid, 1u << OSTEL_PROCFS_VMSTAT_REFAULT_FILE);
    free(d);
}

static void test_psi(void **state)
{
    (void)state;
    size_t len;
    char *d = fixture("pressure_memory", &len);
    struct ostel_procfs_psi psi;
    ostel_procfs_parse_psi(d, len, &psi);
    assert_int_equal(psi.valid, 0xf);
    assert_int_equal(psi.some_total_us, 0);
    free(d);
    d = fixture("pressure_memory_busy_synthetic", &len);
    ostel_procfs_parse_psi(d, len, &psi);
    assert_int_equal(psi.valid, 0xf);
    assert_float_equal(psi.some_avg10, 12.5, 1e-9);
    assert_float_equal(psi.full_avg10, 1.25, 1e-9);
    assert_int_equal(psi.some_total_us, 8123456);
    assert_int_equal(psi.full_total_us, 987654);
    free(d);
    const char *bad = "some avg10=x total=12a\nfull avg10=200.0 total=\nsome total=5\n";
    ostel_procfs_parse_psi(bad, strlen(bad), &psi);
    assert_int_equal(psi.valid, 1u << OSTEL_PROCFS_PSI_SOME_TOTAL);
    assert_int_equal(psi.some_total_us, 5);
}

static void test_loadavg(void **state)
{
    (void)state;
    struct ostel_procfs_loadavg la = {0, 0};
    const char *real = "2.46 2.17 2.86 3/93 14251\n"; /* this VM's /proc/loadavg */
    assert_true(ostel_procfs_parse_loadavg(real, strlen(real), &la));
    assert_int_equal(la.tasks, 93);
    assert_int_equal(la.last_pid, 14251);
    const char *fresh_ns = "0.00 0.00 0.00 1/1 0"; /* a new pid namespace, no newline */
    assert_true(ostel_procfs_parse_loadavg(fresh_ns, strlen(fresh_ns), &la));
    assert_int_equal(la.tasks, 1);
    assert_int_equal(la.last_pid, 0);
    const char *bad[] = {
        "",
        "2.46 2.17 2.86 3/93",              /* no last pid */
        "2.46 2.17 2.86 93 14251\n",        /* no running/total */
        "2.46 2.17 3/93 14251\n",           /* an average missing */
        "2.46 2.17 2.86 3/93 14251 7\n",    /* a field too many */
        "2.46 2.17 2.86 3/93 2147483648\n", /* beyond any pid */
        "2.46 2.17 2.86 3/x 14251\n",
        "2.46 2.17 2.86 3/93 -1\n",
    };
    la.tasks = la.last_pid = 77;
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(bad); k++)
        assert_false(ostel_procfs_parse_loadavg(bad[k], strlen(bad[k]), &la));
    assert_int_equal(la.tasks, 77);
    assert_int_equal(la.last_pid, 77);
    /* The length bounds the parse: a cut inside the last pid reads the digits before the cut. */
    assert_true(ostel_procfs_parse_loadavg(real, 23, &la));
    assert_int_equal(la.last_pid, 142);
}

static void test_pids(void **state)
{
    (void)state;
    size_t len, n;
    bool more;
    pid_t pids[4];
    char *d = fixture("children_synthetic", &len);
    assert_int_equal(ostel_procfs_parse_pids(d, len, pids, 4, &n, &more, NULL, 0), OSTEL_OK);
    assert_int_equal(n, 3);
    assert_false(more);
    assert_int_equal(pids[0], 4242);
    assert_int_equal(pids[2], 4250);
    free(d);
    assert_int_equal(ostel_procfs_parse_pids("1 2 3 4 5 6", 11, pids, 4, &n, &more, NULL, 0),
                     OSTEL_OK);
    assert_int_equal(n, 4);
    assert_true(more);
    assert_int_equal(ostel_procfs_parse_pids("", 0, pids, 4, &n, &more, NULL, 0), OSTEL_OK);
    assert_int_equal(n, 0);
    char err[64];
    assert_int_equal(ostel_procfs_parse_pids("1 x", 3, pids, 4, &n, &more, err, sizeof(err)),
                     OSTEL_ERR);
    assert_int_equal(ostel_procfs_parse_pids("0", 1, pids, 4, &n, &more, err, sizeof(err)),
                     OSTEL_ERR);
    assert_int_equal(
        ostel_procfs_parse_pids("99999999999", 11, pids, 4, &n, &more, err, sizeof(err)),
        OSTEL_ERR);
    pid_t p;
    assert_true(ostel_procfs_parse_pid_name("1234", &p));
    assert_int_equal(p, 1234);
    assert_false(ostel_procfs_parse_pid_name("self", &p));
    assert_false(ostel_procfs_parse_pid_name("12a", &p));
    assert_false(ostel_procfs_parse_pid_name("", &p));
    assert_false(ostel_procfs_parse_pid_name("0", &p));
    assert_false(ostel_procfs_parse_pid_name("123456789012345678", &p));
}

static void test_cpuinfo_osrelease(void **state)
{
    (void)state;
    size_t len;
    char out[128];
    char *d = fixture("cpuinfo", &len);
    assert_true(ostel_procfs_parse_cpu_model(d, len, out, sizeof(out)));
    assert_string_equal(out, "AMD EPYC");
    free(d);
    const char *arm = "Processor\t: ARMv7 Processor rev 4 (v7l)\nmodel name\t:   \n";
    assert_true(ostel_procfs_parse_cpu_model(arm, strlen(arm), out, sizeof(out)));
    assert_string_equal(out, "ARMv7 Processor rev 4 (v7l)");
    char tiny[5];
    const char *x = "model name : Intel Xeon\n";
    assert_true(ostel_procfs_parse_cpu_model(x, strlen(x), tiny, sizeof(tiny)));
    assert_string_equal(tiny, "Inte");
    assert_false(ostel_procfs_parse_cpu_model("flags : x\n", 10, out, sizeof(out)));

    d = fixture("os-release", &len);
    assert_true(ostel_procfs_parse_os_release(d, len, out, sizeof(out)));
    assert_string_equal(out, "Debian GNU/Linux 12 (bookworm)");
    free(d);
    const char *nl = "PRETTY_NAME=\"a\x01"
                     "b\"\n";
    assert_true(ostel_procfs_parse_os_release(nl, strlen(nl), out, sizeof(out)));
    assert_string_equal(out, "a b");
}

static void test_cgroup_oom(void **state)
{
    (void)state;
    size_t len;
    struct ostel_str v2, v1;
    char *d = fixture("cgroup_v1_hybrid", &len);
    ostel_procfs_parse_cgroup(d, len, &v2, &v1);
    assert_true(ostel_str_eq(v2, "/"));
    assert_true(ostel_str_eq(v1, "/process_api/5b35485a66c183a63f76521b9d360970"));
    free(d);
    d = fixture("cgroup_v2", &len);
    ostel_procfs_parse_cgroup(d, len, &v2, &v1);
    assert_true(ostel_str_eq(v2, "/user.slice/user-1000.slice/session-2.scope"));
    assert_null(v1.p);
    free(d);
    const char *combo = "3:cpu,memory:/a\n0::/../../etc\n1:memoryx:/b\n";
    ostel_procfs_parse_cgroup(combo, strlen(combo), &v2, &v1);
    assert_true(ostel_str_eq(v1, "/a"));
    assert_null(v2.p); /* ".." refused */

    uint64_t v = 9;
    d = fixture("memory.oom_control", &len);
    assert_true(ostel_procfs_find_u64(d, len, "oom_kill", &v));
    assert_int_equal(v, 0);
    free(d);
    d = fixture("memory.events_synthetic", &len);
    assert_true(ostel_procfs_find_u64(d, len, "oom_kill", &v));
    assert_int_equal(v, 2);
    assert_true(ostel_procfs_find_u64(d, len, "oom", &v));
    assert_int_equal(v, 3);
    assert_false(ostel_procfs_find_u64(d, len, "oom_kill_x", &v));
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_paren_comm),   cmocka_unit_test(test_stat_cat),
        cmocka_unit_test(test_stat_synthetic),    cmocka_unit_test(test_stat_hostile),
        cmocka_unit_test(test_status_statm),      cmocka_unit_test(test_statm_memory),
        cmocka_unit_test(test_meminfo_vmstat),    cmocka_unit_test(test_psi),
        cmocka_unit_test(test_loadavg),           cmocka_unit_test(test_pids),
        cmocka_unit_test(test_cpuinfo_osrelease), cmocka_unit_test(test_cgroup_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
