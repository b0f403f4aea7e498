/*
 * test_rundir_config: config.txt's key table, its one writer and its one reader
 * (src/rundir/rundir_config): docs/run-directory.md's key list is the table (names in order, who
 * writes each, the start of its meaning), every key of every fixture's config.txt (older ones
 * included) is the table's, a value's line ends become spaces, an unknown number is an empty
 * value, the file is written whole and read back, lines without a key are skipped, a key's first
 * line wins, and the store-runs fixtures read (an old directory's scenario_spec too).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testlib.h"
#include "rundir/rundir_config.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>

/* The table's rows: unique names of [a-z0-9_], each found by its name, each written by someone
 * but the legacy keys, serve's keys the serve_* ones (with status and error). */
static void test_table(void **state)
{
    (void)state;
    for (int k = 0; k < OSTEL_CFG_COUNT; k++) {
        const struct ostel_config_key_info *info = ostel_config_key((enum ostel_config_key)k);
        assert_int_equal(info->len, strlen(info->name));
        assert_string_equal(ostel_config_key_name((enum ostel_config_key)k), info->name);
        assert_true(info->len > 0);
        for (size_t i = 0; i < info->len; i++) {
            char c = info->name[i];
            assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
        }
        assert_true(info->meaning[0] != '\0');
        enum ostel_config_key found;
        assert_true(ostel_config_key_lookup(ostel_str_from_cstr(info->name), &found));
        assert_int_equal(found, k); /* no two rows share a name */
        bool serve_key = strncmp(info->name, "serve_", 6) == 0;
        if (serve_key)
            assert_int_equal(info->by, OSTEL_CONFIG_SERVE);
        else if (info->by & OSTEL_CONFIG_SERVE)
            assert_true(k == OSTEL_CFG_STATUS || k == OSTEL_CFG_ERROR);
    }
    assert_int_equal(ostel_config_key(OSTEL_CFG_PROMPT_TOKENS)->by, OSTEL_CONFIG_LEGACY);
    assert_int_equal(ostel_config_key(OSTEL_CFG_SCENARIO_SPEC)->by, OSTEL_CONFIG_LEGACY);
    enum ostel_config_key k;
    assert_false(ostel_config_key_lookup(ostel_str_from_cstr("ta"), &k)); /* a prefix */
    assert_false(ostel_config_key_lookup(ostel_str_from_cstr("tags"), &k));
    assert_false(ostel_config_key_lookup(ostel_str_from_cstr(""), &k));
    assert_true(ostel_config_key_lookup(ostel_str_make("tag=x", 3), &k));
    assert_int_equal(k, OSTEL_CFG_TAG);
}

/* The docs' "written by" cell of a row of the table. */
static void writers_text(unsigned by, char *out, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{OSTEL_CONFIG_RUNNER, "runner"},
                 {OSTEL_CONFIG_SERVE, "serve"},
                 {OSTEL_CONFIG_URL, "serve --url"}};
    out[0] = '\0';
    if (by == OSTEL_CONFIG_LEGACY) {
        snprintf(out, size, "older run directories");
        return;
    }
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(names); i++)
        if (by & names[i].bit) {
            size_t l = strlen(out);
            snprintf(out + l, size - l, "%s%s", l ? ", " : "", names[i].name);
        }
}

/* docs/run-directory.md's config.txt list is the table: one row per key in the table's order, who
 * writes it, its meaning starting as the table's. */
static void test_docs_list_is_the_table(void **state)
{
    (void)state;
    char *path = test_src_path("docs/run-directory.md");
    size_t len;
    char *doc = test_read_file(path, &len);
    struct ostel_str rest = ostel_str_make(doc, len), line;
    bool in = false;
    int next = 0;
    while (ostel_str_next_line(&rest, &line)) {
        if (line.n > 3 && memcmp(line.p, "## ", 3) == 0) {
            if (in)
                break;
            in = ostel_str_eq(line, "## config.txt");
            continue;
        }
        if (!in || line.n < 4 || memcmp(line.p, "| `", 3) != 0)
            continue;
        struct ostel_str name = test_md_cell(line, 0), by = test_md_cell(line, 1),
                         meaning = test_md_cell(line, 2);
        assert_true(name.n >= 2 && name.p[0] == '`' && name.p[name.n - 1] == '`');
        name = ostel_str_make(name.p + 1, name.n - 2);
        if (next >= OSTEL_CFG_COUNT)
            fail_msg("docs list '%.*s' after the table's last key", (int)name.n, name.p);
        const struct ostel_config_key_info *info = ostel_config_key((enum ostel_config_key)next);
        if (!ostel_str_eq(name, info->name))
            fail_msg("docs list '%.*s' where the table has '%s'", (int)name.n, name.p, info->name);
        char want[64];
        writers_text(info->by, want, sizeof(want));
        if (!ostel_str_eq(by, want))
            fail_msg("docs say %s is written by '%.*s', the table '%s'", info->name, (int)by.n,
                     by.p, want);
        if (!ostel_str_starts_with(meaning, info->meaning))
            fail_msg("docs' meaning of %s, '%.*s', does not start as the table's '%s'", info->name,
                     (int)meaning.n, meaning.p, info->meaning);
        next++;
    }
    if (next != OSTEL_CFG_COUNT)
        fail_msg("docs list %d of the table's %d keys", next, (int)OSTEL_CFG_COUNT);
    free(doc);
    free(path);
}

/* Every key of every config.txt under tests/data (run directories of every age ostel wrote, and
 * the hand-made older ones) is one the table knows: a reader can name each. */
static int fixture_files, fixture_lines;

static int check_fixture(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    if (flag != FTW_F || strcmp(path + ftw->base, "config.txt") != 0)
        return 0;
    size_t len;
    char *text = test_read_file(path, &len);
    struct ostel_str rest = ostel_str_make(text, len), key, val;
    while (ostel_config_next(&rest, &key, &val)) {
        enum ostel_config_key k;
        if (!ostel_config_key_lookup(key, &k))
            fail_msg("%s: key '%.*s' is not in the table", path, (int)key.n, key.p);
        char *v = ostel_config_get(text, len, k);
        assert_non_null(v);
        free(v);
        fixture_lines++;
    }
    free(text);
    fixture_files++;
    return 0;
}

static void test_fixture_keys_known(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data");
    fixture_files = fixture_lines = 0;
    assert_int_equal(nftw(dir, check_fixture, 16, FTW_PHYS), 0);
    assert_true(fixture_files >= 60); /* the fixtures were found */
    assert_true(fixture_lines > 20 * fixture_files);
    free(dir);
}

static void test_write_read(void **state)
{
    (void)state;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_config_line(&b, OSTEL_CFG_TAG, "a\nb\rc");
    ostel_config_line(&b, OSTEL_CFG_MODEL, NULL);
    ostel_config_num(&b, OSTEL_CFG_CTX, 4096, true);
    ostel_config_num(&b, OSTEL_CFG_GEN, 7, false);
    ostel_config_linef(&b, OSTEL_CFG_INTERVAL_MS, "%.3f", 12.5);
    ostel_config_linef(&b, OSTEL_CFG_SERVE_LEVELS, "%s", "1,\n2");
    ostel_config_line(&b, OSTEL_CFG_STATUS, "ok");
    assert_string_equal(b.data, "tag=a b c\nmodel=\nctx=4096\ngen=\ninterval_ms=12.500\n"
                                "serve_levels=1, 2\nstatus=ok\n");
    char *tmp = test_tmpdir();
    assert_int_equal(ostel_config_write(tmp, b.data, b.len), 0);
    struct ostel_buf in;
    ostel_buf_init(&in, 0);
    assert_int_equal(ostel_config_read(tmp, 1 << 20, &in), OSTEL_OK);
    assert_int_equal(in.len, b.len);
    assert_memory_equal(in.data, b.data, b.len);
    char *v = ostel_config_get(in.data, in.len, OSTEL_CFG_CTX);
    assert_string_equal(v, "4096");
    free(v);
    v = ostel_config_get(in.data, in.len, OSTEL_CFG_GEN);
    assert_string_equal(v, "");
    free(v);
    assert_null(ostel_config_get(in.data, in.len, OSTEL_CFG_TOOL));
    ostel_buf_free(&in);
    /* a key that only starts as another is not it */
    static const char pre[] = "serve_url_old=x\nrun_id_=y\nserve_url=z\n";
    v = ostel_config_get(pre, strlen(pre), OSTEL_CFG_SERVE_URL);
    assert_string_equal(v, "z");
    free(v);
    assert_null(ostel_config_get(pre, strlen(pre), OSTEL_CFG_RUN_ID));
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
    char *v = ostel_config_get(text, strlen(text), OSTEL_CFG_STATUS);
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
    char *st = ostel_config_get(in.data, in.len, OSTEL_CFG_STATUS);
    char *hash = ostel_config_get(in.data, in.len, OSTEL_CFG_SPEC_HASH);
    assert_string_equal(st, "ok");
    assert_non_null(hash);
    assert_true(strlen(hash) > 0);
    free(st);
    free(hash);
    /* an older directory's key, read by the store as the scenario's definition */
    char *def = ostel_config_get(in.data, in.len, OSTEL_CFG_SCENARIO_SPEC);
    assert_string_equal(def, "mem:70%avail,cpu:1");
    free(def);
    ostel_buf_free(&in);
    free(dir);
    /* a directory from before run_id and prompt: tag, the old prompt_tokens, status */
    dir = test_src_path("tests/data/store-runs/q4-ok");
    ostel_buf_init(&in, 0);
    assert_int_equal(ostel_config_read(dir, 1 << 20, &in), OSTEL_OK);
    assert_null(ostel_config_get(in.data, in.len, OSTEL_CFG_RUN_ID));
    assert_null(ostel_config_get(in.data, in.len, OSTEL_CFG_PROMPT));
    char *pt = ostel_config_get(in.data, in.len, OSTEL_CFG_PROMPT_TOKENS);
    assert_string_equal(pt, "18");
    free(pt);
    char *tag = ostel_config_get(in.data, in.len, OSTEL_CFG_TAG);
    assert_string_equal(tag, "q4");
    free(tag);
    ostel_buf_free(&in);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_docs_list_is_the_table),
        cmocka_unit_test(test_fixture_keys_known),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
