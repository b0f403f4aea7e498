/*
 * test_rundir_config: config.txt's one writer and one reader (src/rundir/rundir_config): a value's
 * line ends become spaces, an unknown number is an empty value, the file is written whole and read
 * back, lines without a key are skipped, a key's first line wins, and the store-runs fixture reads.
 */
#include "testlib.h"
#include "rundir/rundir_config.h"

#include <stdlib.h>
#include <string.h>

static void test_write_read(void **state)
{
    (void)state;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_config_line(&b, "tag", "a\nb\rc");
    ostel_config_line(&b, "model", NULL);
    ostel_config_num(&b, "ctx", 4096, true);
    ostel_config_num(&b, "gen", 7, false);
    ostel_config_line(&b, "status", "ok");
    assert_string_equal(b.data, "tag=a b c\nmodel=\nctx=4096\ngen=\nstatus=ok\n");
    char *tmp = test_tmpdir();
    assert_int_equal(ostel_config_write(tmp, b.data, b.len), 0);
    struct ostel_buf in;
    ostel_buf_init(&in, 0);
    assert_int_equal(ostel_config_read(tmp, 1 << 20, &in), OSTEL_OK);
    assert_int_equal(in.len, b.len);
    assert_memory_equal(in.data, b.data, b.len);
    char *v = ostel_config_get(in.data, in.len, "ctx");
    assert_string_equal(v, "4096");
    free(v);
    v = ostel_config_get(in.data, in.len, "gen");
    assert_string_equal(v, "");
    free(v);
    assert_null(ostel_config_get(in.data, in.len, "tool"));
    assert_null(ostel_config_get(in.data, in.len, "ta")); /* a prefix is not a key */
    ostel_buf_free(&in);
    /* no config.txt: an error, silently */
    char *none = ostel_xasprintf("%s/none", tmp);
    ostel_buf_init(&in, 0);
    assert_int_equal(ostel_config_read(none, 1 << 20, &in), OSTEL_ERR);
    ostel_buf_free(&in);
    free(none);
    test_rmtree(tmp);
    free(tmp);
    ostel_buf_free(&b);
}

static void test_next(void **state)
{
    (void)state;
    static const char text[] = "a=1\nnot a pair\n=nokey\r\nb=x=y\r\nstatus=running\nstatus=ok";
    struct ostel_str rest = ostel_str_make(text, strlen(text)), key, val;
    static const char *const want[][2] = {
        {"a", "1"}, {"b", "x=y"}, {"status", "running"}, {"status", "ok"}};
    size_t n = 0;
    while (ostel_config_next(&rest, &key, &val)) {
        assert_true(n < OSTEL_ARRAY_LEN(want));
        assert_true(ostel_str_eq(key, want[n][0]));
        assert_true(ostel_str_eq(val, want[n][1]));
        n++;
    }
    assert_int_equal(n, OSTEL_ARRAY_LEN(want));
    char *v = ostel_config_get(text, strlen(text), "status");
    assert_string_equal(v, "running"); /* the first line of a key */
    free(v);
}

static void test_fixture(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/store-runs/q8-hog");
    struct ostel_buf in;
    ostel_buf_init(&in, 0);
    assert_int_equal(ostel_config_read(dir, 1 << 20, &in), OSTEL_OK);
    char *st = ostel_config_get(in.data, in.len, "status");
    char *hash = ostel_config_get(in.data, in.len, "spec_hash");
    assert_string_equal(st, "ok");
    assert_non_null(hash);
    assert_true(strlen(hash) > 0);
    free(st);
    free(hash);
    ostel_buf_free(&in);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
