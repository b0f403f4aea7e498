/*
 * Unit tests for util/csvrow: the one CSV line writer of metrics.csv, gpu_metrics.csv, requests.csv
 * and server_metrics.csv — the separators, fixed decimals, a value that is not finite as an empty
 * cell (never 0), a quoted cell (quotes doubled, control bytes spaces), and every buffer size
 * around the line's length (0 returned, never a byte past the buffer).
 */
#include "testlib.h"
#include "util/csvrow.h"

#include <math.h>
#include <string.h>

/* The row used below: "12.346,,load,-0.50,,7\n" (22 bytes). */
static size_t write_row(char *out, size_t size)
{
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, out, size);
    ostel_csvrow_num(&w, 12.3456, 3);
    ostel_csvrow_num(&w, NAN, 2);
    ostel_csvrow_text(&w, "load");
    ostel_csvrow_num(&w, -0.5, 2);
    ostel_csvrow_text(&w, "");
    ostel_csvrow_num(&w, 7.0, 0);
    return ostel_csvrow_end(&w);
}

static void test_cells(void **state)
{
    (void)state;
    char line[64];
    size_t n = write_row(line, sizeof(line));
    assert_string_equal(line, "12.346,,load,-0.50,,7\n");
    assert_int_equal(n, strlen(line));

    /* not finite is empty, whatever the decimals; 0 stays 0 */
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, line, sizeof(line));
    ostel_csvrow_num(&w, INFINITY, 1);
    ostel_csvrow_num(&w, -INFINITY, 0);
    ostel_csvrow_num(&w, 0.0, 1);
    ostel_csvrow_num(&w, NAN, 3);
    assert_int_equal(ostel_csvrow_end(&w), 7);
    assert_string_equal(line, ",,0.0,\n");

    /* decimals: rounded as printf rounds, none for 0 */
    ostel_csvrow_init(&w, line, sizeof(line));
    ostel_csvrow_num(&w, 2.5, 0);
    ostel_csvrow_num(&w, 1764136800.0504, 3);
    ostel_csvrow_num(&w, 0.125, 2);
    ostel_csvrow_num(&w, 4294967295.0, 0);
    ostel_csvrow_end(&w);
    assert_string_equal(line, "2,1764136800.050,0.12,4294967295\n");

    /* one cell, and none: a lone newline */
    ostel_csvrow_init(&w, line, sizeof(line));
    ostel_csvrow_text(&w, "ts");
    assert_int_equal(ostel_csvrow_end(&w), 3);
    assert_string_equal(line, "ts\n");
    ostel_csvrow_init(&w, line, sizeof(line));
    assert_int_equal(ostel_csvrow_end(&w), 1);
    assert_string_equal(line, "\n");
}

static void test_bounds(void **state)
{
    (void)state;
    static const char want[] = "12.346,,load,-0.50,,7\n";
    size_t need = sizeof(want); /* the line, its '\n' and the '\0' */
    char buf[64];
    for (size_t size = 0; size <= need + 2; size++) {
        memset(buf, 'X', sizeof(buf));
        size_t n = write_row(buf, size);
        if (size < need) {
            assert_int_equal(n, 0);
        } else {
            assert_int_equal(n, need - 1);
            assert_string_equal(buf, want);
        }
        for (size_t i = size; i < sizeof(buf); i++) /* nothing written past the buffer */
            assert_int_equal(buf[i], 'X');
    }
    /* a spoilt row stays spoilt: a later short cell does not bring it back */
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, buf, 8);
    ostel_csvrow_text(&w, "a_long_cell");
    ostel_csvrow_text(&w, "");
    assert_int_equal(ostel_csvrow_end(&w), 0);
    /* the newline must fit too */
    ostel_csvrow_init(&w, buf, 4);
    ostel_csvrow_text(&w, "abc");
    assert_int_equal(ostel_csvrow_end(&w), 0);
    ostel_csvrow_init(&w, buf, 5);
    ostel_csvrow_text(&w, "abc");
    assert_int_equal(ostel_csvrow_end(&w), 4);
    assert_string_equal(buf, "abc\n");
}

/* Any text as a quoted cell: quotes doubled, a line end or tab a space, the row one line; it fits
 * exactly or spoils the row. */
static void test_quoted(void **state)
{
    (void)state;
    static const char text[] = "HTTP 500: \"bad\"\nday,\tx";
    static const char want[] = "c1,\"HTTP 500: \"\"bad\"\" day, x\",\"\"\n";
    char buf[64];
    for (size_t size = 0; size <= sizeof(want) + 2; size++) {
        memset(buf, 'X', sizeof(buf));
        struct ostel_csvrow w;
        ostel_csvrow_init(&w, buf, size);
        ostel_csvrow_text(&w, "c1");
        ostel_csvrow_quoted(&w, text, sizeof(text) - 1);
        ostel_csvrow_quoted(&w, "", 0);
        size_t n = ostel_csvrow_end(&w);
        if (size < sizeof(want)) {
            assert_int_equal(n, 0);
        } else {
            assert_int_equal(n, sizeof(want) - 1);
            assert_string_equal(buf, want);
        }
        for (size_t i = size; i < sizeof(buf); i++)
            assert_int_equal(buf[i], 'X');
    }
    /* the first cell has no comma before it */
    struct ostel_csvrow w;
    ostel_csvrow_init(&w, buf, 6);
    ostel_csvrow_quoted(&w, "ab", 2);
    assert_int_equal(ostel_csvrow_end(&w), 5);
    assert_string_equal(buf, "\"ab\"\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_quoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
