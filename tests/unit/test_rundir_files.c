/*
 * test_rundir_files: the names of a run directory's files (src/rundir/rundir_files) and the removal
 * of a directory ostel wrote: every artifact, its temporary form and a caller's extra names go, a
 * foreign file refuses the removal and everything stays in place, a missing directory is no error.
 */
#include "testlib.h"
#include "rundir/rundir_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const extra[] = {"scenario_metrics.csv", "scenario.log", "scenario.json", NULL};

static void put(const char *dir, const char *name)
{
    char *p = ostel_xasprintf("%s/%s", dir, name);
    test_write_file(p, "x\n", 2);
    free(p);
}

static bool exists(const char *dir, const char *name)
{
    char *p = name ? ostel_xasprintf("%s/%s", dir, name) : ostel_xasprintf("%s", dir);
    struct stat st;
    bool ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

static void test_is_ours(void **state)
{
    (void)state;
    static const char *const ours[] = {
        "llama_output.log",
        "metrics.csv",
        "config.txt",
        "summary.json",
        "gpu_metrics.csv",
        ".ostel-write-test",
        "summary.json.tmp.a1B2c3",
        "metrics.csv.tmp.XXXXXX",
        "gpu_metrics.csv.tmp.Zz9yY8",
        "config.txt.tmp.q",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(ours); i++) {
        if (!ostel_rundir_is_ours(ours[i], NULL))
            fail_msg("'%s' is not taken as ostel's", ours[i]);
        assert_true(ostel_rundir_is_ours(ours[i], extra));
    }
    static const char *const foreign[] = {
        "notes.txt",     "metrics.csv~",     "metrics.csv.bak", "metrics.csv.tmp", "summary.jsonx",
        "xsummary.json", "summary.tmp.json", ".tmp.",           "metrics",         "",
        "scenario.log",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(foreign); i++)
        if (ostel_rundir_is_ours(foreign[i], NULL))
            fail_msg("'%s' is taken as ostel's", foreign[i]);
    /* a caller's extra names, and their temporary forms, only when given */
    assert_true(ostel_rundir_is_ours("scenario.log", extra));
    assert_true(ostel_rundir_is_ours("scenario.json.tmp.abcdef", extra));
    assert_true(ostel_rundir_is_ours("scenario_metrics.csv", extra));
    assert_false(ostel_rundir_is_ours("scenario.json.tmp.abcdef", NULL));
    assert_false(ostel_rundir_is_ours("scenario.txt", extra));
}

static void test_remove(void **state)
{
    (void)state;
    char *tmp = test_tmpdir();
    char *run = ostel_xasprintf("%s/run", tmp);

    /* every file ours: all go, and the directory with them */
    assert_int_equal(mkdir(run, 0755), 0);
    static const char *const files[] = {
        "llama_output.log",
        "metrics.csv",
        "config.txt",
        "summary.json",
        "gpu_metrics.csv",
        ".ostel-write-test",
        "summary.json.tmp.abc123",
        "scenario.log",
        "scenario.json.tmp.zzz",
        "scenario_metrics.csv",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(files); i++)
        put(run, files[i]);
    assert_int_equal(ostel_rundir_remove(run, extra), OSTEL_OK);
    assert_false(exists(run, NULL));

    /* an empty directory goes too; one that is not there is no error */
    assert_int_equal(mkdir(run, 0755), 0);
    assert_int_equal(ostel_rundir_remove(run, NULL), OSTEL_OK);
    assert_false(exists(run, NULL));
    assert_int_equal(ostel_rundir_remove(run, NULL), OSTEL_OK);

    /* a quality pass on a GPU machine: gpu_metrics.csv is ostel's, without extra names */
    assert_int_equal(mkdir(run, 0755), 0);
    put(run, "metrics.csv");
    put(run, "gpu_metrics.csv");
    put(run, "gpu_metrics.csv.tmp.AbCdEf");
    assert_int_equal(ostel_rundir_remove(run, NULL), OSTEL_OK);
    assert_false(exists(run, NULL));

    /* a foreign file refuses the removal, and every file stays where it was */
    assert_int_equal(mkdir(run, 0755), 0);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(files); i++)
        put(run, files[i]);
    put(run, "notes.txt");
    assert_int_equal(ostel_rundir_remove(run, extra), OSTEL_ERR);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(files); i++)
        if (!exists(run, files[i]))
            fail_msg("'%s' was removed from a refused directory", files[i]);
    assert_true(exists(run, "notes.txt"));

    /* a study's file is foreign to a caller that did not name it */
    char *notes = ostel_xasprintf("%s/notes.txt", run);
    assert_int_equal(unlink(notes), 0);
    free(notes);
    assert_int_equal(ostel_rundir_remove(run, NULL), OSTEL_ERR);
    assert_true(exists(run, "scenario.log"));
    assert_true(exists(run, "metrics.csv"));

    /* a subdirectory is foreign whatever its name, also under the name of one of ostel's files:
     * nothing is removed (the name alone would pass, and unlink would fail half-way) */
    char *sub = ostel_xasprintf("%s/summary.json.tmp.x", run);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(ostel_rundir_remove(run, extra), OSTEL_ERR);
    assert_true(exists(run, "summary.json"));
    assert_true(exists(run, "metrics.csv"));
    assert_true(exists(run, "scenario.log"));
    assert_int_equal(rmdir(sub), 0);
    free(sub);
    assert_int_equal(ostel_rundir_remove(run, extra), OSTEL_OK);
    assert_false(exists(run, NULL));

    /* a path that is a file, not a directory: an error, the file stays */
    put(tmp, "run");
    assert_int_equal(ostel_rundir_remove(run, NULL), OSTEL_ERR);
    assert_true(exists(run, NULL));

    test_rmtree(tmp);
    free(run);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_ours),
        cmocka_unit_test(test_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
