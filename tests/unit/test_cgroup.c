/*
 * Unit tests for the memory cgroup: the pure parsers (cgroup_parse.c, every OS) and, on Linux, the
 * reader over the v1 and v2 fixture trees of tests/data/proc (README there says how they were
 * made).
 */
#include "testlib.h"
#include "platform/linux/cgroup_parse.h"
#include "platform/platform.h"
#if defined(__linux__)
#include "platform/linux/cgroup_linux.h"
#endif

#include <stdlib.h>
#include <string.h>

static enum ostel_cgroup_limit limit_of(const char *s, uint64_t *v)
{
    *v = 12345;
    return ostel_cgroup_parse_limit(s, strlen(s), v);
}

static void test_parse_limit(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(limit_of("max\n", &v), OSTEL_CGROUP_LIMIT_NONE);
    assert_int_equal(limit_of("629145600\n", &v), OSTEL_CGROUP_LIMIT_BYTES);
    assert_int_equal(v, 629145600);
    assert_int_equal(limit_of("0", &v), OSTEL_CGROUP_LIMIT_BYTES);
    assert_int_equal(v, 0);
    assert_int_equal(limit_of("9223372036854771712\n", &v), OSTEL_CGROUP_LIMIT_NONE); /* v1 */
    assert_int_equal(v, 12345); /* untouched */
    const char *bad[] = {"",         "\n",      "-1\n", "12 34\n",
                         "12\n34\n", "max max", "0x10", "99999999999999999999999",
                         "12abc",    "max\n\n"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(bad); i++)
        if (limit_of(bad[i], &v) != OSTEL_CGROUP_LIMIT_BAD)
            fail_msg("'%s' was taken as a limit", bad[i]);
    assert_true(ostel_cgroup_parse_bytes("104857600\n", 10, &v));
    assert_int_equal(v, 104857600);
    assert_false(ostel_cgroup_parse_bytes("max\n", 4, &v));
    assert_false(ostel_cgroup_parse_bytes("18446744073709551616", 20, &v)); /* 2^64 */
    assert_true(ostel_cgroup_parse_bytes("18446744073709551615", 20, &v));
}

static void test_parse_events(void **state)
{
    (void)state;
    const char *t = "low 0\nhigh 3\nmax 7\noom 2\noom_kill 5\noom_group_kill 0\n";
    struct ostel_cgroup_events ev;
    ostel_cgroup_parse_events(t, strlen(t), &ev);
    assert_int_equal(ev.valid, 0xf);
    assert_int_equal(ev.high, 3);
    assert_int_equal(ev.max, 7);
    assert_int_equal(ev.oom, 2);
    assert_int_equal(ev.oom_kill, 5);
    const char *partial = "oom_kill x\nmax 1\n";
    ostel_cgroup_parse_events(partial, strlen(partial), &ev);
    assert_int_equal(ev.valid, 1u << OSTEL_CGROUP_EVENT_MAX);
    assert_int_equal(ev.max, 1);
    ostel_cgroup_parse_events("", 0, &ev);
    assert_int_equal(ev.valid, 0);
}

#if defined(__linux__)
static void read_fixture(const char *tree, pid_t pid, struct ostel_platform_cgroup *cg)
{
    char *proc = ostel_xasprintf("tests/data/proc/%s/proc", tree);
    char *sys = ostel_xasprintf("tests/data/proc/%s/sys", tree);
    char *p = test_src_path(proc), *s = test_src_path(sys);
    bool ok = ostel_platform_cgroup_read_at(p, s, pid, cg);
    free(p);
    free(s);
    free(proc);
    free(sys);
    assert_true(ok);
}

static void test_read_v2(void **state)
{
    (void)state;
    struct ostel_platform_cgroup cg;
    read_fixture("cgroup-v2", 0, &cg);
    assert_int_equal(cg.version, 2);
    assert_non_null(strstr(cg.path, "/user.slice/app.scope/leaf"));
    /* the level with the least room binds: user.slice, 2 GiB max with 1.9 GB used */
    assert_true(cg.limited);
    assert_int_equal(cg.limit_bytes, 2147483648ull);
    assert_string_equal(cg.limit_src, "memory.max");
    assert_true(cg.has_usage);
    assert_int_equal(cg.usage_bytes, 1900000000ull);
    assert_true(cg.has_oom_kills);
    assert_int_equal(cg.oom_kills, 2);
}

static void test_read_v1(void **state)
{
    (void)state;
    struct ostel_platform_cgroup cg;
    read_fixture("cgroup-v1", 0, &cg); /* the VM's own cgroup: no limit */
    assert_int_equal(cg.version, 1);
    assert_false(cg.limited);
    assert_true(cg.has_usage);
    assert_true(cg.usage_bytes > 0);
    assert_true(cg.has_oom_kills);
    assert_int_equal(cg.oom_kills, 0);
    read_fixture("cgroup-v1", 4242, &cg); /* the per-run cgroup: an ancestor's limit is tighter */
    assert_int_equal(cg.version, 1);
    assert_non_null(strstr(cg.path, "/memory/process_api/abc/ostel-run-1-2"));
    assert_true(cg.limited);
    assert_int_equal(cg.limit_bytes, 524288000ull);
    assert_string_equal(cg.limit_src, "memory.stat hierarchical_memory_limit");
    assert_int_equal(cg.usage_bytes, 104857600ull);
    assert_int_equal(cg.oom_kills, 1);
}

/* ostel fit's host budget over the fixtures: min(MemAvailable or RAM, limit - usage), and which. */
static void test_budget_fixtures(void **state)
{
    (void)state;
    struct ostel_platform_cgroup cg;
    struct ostel_platform_budget b;
    read_fixture("cgroup-v2", 0, &cg); /* user.slice binds: 2 GiB max - 1.9 GB used */
    const uint64_t room2 = 2147483648ull - 1900000000ull;
    ostel_platform_choose_budget(8ull << 30, 16ull << 30, &cg, &b);
    assert_int_equal(b.bytes, room2);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_CGROUP);
    assert_string_equal(b.src, "cgroup v2 memory.max - usage, below MemAvailable");
    ostel_platform_choose_budget(room2 - 1, 16ull << 30, &cg, &b); /* MemAvailable is tighter */
    assert_int_equal(b.bytes, room2 - 1);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_MEM_AVAILABLE);
    assert_string_equal(b.src, "MemAvailable");
    ostel_platform_choose_budget(room2, 16ull << 30, &cg, &b); /* a tie: MemAvailable stays */
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_MEM_AVAILABLE);

    read_fixture("cgroup-v1", 0, &cg); /* no limit: the cgroup never binds */
    ostel_platform_choose_budget(3ull << 30, 16ull << 30, &cg, &b);
    assert_int_equal(b.bytes, 3ull << 30);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_MEM_AVAILABLE);
    ostel_platform_choose_budget(0, 16ull << 30, &cg, &b); /* MemAvailable unknown: RAM */
    assert_int_equal(b.bytes, 16ull << 30);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_RAM);
    assert_string_equal(b.src, "RAM");
    read_fixture("cgroup-v1", 4242, &cg); /* an ancestor's 500 MiB - 100 MiB used */
    ostel_platform_choose_budget(0, 16ull << 30, &cg, &b);
    assert_int_equal(b.bytes, 524288000ull - 104857600ull);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_CGROUP);
    assert_string_equal(b.src,
                        "cgroup v1 memory.stat hierarchical_memory_limit - usage, below RAM");
}

static void test_read_missing(void **state)
{
    (void)state;
    struct ostel_platform_cgroup cg;
    char *p = test_src_path("tests/data/proc/cgroup-v2/proc");
    assert_false(ostel_platform_cgroup_read_at(p, "/nonexistent", 0, &cg)); /* no mount: nothing */
    assert_int_equal(cg.version, 0);
    assert_false(ostel_platform_cgroup_read_at("/nonexistent", "/nonexistent", 0, &cg));
    free(p);
}
#endif

/* The choice itself, without fixtures: unknowns, a full cgroup, unknown usage. */
static void test_budget_edges(void **state)
{
    (void)state;
    struct ostel_platform_budget b;
    ostel_platform_choose_budget(0, 0, NULL, &b);
    assert_int_equal(b.bytes, 0);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_UNKNOWN);
    struct ostel_platform_cgroup cg;
    memset(&cg, 0, sizeof(cg));
    ostel_platform_choose_budget(1000, 0, &cg, &b); /* version 0: no cgroup */
    assert_int_equal(b.bytes, 1000);
    cg.version = 2;
    cg.limited = true;
    cg.limit_bytes = 600;
    cg.limit_src = "memory.high";
    cg.has_usage = true;
    cg.usage_bytes = 700; /* over the limit: full, but never "unknown" */
    ostel_platform_choose_budget(1000, 0, &cg, &b);
    assert_int_equal(b.bytes, 1);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_CGROUP);
    assert_string_equal(b.src, "cgroup v2 memory.high - usage, below MemAvailable");
    ostel_platform_choose_budget(0, 0, &cg, &b); /* nothing else known: the cgroup binds */
    assert_int_equal(b.bytes, 1);
    cg.has_usage = false; /* usage unknown: the whole limit */
    ostel_platform_choose_budget(1000, 0, &cg, &b);
    assert_int_equal(b.bytes, 600);
    assert_int_equal(b.bound, OSTEL_PLATFORM_BUDGET_CGROUP);
}

/* The live reader never claims what it cannot back: a limit comes with its source. */
static void test_live(void **state)
{
    (void)state;
    struct ostel_platform_cgroup cg;
    bool ok = ostel_platform_cgroup_read(0, &cg);
    print_message("      cgroup v%d %s limited=%d limit=%llu (%s) usage=%llu\n", cg.version,
                  cg.path, cg.limited, (unsigned long long)cg.limit_bytes,
                  cg.limit_src ? cg.limit_src : "-", (unsigned long long)cg.usage_bytes);
    if (!ok) {
        assert_int_equal(cg.version, 0);
        return;
    }
    assert_true(cg.version == 1 || cg.version == 2);
    if (cg.limited)
        assert_non_null(cg.limit_src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_limit),
        cmocka_unit_test(test_parse_events),
#if defined(__linux__)
        cmocka_unit_test(test_read_v2),
        cmocka_unit_test(test_read_v1),
        cmocka_unit_test(test_read_missing),
        cmocka_unit_test(test_budget_fixtures),
#endif
        cmocka_unit_test(test_budget_edges),
        cmocka_unit_test(test_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
