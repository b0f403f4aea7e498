/*
 * Unit tests for util/optval.c: the load option values a serving study's [serve] keys hold —
 * level lists, token lengths and SLO bounds — accepted and refused as `ostel serve` would.
 */
#include "testlib.h"
#include "util/optval.h"

#include <math.h>
#include <stdlib.h>

static void test_levels(void **state)
{
    (void)state;
    double *v = NULL;
    size_t n = 0;
    assert_true(ostel_parse_levels("1,2,16", true, &v, &n));
    assert_int_equal(n, 3);
    assert_true(v[0] == 1 && v[1] == 2 && v[2] == 16);
    assert_true(ostel_parse_levels(" 1 ,\t8", true, &v, &n));
    assert_int_equal(n, 2);
    assert_true(v[0] == 1 && v[1] == 8);
    assert_true(ostel_parse_levels("0.5,2", false, &v, &n));
    assert_int_equal(n, 2);
    assert_true(v[0] == 0.5 && v[1] == 2);
    /* each refusal leaves nothing behind */
    static const char *const bad_int[] = {"",  ",",  "1,,2", "1,", " , 2",
                                          "0", "-1", "1.5",  "x",  "100001"};
    for (size_t i = 0; i < sizeof(bad_int) / sizeof(bad_int[0]); i++) {
        assert_false(ostel_parse_levels(bad_int[i], true, &v, &n));
        assert_null(v);
        assert_int_equal(n, 0);
    }
    static const char *const bad_rate[] = {"0", "-0.5", "nan", "inf", "2e6", "1;2", "0.5,"};
    for (size_t i = 0; i < sizeof(bad_rate) / sizeof(bad_rate[0]); i++) {
        assert_false(ostel_parse_levels(bad_rate[i], false, &v, &n));
        assert_null(v);
    }
}

static void test_length(void **state)
{
    (void)state;
    int m = -1, sd = -1, max = -1;
    assert_true(ostel_parse_length("512", &m, &sd, &max));
    assert_true(m == 512 && sd == 0 && max == 0);
    assert_true(ostel_parse_length("512:64", &m, &sd, &max));
    assert_true(m == 512 && sd == 64 && max == 0);
    assert_true(ostel_parse_length("256-768", &m, &sd, &max));
    assert_true(m == 256 && sd == 0 && max == 768);
    static const char *const bad[] = {"",        "0",   "-5",  "8-4",   "1:2-3",    "x",
                                      "4194305", "12:", "12-", "12:-1", "1:4194305"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = sd = max = 7;
        assert_false(ostel_parse_length(bad[i], &m, &sd, &max));
        assert_true(m == 7 && sd == 7 && max == 7); /* untouched */
    }
}

static void test_slo(void **state)
{
    (void)state;
    double t = 0, i = 0, e = 0;
    assert_true(ostel_parse_slo("ttft=500ms,itl=50ms,e2e=10s", &t, &i, &e));
    assert_true(t == 500 && i == 50 && e == 10000);
    assert_true(ostel_parse_slo("tpot=20,e2el=2s", &t, &i, &e)); /* aliases; a bare number is ms */
    assert_true(isnan(t) && i == 20 && e == 2000);
    assert_true(ostel_parse_slo("ttft=1s,itl=none", &t, &i, &e));
    assert_true(t == 1000 && isnan(i) && isnan(e));
    static const char *const bad[] = {"",          "ttft",   "ttft=0",    "ttft=-1s", "foo=1s",
                                      "ttft=1s,,", "ttft=x", "=1s,itl=1", ",ttft=1s"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        t = i = e = 3;
        assert_false(ostel_parse_slo(bad[k], &t, &i, &e));
        assert_true(t == 3 && i == 3 && e == 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_slo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
