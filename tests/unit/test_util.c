/*
 * Unit tests for util (buffers, slices, checked arithmetic), fileio and opt (value parsers, tables).
 */
#include "testlib.h"
#include "util/fileio.h"
#include "util/opt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_buf_cap(void **state)
{
    (void)state;
    struct ostel_buf b;
    ostel_buf_init(&b, 10);
    ostel_buf_puts(&b, "hello");
    ostel_buf_printf(&b, "%d", 1234);
    assert_string_equal(b.data, "hello1234");
    assert_false(b.overflow);
    ostel_buf_puts(&b, "xy");
    assert_true(b.overflow);
    assert_string_equal(b.data, "hello1234");
    ostel_buf_printf(&b, "%s", "0123456789abcdef");
    assert_string_equal(b.data, "hello1234");
    ostel_buf_free(&b);

    ostel_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        ostel_buf_printf(&b, "%04d", i);
    assert_int_equal(b.len, 4000);
    assert_memory_equal(b.data + 3996, "0999", 4);
    char *s = ostel_buf_detach(&b);
    assert_int_equal(strlen(s), 4000);
    free(s);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
}

static void test_str(void **state)
{
    (void)state;
    struct ostel_str rest = OSTEL_STR_LIT("a\r\nbb\n\nccc");
    struct ostel_str line;
    const char *want[] = {"a", "bb", "", "ccc"};
    int i = 0;
    while (ostel_str_next_line(&rest, &line)) {
        assert_true(i < 4);
        assert_true(ostel_str_eq(line, want[i]));
        i++;
    }
    assert_int_equal(i, 4);
    struct ostel_str t = ostel_str_trim(OSTEL_STR_LIT("  x y \t"));
    assert_true(ostel_str_eq(t, "x y"));
    assert_int_equal(ostel_str_find(OSTEL_STR_LIT("abcabd"), "abd"), 3);
    assert_int_equal(ostel_str_find(OSTEL_STR_LIT("ab"), "abc"), -1);
}

static void test_checked_math(void **state)
{
    (void)state;
    uint64_t r = 7;
    assert_false(ostel_add_u64(UINT64_MAX, 1, &r));
    assert_int_equal(r, 7);
    assert_true(ostel_mul_u64(1ull << 31, 1ull << 31, &r));
    assert_true(r == 1ull << 62);
    assert_false(ostel_mul_u64(1ull << 32, 1ull << 32, &r));
}

static void test_parse_values(void **state)
{
    (void)state;
    int64_t i;
    assert_true(ostel_parse_i64("4096", 1, 1 << 24, &i));
    assert_int_equal(i, 4096);
    assert_false(ostel_parse_i64("40x", 1, 1 << 24, &i));
    assert_false(ostel_parse_i64("0", 1, 10, &i));
    assert_false(ostel_parse_i64("99999999999999999999", 0, INT64_MAX, &i));
    uint64_t ns;
    assert_true(ostel_parse_duration_ns("100ms", 1000000, &ns));
    assert_true(ns == 100000000ull);
    assert_true(ostel_parse_duration_ns("250", 1000000, &ns));
    assert_true(ns == 250000000ull);
    assert_true(ostel_parse_duration_ns("1.5s", 1000000, &ns));
    assert_true(ns == 1500000000ull);
    assert_false(ostel_parse_duration_ns("-1s", 1000000, &ns));
    assert_false(ostel_parse_duration_ns("5 parsecs", 1000000, &ns));
    uint64_t b;
    assert_true(ostel_parse_size_bytes("512M", &b));
    assert_true(b == 512ull << 20);
    assert_true(ostel_parse_size_bytes("1.5GiB", &b));
    assert_true(b == 3ull << 29);
    assert_false(ostel_parse_size_bytes("12Q", &b));
}

struct seen {
    int n;
    long ctx;
    const char *src;
};

static int on_opt(void *ctx, int id, const char *arg, const char *source)
{
    struct seen *s = ctx;
    s->n++;
    if (id == 'c') {
        int64_t v;
        if (!ostel_parse_i64(arg, 1, 1 << 20, &v))
            return ostel_error("bad ctx '%s'", arg);
        s->ctx = (long)v;
        s->src = source;
    }
    return 0;
}

static void test_options(void **state)
{
    (void)state;
    static const struct ostel_option opts[] = {
        {'c', "ctx-size", "N", "OSTEL_TEST_CTX", "context"},
        {'v', "verbose", NULL, NULL, "chatty"},
    };
    static const struct ostel_command_help h = {"t", "[opts]", "test", NULL};
    setenv("OSTEL_TEST_CTX", "2048", 1);
    struct seen s = {0};
    char *argv1[] = {"t", "-v", "pos", NULL};
    int first;
    assert_int_equal(ostel_options_parse(&h, opts, 2, 3, argv1, on_opt, &s, &first), OSTEL_OPT_DONE);
    assert_int_equal(s.ctx, 2048);
    assert_string_equal(s.src, "OSTEL_TEST_CTX");
    assert_int_equal(first, 2);
    char *argv2[] = {"t", "--ctx-size", "4096", "--", "-x", NULL};
    memset(&s, 0, sizeof(s));
    assert_int_equal(ostel_options_parse(&h, opts, 2, 5, argv2, on_opt, &s, &first), OSTEL_OPT_DONE);
    assert_int_equal(s.ctx, 4096);
    assert_null(s.src);
    assert_string_equal(argv2[first], "-x");
    char *argv3[] = {"t", "--nope", NULL};
    assert_int_equal(ostel_options_parse(&h, opts, 2, 2, argv3, on_opt, &s, &first),
                     OSTEL_OPT_USAGE);
    char *argv4[] = {"t", "-c", "zero", NULL};
    assert_int_equal(ostel_options_parse(&h, opts, 2, 3, argv4, on_opt, &s, &first),
                     OSTEL_OPT_USAGE);
    unsetenv("OSTEL_TEST_CTX");
}

static void test_atomic_write(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *sub = ostel_xasprintf("%s/a/b/c", dir);
    assert_int_equal(ostel_mkdir_p(sub), 0);
    assert_true(ostel_is_dir(sub));
    char *f = ostel_xasprintf("%s/x.json", sub);
    assert_int_equal(ostel_file_write_atomic(f, "{}", 2), 0);
    assert_int_equal(ostel_file_write_atomic(f, "[1]", 3), 0);
    size_t n;
    char *got = test_read_file(f, &n);
    assert_string_equal(got, "[1]");
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    assert_int_equal(ostel_file_read_all(f, 2, &b), OSTEL_ERR);
    ostel_buf_free(&b);
    char *bad = ostel_xasprintf("%s/x.json/y", sub);
    assert_int_equal(ostel_mkdir_p(bad), OSTEL_ERR);
    free(bad);
    free(got);
    free(f);
    free(sub);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_cap),        cmocka_unit_test(test_str),
        cmocka_unit_test(test_checked_math),   cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_options),        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
