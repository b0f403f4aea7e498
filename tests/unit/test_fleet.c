/*
 * Unit tests for the fleet pieces: study shards (K/N parsing, Slurm and Kubernetes indices, the
 * balanced deterministic split), study definition diffs, and database URL redaction.
 */
#include "testlib.h"
#include "run/study_shard.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static void test_shard_parse(void **state)
{
    (void)state;
    int k, n;
    char err[200];
    assert_int_equal(ostel_study_shard_parse("0/4", &k, &n, err, sizeof(err)), 0);
    assert_int_equal(k, 0);
    assert_int_equal(n, 4);
    assert_int_equal(ostel_study_shard_parse("3/4", &k, &n, err, sizeof(err)), 0);
    assert_int_equal(k, 3);
    assert_int_equal(ostel_study_shard_parse("4/4", &k, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside 0..3"));
    static const char *const bad[] = {
        "", "4", "/4", "1/", "-1/4", "1/0", "a/b", "1/4x", "1/-4", "99999999999/4", "1/1000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ostel_study_shard_parse(bad[i], &k, &n, err, sizeof(err)), -1);
}

static void test_shard_resolve(void **state)
{
    (void)state;
    int k, n;
    const char *src;
    char err[200];
    struct ostel_study_shard_env none = {0};
    /* nothing: the whole study */
    assert_int_equal(ostel_study_shard_resolve(NULL, 0, &none, &k, &n, &src, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    /* Slurm array --array=1-4: the minimum index is subtracted */
    struct ostel_study_shard_env slurm = {"3", "1", NULL, "4", NULL};
    assert_int_equal(ostel_study_shard_resolve(NULL, 0, &slurm, &k, &n, &src, err, sizeof(err)), 0);
    assert_int_equal(k, 2);
    assert_int_equal(n, 4);
    assert_string_equal(src, "slurm");
    /* --array=0-6:2 → tasks 0,2,4,6 = shards 0..3 */
    struct ostel_study_shard_env step = {"6", "0", "2", "4", NULL};
    assert_int_equal(ostel_study_shard_resolve(NULL, 0, &step, &k, &n, &src, err, sizeof(err)), 0);
    assert_int_equal(k, 3);
    struct ostel_study_shard_env offstep = {"5", "0", "2", "4", NULL};
    assert_int_equal(ostel_study_shard_resolve(NULL, 0, &offstep, &k, &n, &src, err, sizeof(err)),
                     -1);
    /* --shards disagreeing with the array's count */
    assert_int_equal(ostel_study_shard_resolve(NULL, 5, &slurm, &k, &n, &src, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "SLURM_ARRAY_TASK_COUNT"));
    /* Kubernetes Indexed Job */
    struct ostel_study_shard_env k8s = {NULL, NULL, NULL, NULL, "7"};
    assert_int_equal(ostel_study_shard_resolve(NULL, 8, &k8s, &k, &n, &src, err, sizeof(err)), 0);
    assert_int_equal(k, 7);
    assert_int_equal(n, 8);
    assert_string_equal(src, "kubernetes");
    assert_int_equal(ostel_study_shard_resolve(NULL, 7, &k8s, &k, &n, &src, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside 0..6"));
    /* an index without a count is whole-study; a count without an index is an error */
    assert_int_equal(ostel_study_shard_resolve(NULL, 0, &k8s, &k, &n, &src, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ostel_study_shard_resolve(NULL, 3, &none, &k, &n, &src, err, sizeof(err)), -1);
    /* --shard wins over the environment, and must agree with --shards */
    assert_int_equal(ostel_study_shard_resolve("1/2", 0, &k8s, &k, &n, &src, err, sizeof(err)), 0);
    assert_int_equal(k, 1);
    assert_int_equal(ostel_study_shard_resolve("1/2", 3, &none, &k, &n, &src, err, sizeof(err)),
                     -1);
    struct ostel_study_shard_env junk = {NULL, NULL, NULL, NULL, "x1"};
    assert_int_equal(ostel_study_shard_resolve(NULL, 2, &junk, &k, &n, &src, err, sizeof(err)), -1);
}

static void test_shard_assign(void **state)
{
    (void)state;
    /* every run in exactly one shard, loads balanced, the same split twice */
    enum { R = 37, S = 4 };
    double cost[R];
    for (int i = 0; i < R; i++)
        cost[i] = (double)((i * 7919) % 13 + 1) * (i % 3 ? 1.0 : 4.0);
    int a[R], b[R];
    ostel_study_shard_assign(cost, R, S, a);
    ostel_study_shard_assign(cost, R, S, b);
    double load[S] = {0}, total = 0, biggest = 0;
    for (int i = 0; i < R; i++) {
        assert_int_equal(a[i], b[i]);
        assert_true(a[i] >= 0 && a[i] < S);
        load[a[i]] += cost[i];
        total += cost[i];
        if (cost[i] > biggest)
            biggest = cost[i];
    }
    for (int s = 0; s < S; s++) /* greedy longest-first: no shard exceeds the mean + one run */
        assert_true(load[s] <= total / S + biggest);
    /* more shards than runs: the extra shards are empty, nothing is lost */
    int c[3];
    double three[3] = {1, 1, 1};
    ostel_study_shard_assign(three, 3, 5, c);
    assert_true(c[0] != c[1] && c[1] != c[2] && c[0] != c[2]);
}

static void test_definition_diff(void **state)
{
    (void)state;
    char *d =
        ostel_study_definition_diff("[study]\nname=a\nctx=4096\n", "[study]\nname=a\nctx=8192\n");
    assert_string_equal(d, "- ctx=4096; + ctx=8192");
    free(d);
}

static void test_redact_url(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"postgresql://u:s3cret@db.example/ostel", "postgresql://u:***@db.example/ostel"},
        {"postgres://u@h/x", "postgres://u@h/x"},
        {"postgresql://u:p%40ss@h:5432/x?sslmode=require&password=zz",
         "postgresql://u:***@h:5432/x?sslmode=require&password=***"},
        {"postgresql:///x?password=zz&host=/tmp", "postgresql:///x?password=***&host=/tmp"},
        {"postgresql://h/x?a=b@c:d", "postgresql://h/x?a=b@c:d"},
        {"results.db", "results.db"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = ostel_store_redact_url(cases[i][0]);
        assert_string_equal(r, cases[i][1]);
        free(r);
    }
    assert_true(ostel_store_is_url("postgres://x"));
    assert_false(ostel_store_is_url("postgresql:x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_parse),  cmocka_unit_test(test_shard_resolve),
        cmocka_unit_test(test_shard_assign), cmocka_unit_test(test_definition_diff),
        cmocka_unit_test(test_redact_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
