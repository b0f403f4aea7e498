/*
 * Unit tests for the hog's pure parts: the load spec and the fit check with its message. The
 * running hog (RSS really held, one busy core, SIGTERM) is tested end to end in
 * tests/e2e/test_hog.sh.
 */
#include "testlib.h"
#include "run/hog.h"

#include <string.h>

static void test_parse_spec(void **state)
{
    (void)state;
    char err[256];
    struct ostel_hog_spec s;
    assert_int_equal(ostel_hog_parse_spec("mem:2G", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mem_kind, OSTEL_HOG_MEM_BYTES);
    assert_true(s.mem_bytes == 2ull << 30);
    assert_int_equal(s.cpu_threads, 0);
    assert_string_equal(s.mem_text, "mem:2G");

    assert_int_equal(ostel_hog_parse_spec("mem:70%", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mem_kind, OSTEL_HOG_MEM_PCT_TOTAL);
    assert_true(s.mem_pct == 70.0);
    assert_int_equal(ostel_hog_parse_spec("cpu:2,mem:12.5%avail", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mem_kind, OSTEL_HOG_MEM_PCT_AVAIL);
    assert_true(s.mem_pct == 12.5);
    assert_int_equal(s.cpu_threads, 2);
    assert_int_equal(ostel_hog_parse_spec("mem:1.5GiB,cpu:1", &s, err, sizeof(err)), 0);
    assert_true(s.mem_bytes == 3ull << 29);
    assert_int_equal(ostel_hog_parse_spec("cpu:1", &s, err, sizeof(err)), 0);
    assert_int_equal(s.mem_kind, OSTEL_HOG_MEM_NONE);

    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"", "empty load spec"},
        {"mem:", "mem: needs a size"},
        {"mem:0", "bad size '0'"},
        {"mem:12Q", "bad size '12Q'"},
        {"mem:0%", "bad percentage '0'"},
        {"mem:101%", "bad percentage '101'"},
        {"mem:%avail", "mem: needs a size"},
        {"mem:50%free", "bad size '50%free'"},
        {"cpu:0", "cpu: needs a thread count"},
        {"cpu:99999", "cpu: needs a thread count"},
        {"cpu:x", "cpu: needs a thread count"},
        {"mem:1G,mem:2G", "mem: given twice"},
        {"cpu:1,cpu:1", "cpu: given twice"},
        {"mem:1G,", "bad load spec"},
        {",cpu:1", "bad load spec"},
        {"cmd:sleep 5", "unknown load 'cmd:sleep 5'"},
        {"gpu:1", "unknown load 'gpu:1'"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        assert_int_equal(ostel_hog_parse_spec(bad[i].spec, &s, err, sizeof(err)), -1);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': got '%s', want '%s'", bad[i].spec, err, bad[i].msg);
    }
}

static void test_resolve(void **state)
{
    (void)state;
    char err[256];
    struct ostel_hog_spec s;
    uint64_t bytes;
    bool checked;
    const uint64_t GiB = 1ull << 30, MiB = 1ull << 20;
    /* 22.1 GiB usable after the 256 MiB reserve, as in the documentation's example */
    struct ostel_hog_meminfo mi = {32 * GiB, (uint64_t)(22.1 * (double)GiB) + 256 * MiB, true};
    assert_int_equal(ostel_hog_parse_spec("mem:30G", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        -1);
    assert_string_equal(
        err, "mem:30G asks 30.0 GiB but only 22.1 GiB is available (keeping 256 MiB spare)");

    assert_int_equal(ostel_hog_parse_spec("mem:22G", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        0);
    assert_true(bytes == 22 * GiB);
    assert_true(checked);

    /* percentages: of MemTotal, of MemAvailable */
    assert_int_equal(ostel_hog_parse_spec("mem:50%", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        0);
    assert_true(bytes == 16 * GiB);
    assert_int_equal(ostel_hog_parse_spec("mem:70%", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "mem:70% asks 22.4 GiB but only 22.1 GiB"));
    assert_int_equal(ostel_hog_parse_spec("mem:50%avail", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        0);
    assert_true(bytes == mi.avail_bytes / 2);
    /* 100%avail never fits: the reserve is kept */
    assert_int_equal(ostel_hog_parse_spec("mem:100%avail", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        -1);

    /* mem:avail-SIZE: all that is available but SIZE; refused when that leaves nothing */
    assert_int_equal(ostel_hog_parse_spec("mem:avail-2G,cpu:1", &s, err, sizeof(err)), 0);
    assert_int_equal(s.cpu_threads, 1);
    assert_string_equal(s.mem_text, "mem:avail-2G");
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        0);
    assert_true(bytes == mi.avail_bytes - 2 * GiB);
    assert_int_equal(ostel_hog_parse_spec("mem:avail-23G", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "mem:avail-23G would leave 23.0 GiB but only 22."));
    assert_int_equal(ostel_hog_parse_spec("mem:avail-", &s, err, sizeof(err)), -1);
    assert_int_equal(ostel_hog_parse_spec("mem:avail-lots", &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mem:avail- needs the size to leave"));

    /* no memory numbers on this platform: sizes pass unchecked, percentages cannot be resolved */
    struct ostel_hog_meminfo none = {0, 0, false};
    assert_int_equal(ostel_hog_parse_spec("mem:1G", &s, err, sizeof(err)), 0);
    assert_int_equal(ostel_hog_resolve_mem(&s, &none, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked,
                                           err, sizeof(err)),
                     0);
    assert_true(bytes == GiB);
    assert_false(checked);
    assert_int_equal(ostel_hog_parse_spec("mem:10%", &s, err, sizeof(err)), 0);
    assert_int_equal(ostel_hog_resolve_mem(&s, &none, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked,
                                           err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "give a size"));
    /* cpu only: nothing to resolve */
    assert_int_equal(ostel_hog_parse_spec("cpu:1", &s, err, sizeof(err)), 0);
    assert_int_equal(
        ostel_hog_resolve_mem(&s, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err, sizeof(err)),
        0);
    assert_true(bytes == 0);
}

static void test_this_machine(void **state)
{
    (void)state;
    struct ostel_hog_meminfo mi;
    ostel_hog_read_meminfo(&mi);
    if (!mi.valid)
        skip(); /* a platform without the numbers */
    assert_true(mi.total_bytes > (64ull << 20));
    assert_true(mi.avail_bytes > 0 && mi.avail_bytes <= mi.total_bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_spec),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_this_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
