/*
 * Unit tests for util/names: the one tag sanitiser of `ostel run` and `ostel study`, and the check
 * that a run directory built from a tag stays inside its study.
 */
#include "testlib.h"
#include "util/fileio.h"
#include "util/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void expect_tag(const char *in, const char *want)
{
    char *got = ostel_tag_sanitize(in);
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", got);
    bool component = ostel_path_is_component(got);
    free(got); /* before any assertion: a failure leaks nothing */
    if (strcmp(copy, want) != 0)
        fail_msg("tag '%s' became '%s', expected '%s'", in, copy, want);
    assert_true(component);
}

static void test_tag_sanitize(void **state)
{
    (void)state;
    expect_tag("q4_K-M.v2", "q4_K-M.v2");
    expect_tag("", "run");
    expect_tag(".", "_");
    expect_tag("..", "_.");
    expect_tag("../../../../X", "_._.._.._.._X");
    expect_tag("a/b", "a_b");
    expect_tag(".hidden", "_hidden");
    expect_tag("tag with spaces;$(rm -rf)", "tag_with_spaces___rm_-rf_");
    expect_tag("\xc3\xa9t\xc3\xa9", "__t__"); /* UTF-8 bytes one by one */
    char long_tag[200];
    memset(long_tag, 'x', sizeof(long_tag) - 1);
    long_tag[sizeof(long_tag) - 1] = '\0';
    char *got = ostel_tag_sanitize(long_tag);
    assert_int_equal(strlen(got), OSTEL_TAG_NAME_MAX);
    free(got);
}

static void test_component(void **state)
{
    (void)state;
    assert_true(ostel_path_is_component("001-q4-none-c512-n8-r1"));
    assert_false(ostel_path_is_component(""));
    assert_false(ostel_path_is_component("."));
    assert_false(ostel_path_is_component(".."));
    assert_false(ostel_path_is_component("a/b"));
    assert_false(ostel_path_is_component("../x"));
    assert_false(ostel_path_is_component(NULL));
}

static void expect_inside(const char *base, const char *path, bool want)
{
    char err[512] = "";
    int rc = ostel_path_check_inside(base, path, err, sizeof(err));
    if ((rc == 0) != want)
        fail_msg("'%s' in '%s': got %d (%s), expected %s", path, base, rc, err,
                 want ? "inside" : "outside");
    if (!want)
        assert_non_null(strstr(err, "is not inside"));
}

static void test_check_inside(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *runs = ostel_xasprintf("%s/study/runs", dir);
    char *outside = ostel_xasprintf("%s/elsewhere", dir);
    char *link = ostel_xasprintf("%s/study/runs/link", dir);
    char *p;
    assert_int_equal(ostel_mkdir_p(runs), 0);
    assert_int_equal(ostel_mkdir_p(outside), 0);
    assert_int_equal(symlink(outside, link), 0);

    p = ostel_xasprintf("%s/001-a", runs); /* not made yet */
    expect_inside(runs, p, true);
    free(p);
    p = ostel_xasprintf("%s/new/deeper", runs);
    expect_inside(runs, p, true);
    free(p);
    expect_inside(runs, runs, false); /* the base itself is not below it */
    p = ostel_xasprintf("%s/", runs);
    expect_inside(runs, p, false);
    free(p);
    p = ostel_xasprintf("%s/../../../../X", runs); /* .. through existing directories */
    expect_inside(runs, p, false);
    free(p);
    p = ostel_xasprintf("%s/nothere/../../x", runs); /* .. in the part not made yet */
    expect_inside(runs, p, false);
    free(p);
    p = ostel_xasprintf("%s/link/x", runs); /* a symbolic link out of the study */
    expect_inside(runs, p, false);
    free(p);
    expect_inside(runs, outside, false);
    char err[256];
    p = ostel_xasprintf("%s/missing", dir);
    assert_int_equal(ostel_path_check_inside(p, runs, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot resolve"));
    free(p);

    test_rmtree(dir);
    free(link);
    free(outside);
    free(runs);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_sanitize),
        cmocka_unit_test(test_component),
        cmocka_unit_test(test_check_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
