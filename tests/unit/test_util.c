/*
 * Unit tests for util (buffers, slices, checked arithmetic), fileio and opt (value parsers, tables,
 * the one option parser: options among positionals, "--", the environment applied once).
 */
#include "testlib.h"
#include "llama/llama_tools.h"
#include "llama/synth.h"
#include "util/fileio.h"
#include "util/opt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    assert_int_equal(ostel_options_parse(&h, opts, 2, 3, argv1, on_opt, &s, &first),
                     OSTEL_OPT_DONE);
    assert_int_equal(s.ctx, 2048);
    assert_string_equal(s.src, "OSTEL_TEST_CTX");
    assert_int_equal(first, 2);
    char *argv2[] = {"t", "--ctx-size", "4096", "--", "-x", NULL};
    memset(&s, 0, sizeof(s));
    assert_int_equal(ostel_options_parse(&h, opts, 2, 5, argv2, on_opt, &s, &first),
                     OSTEL_OPT_DONE);
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

/* What the mixed parser's callback saw. */
struct mixed_seen {
    long ctx;
    const char *ctx_src; /* NULL: the command line */
    int ctx_env_calls, ctx_cli_calls;
    int verbose;
    const char *out;
};

static int on_mixed(void *ctx, int id, const char *arg, const char *source)
{
    struct mixed_seen *s = ctx;
    int64_t v;
    switch (id) {
    case 'c':
        if (!ostel_parse_i64(arg, 1, 1 << 20, &v))
            return ostel_error("bad ctx '%s'", arg);
        s->ctx = (long)v;
        s->ctx_src = source;
        if (source)
            s->ctx_env_calls++;
        else
            s->ctx_cli_calls++;
        return 0;
    case 'o':
        s->out = arg;
        return 0;
    case 'v':
        s->verbose++;
        return 0;
    }
    return ostel_error("unexpected id %d", id);
}

static const struct ostel_option mixed_opts[] = {
    {'c', "ctx-size", "N", "OSTEL_TEST_MIXED_CTX", "context"},
    {'o', "out", "FILE", NULL, "output"},
    {'v', "verbose", NULL, "OSTEL_TEST_MIXED_VERBOSE", "chatty"},
};
static const struct ostel_command_help mixed_help = {"t", "[opts] ARGS", "test", NULL};

static int parse_mixed(char **argv, struct mixed_seen *s, struct ostel_args *out)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    memset(s, 0, sizeof(*s));
    return ostel_options_parse_mixed(&mixed_help, mixed_opts, OSTEL_ARRAY_LEN(mixed_opts), argc,
                                     argv, on_mixed, s, out);
}

static void test_options_mixed_interleaved(void **state)
{
    (void)state;
    unsetenv("OSTEL_TEST_MIXED_CTX");
    unsetenv("OSTEL_TEST_MIXED_VERBOSE");
    struct mixed_seen s;
    struct ostel_args a;
    char *argv1[] = {"t", "a", "-v", "b", "--ctx-size", "100", "c", "-o", "-", "-", NULL};
    char *copy[11];
    memcpy(copy, argv1, sizeof(copy));
    assert_int_equal(parse_mixed(argv1, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.npos, 4);
    assert_string_equal(a.pos[0], "a");
    assert_string_equal(a.pos[1], "b");
    assert_string_equal(a.pos[2], "c");
    assert_string_equal(a.pos[3], "-"); /* a lone "-" is a positional (stdin)... */
    assert_string_equal(s.out, "-");    /* ...and so is an option's value */
    assert_null(a.pos[4]);
    assert_int_equal(a.nrest, 0);
    assert_false(a.dashdash);
    assert_ptr_equal(a.rest, a.pos + 4);
    assert_int_equal(s.ctx, 100);
    assert_int_equal(s.verbose, 1);
    assert_memory_equal(copy, argv1, sizeof(copy)); /* argv is not permuted */
    ostel_args_free(&a);
    assert_null(a.pos);

    /* Clustered short flags and attached values among positionals. */
    char *argv2[] = {"t", "x", "-vc", "64", "y", "-vvc7", "-ofile", NULL};
    assert_int_equal(parse_mixed(argv2, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "x");
    assert_string_equal(a.pos[1], "y");
    assert_int_equal(s.verbose, 3);
    assert_int_equal(s.ctx, 7);
    assert_int_equal(s.ctx_cli_calls, 2);
    assert_string_equal(s.out, "file");
    ostel_args_free(&a);

    /* Nothing at all. */
    char *argv3[] = {"t", NULL};
    assert_int_equal(parse_mixed(argv3, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.npos + a.nrest, 0);
    assert_non_null(a.pos);
    assert_null(a.pos[0]);
    ostel_args_free(&a);
}

static void test_options_mixed_dashdash(void **state)
{
    (void)state;
    unsetenv("OSTEL_TEST_MIXED_CTX");
    unsetenv("OSTEL_TEST_MIXED_VERBOSE");
    struct mixed_seen s;
    struct ostel_args a;
    char *argv1[] = {"t", "FILE", "-c", "5", "--", "-v", "--ctx-size", "x", "--", "-h", NULL};
    assert_int_equal(parse_mixed(argv1, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "FILE");
    assert_true(a.dashdash);
    assert_int_equal(a.nrest, 5); /* never parsed: not even --help or a second "--" */
    assert_string_equal(a.rest[0], "-v");
    assert_string_equal(a.rest[1], "--ctx-size");
    assert_string_equal(a.rest[2], "x");
    assert_string_equal(a.rest[3], "--");
    assert_string_equal(a.rest[4], "-h");
    assert_null(a.rest[5]);
    assert_int_equal(s.verbose, 0);
    assert_int_equal(s.ctx, 5);
    assert_int_equal(s.ctx_cli_calls, 1);
    ostel_args_free(&a);

    /* "--" with nothing after it still counts (a study clears the file's llama args). */
    char *argv2[] = {"t", "-v", "--", NULL};
    assert_int_equal(parse_mixed(argv2, &s, &a), OSTEL_OPT_DONE);
    assert_true(a.dashdash);
    assert_int_equal(a.npos, 0);
    assert_int_equal(a.nrest, 0);
    ostel_args_free(&a);

    /* "--" as an option's value is a value, not the end of the options. */
    char *argv3[] = {"t", "-o", "--", "p", "-v", NULL};
    assert_int_equal(parse_mixed(argv3, &s, &a), OSTEL_OPT_DONE);
    assert_string_equal(s.out, "--");
    assert_false(a.dashdash);
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "p");
    assert_int_equal(s.verbose, 1);
    ostel_args_free(&a);

    /* Command mode: no positional, everything after "--". */
    char *argv4[] = {"t", "-v", "--", "sh", "-c", "exit 3", NULL};
    assert_int_equal(parse_mixed(argv4, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.npos, 0);
    assert_int_equal(a.nrest, 3);
    assert_ptr_equal(a.rest, a.pos);
    assert_string_equal(a.rest[1], "-c");
    assert_int_equal(s.ctx_cli_calls, 0);
    ostel_args_free(&a);
}

static void test_options_mixed_env(void **state)
{
    (void)state;
    setenv("OSTEL_TEST_MIXED_CTX", "2048", 1);
    setenv("OSTEL_TEST_MIXED_VERBOSE", "1", 1);
    struct mixed_seen s;
    struct ostel_args a;
    /* No option on the command line: the environment's value, applied once. */
    char *argv1[] = {"t", "a", "b", NULL};
    assert_int_equal(parse_mixed(argv1, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(s.ctx, 2048);
    assert_string_equal(s.ctx_src, "OSTEL_TEST_MIXED_CTX");
    assert_int_equal(s.ctx_env_calls, 1);
    assert_int_equal(s.verbose, 1);
    ostel_args_free(&a);
    /* The command line wins wherever the option stands: before, between or after positionals;
     * the environment is not applied again after it (the old per-round bug). */
    char *before[] = {"t", "-c", "512", "a", "b", "-o", "x", NULL};
    char *between[] = {"t", "a", "-c", "512", "b", "-o", "x", NULL};
    char *after[] = {"t", "a", "b", "-o", "x", "--ctx-size=512", NULL};
    char **cases[] = {before, between, after};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        assert_int_equal(parse_mixed(cases[i], &s, &a), OSTEL_OPT_DONE);
        assert_int_equal(s.ctx, 512);
        assert_null(s.ctx_src);
        assert_int_equal(s.ctx_env_calls, 1);
        assert_int_equal(s.ctx_cli_calls, 1);
        assert_int_equal(s.verbose, 1); /* the flag from the environment, once */
        assert_string_equal(s.out, "x");
        assert_int_equal(a.npos, 2);
        assert_string_equal(a.pos[0], "a");
        assert_string_equal(a.pos[1], "b");
        ostel_args_free(&a);
    }
    /* A flag's variable set to 0 or false is off. */
    setenv("OSTEL_TEST_MIXED_VERBOSE", "false", 1);
    assert_int_equal(parse_mixed(argv1, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(s.verbose, 0);
    ostel_args_free(&a);
    /* A bad environment value is a usage error, and out is left empty. */
    setenv("OSTEL_TEST_MIXED_CTX", "lots", 1);
    assert_int_equal(parse_mixed(argv1, &s, &a), OSTEL_OPT_USAGE);
    assert_null(a.pos);
    assert_int_equal(a.npos + a.nrest, 0);
    ostel_args_free(&a); /* harmless on an empty one */
    unsetenv("OSTEL_TEST_MIXED_CTX");
    unsetenv("OSTEL_TEST_MIXED_VERBOSE");
}

static void test_options_mixed_errors(void **state)
{
    (void)state;
    unsetenv("OSTEL_TEST_MIXED_CTX");
    unsetenv("OSTEL_TEST_MIXED_VERBOSE");
    struct mixed_seen s;
    struct ostel_args a;
    char *unknown_long[] = {"t", "a", "--nope", "b", NULL};
    char *unknown_short[] = {"t", "a", "-x", NULL};
    char *unknown_in_cluster[] = {"t", "a", "-vq", NULL};
    char *missing_short[] = {"t", "a", "-c", NULL};
    char *missing_long[] = {"t", "a", "b", "--ctx-size", NULL};
    char *bad_value[] = {"t", "a", "-c", "zero", NULL};
    char *flag_with_value[] = {"t", "a", "--verbose=yes", NULL};
    char **cases[] = {unknown_long, unknown_short, unknown_in_cluster, missing_short,
                      missing_long, bad_value,     flag_with_value};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        a.pos = (char **)cases[i]; /* must be overwritten */
        a.npos = 99;
        assert_int_equal(parse_mixed(cases[i], &s, &a), OSTEL_OPT_USAGE);
        assert_null(a.pos);
        assert_int_equal(a.npos, 0);
        assert_int_equal(a.nrest, 0);
    }
    /* Parsing stops at the error: a later option is not applied. */
    char *stops[] = {"t", "--nope", "-c", "9", NULL};
    assert_int_equal(parse_mixed(stops, &s, &a), OSTEL_OPT_USAGE);
    assert_int_equal(s.ctx_cli_calls, 0);
}

static void test_options_mixed_help(void **state)
{
    (void)state;
    unsetenv("OSTEL_TEST_MIXED_CTX");
    unsetenv("OSTEL_TEST_MIXED_VERBOSE");
    struct mixed_seen s;
    struct ostel_args a;
    char *first[] = {"t", "-h", "a", NULL};
    char *middle[] = {"t", "a", "--help", "b", NULL};
    char *last[] = {"t", "a", "b", "-c", "5", "-h", NULL};
    char *cluster[] = {"t", "a", "-vh", NULL};
    char **cases[] = {first, middle, last, cluster};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        assert_int_equal(parse_mixed(cases[i], &s, &a), OSTEL_OPT_HELP);
        assert_null(a.pos);
    }
    /* After "--" it is an argument like any other. */
    char *quoted[] = {"t", "a", "--", "--help", NULL};
    assert_int_equal(parse_mixed(quoted, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.nrest, 1);
    assert_string_equal(a.rest[0], "--help");
    ostel_args_free(&a);

    /* The stop-at-the-first-positional form, run after the mixed one in the same process (getopt
     * keeps its ordering mode between calls unless fully reset), still stops there. */
    char *argv2[] = {"t", "-v", "pos", "-c", "5", NULL};
    int first_arg = -1;
    memset(&s, 0, sizeof(s));
    assert_int_equal(ostel_options_parse(&mixed_help, mixed_opts, OSTEL_ARRAY_LEN(mixed_opts), 5,
                                         argv2, on_mixed, &s, &first_arg),
                     OSTEL_OPT_DONE);
    assert_int_equal(first_arg, 2);
    assert_int_equal(s.verbose, 1);
    assert_int_equal(s.ctx_cli_calls, 0);
    char *argv3[] = {"t", "-v", NULL};
    assert_int_equal(ostel_options_parse(&mixed_help, mixed_opts, OSTEL_ARRAY_LEN(mixed_opts), 2,
                                         argv3, on_mixed, &s, &first_arg),
                     OSTEL_OPT_DONE);
    assert_int_equal(first_arg, 2);
    /* And the mixed one after it still mixes. */
    char *argv4[] = {"t", "p", "-c", "3", "q", NULL};
    assert_int_equal(parse_mixed(argv4, &s, &a), OSTEL_OPT_DONE);
    assert_int_equal(a.npos, 2);
    assert_int_equal(s.ctx, 3);
    ostel_args_free(&a);
}

/* The real binary: the command line wins over OSTEL_DB although the positional comes after it. */
static void test_options_env_once_db(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *env_db = ostel_xasprintf("%s/env.db", dir);
    char *cli_db = ostel_xasprintf("%s/cli.db", dir);
    char *missing = ostel_xasprintf("%s/no-such-run", dir);
    setenv("OSTEL_DB", env_db, 1);
    const char *argv[] = {"db", "import", "--db", cli_db, missing, "--quiet", NULL};
    char *out, *err;
    assert_int_equal(test_run_ostel(argv, &out, &err), 1); /* the run directory is missing */
    unsetenv("OSTEL_DB");
    assert_non_null(strstr(err, cli_db));
    assert_null(strstr(err, env_db));
    assert_true(ostel_is_file(cli_db));
    assert_false(ostel_is_file(env_db));
    free(out);
    free(err);
    test_rmtree(dir);
    free(missing);
    free(cli_db);
    free(env_db);
    free(dir);
}

/* The real binary: `OSTEL_SYNTH_TYPE=q8_0 ostel synth --type f16 PRESET ...` made q8_0 when each
 * parsing round after a positional applied the environment again. */
static void test_options_env_once_synth(void **state)
{
    (void)state;
    const char *vocab_name = ostel_synth_preset_find("tiny-llama")->vocab_file;
    char *vocab = ostel_llama_find_vocab(vocab_name); /* what the binary will look for */
    if (!vocab) {
        print_message("skipping: %s not installed\n", vocab_name);
        return;
    }
    char *dir = test_tmpdir();
    char *gguf = ostel_xasprintf("%s/t.gguf", dir);
    setenv("OSTEL_SYNTH_TYPE", "q8_0", 1);
    const char *before[] = {"synth", "--type", "f16", "tiny-llama", "-o", gguf, "--dry-run", NULL};
    const char *after[] = {"synth", "tiny-llama", "--dry-run", "-o", gguf, "--type", "f16", NULL};
    const char *env_only[] = {"synth", "tiny-llama", "--dry-run", "-o", gguf, NULL};
    const char *const *cases[] = {before, after, env_only};
    const char *want[] = {"tiny-llama f16 would be", "tiny-llama f16 would be",
                          "tiny-llama q8_0 would be"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        char *out, *err;
        assert_int_equal(test_run_ostel(cases[i], &out, &err), 0);
        if (!strstr(out, want[i]))
            fail_msg("case %zu: want '%s' in '%s'", i, want[i], out);
        free(out);
        free(err);
    }
    unsetenv("OSTEL_SYNTH_TYPE");
    assert_false(ostel_is_file(gguf)); /* a dry run */
    test_rmtree(dir);
    free(gguf);
    free(dir);
    free(vocab);
}

static void test_path_split_base(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        size_t len, base;
    } cases[] = {{"runs/a", 6, 5}, {"runs/a//", 6, 5}, {"a", 1, 0}, {"/x/y/", 4, 3},
                 {"/", 1, 1},      {"//", 1, 1},       {"", 0, 0},  {"./", 1, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 99, base = 99;
        ostel_path_split_base(cases[i].path, &len, &base);
        assert_int_equal(len, cases[i].len);
        assert_int_equal(base, cases[i].base);
    }
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

/* The write helpers that hand back an errno: a whole write through a pipe, a full device's
 * ENOSPC, and the error line's text, its first letter lower-cased. */
static void test_write_errno(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(ostel_fd_write_all_errno(p[1], "hello", 5), 0);
    char got[8] = "";
    assert_int_equal(read(p[0], got, sizeof(got)), 5);
    assert_memory_equal(got, "hello", 5);
    close(p[0]);
    close(p[1]);
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) { /* Linux */
        errno = 0;
        assert_int_equal(ostel_fd_write_all_errno(fd, "x", 1), ENOSPC);
        close(fd);
    }
    char text[160];
    ostel_write_error_text(text, sizeof(text), ENOSPC, "metrics.csv");
    char want[160];
    snprintf(want, sizeof(want), "%s writing metrics.csv", strerror(ENOSPC));
    want[0] = (char)tolower((unsigned char)want[0]);
    assert_string_equal(text, want);
    assert_true(text[0] < 'A' || text[0] > 'Z');
    ostel_write_error_text(text, 8, EFBIG, "gpu_metrics.csv"); /* cut, still terminated */
    assert_int_equal(strlen(text), 7);
}

/* A sink that keeps what it is given in another (plain) buffer, counting calls; it fails with
 * fail_errno on call number fail_at (0: never). */
struct sink_log {
    struct ostel_buf got;
    int calls, fail_at, fail_errno;
};

static int sink_log_write(void *ctx, const void *data, size_t len)
{
    struct sink_log *s = ctx;
    assert_true(len > 0);
    if (++s->calls == s->fail_at)
        return s->fail_errno;
    ostel_buf_append(&s->got, data, len);
    return 0;
}

/* Appends of every kind and size: short and long printf (past the buffer's capacity), puts, putc,
 * and pieces larger than a small threshold. */
static void buf_write_mix(struct ostel_buf *b, size_t *most_held)
{
    char big[700];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    for (int i = 0; i < 200; i++) {
        ostel_buf_printf(b, "%d,", i);
        ostel_buf_putc(b, i % 2 ? '\n' : ' ');
        if (i % 17 == 0)
            ostel_buf_printf(b, "[%.*s]", (int)(i * 3 % sizeof(big)), big);
        if (i % 23 == 0)
            ostel_buf_append(b, big, (size_t)(i * 5) % sizeof(big));
        ostel_buf_puts(b, i % 3 ? "" : "three");
        if (b->len > *most_held)
            *most_held = b->len;
    }
}

/* A streaming buffer hands on exactly the bytes a plain one holds, in order, whatever its
 * threshold, and never holds more than the threshold after an append. */
static void test_buf_sink_bytes(void **state)
{
    (void)state;
    struct ostel_buf whole;
    ostel_buf_init(&whole, 0);
    size_t most = 0;
    buf_write_mix(&whole, &most);
    assert_int_equal(whole.len, 7355);
    const size_t thresholds[] = {0, 1, 3, 7, 64, 1000, 1 << 20};
    for (size_t t = 0; t < OSTEL_ARRAY_LEN(thresholds); t++) {
        struct sink_log log = {.fail_at = 0};
        ostel_buf_init(&log.got, 0);
        struct ostel_buf b;
        ostel_buf_init(&b, 0);
        ostel_buf_set_sink(&b, sink_log_write, &log, thresholds[t]);
        size_t held = 0;
        buf_write_mix(&b, &held);
        assert_true(held <= thresholds[t]);
        assert_int_equal(b.flushed + b.len, whole.len);
        assert_int_equal(ostel_buf_flush(&b), 0);
        assert_int_equal(b.len, 0);
        assert_int_equal(b.flushed, whole.len);
        assert_int_equal(log.got.len, whole.len);
        assert_memory_equal(log.got.data, whole.data, whole.len);
        if (thresholds[t] < 1000)
            assert_true(log.calls > 10);
        else if (thresholds[t] == 1 << 20)
            assert_int_equal(log.calls, 1); /* all at the end */
        assert_false(b.overflow);
        ostel_buf_free(&b);
        ostel_buf_free(&log.got);
    }
    ostel_buf_free(&whole);
}

/* max bounds every byte appended, those handed on included: the stream stops at the first append
 * past it (a later one that would fit is dropped too: no hole in what the sink got). */
static void test_buf_sink_max(void **state)
{
    (void)state;
    for (int printf_path = 0; printf_path < 2; printf_path++) {
        struct sink_log log = {.fail_at = 0};
        ostel_buf_init(&log.got, 0);
        struct ostel_buf b;
        ostel_buf_init(&b, 100);
        ostel_buf_set_sink(&b, sink_log_write, &log, 8);
        for (int i = 0; i < 19; i++) /* 95 bytes */
            ostel_buf_puts(&b, "abcde");
        assert_true(log.calls >= 9);
        assert_false(b.overflow);
        assert_int_equal(b.flushed + b.len, 95);
        if (printf_path)
            ostel_buf_printf(&b, "%s", "0123456789");
        else
            ostel_buf_puts(&b, "0123456789");
        assert_true(b.overflow);
        ostel_buf_puts(&b, "x"); /* would fit, but after a refused append */
        assert_int_equal(b.flushed + b.len, 95);
        int calls = log.calls;
        assert_int_equal(ostel_buf_flush(&b), 0);
        assert_int_equal(log.calls, calls); /* nothing more after an overflow */
        assert_int_equal(log.got.len, b.flushed);
        assert_true(log.got.len <= 95);
        ostel_buf_free(&b);
        ostel_buf_free(&log.got);
    }
    /* exactly max bytes fit, across flushes */
    struct sink_log log = {.fail_at = 0};
    ostel_buf_init(&log.got, 0);
    struct ostel_buf b;
    ostel_buf_init(&b, 100);
    ostel_buf_set_sink(&b, sink_log_write, &log, 8);
    for (int i = 0; i < 10; i++)
        ostel_buf_printf(&b, "%09d\n", i);
    ostel_buf_append(&b, "", 0);
    assert_false(b.overflow);
    assert_int_equal(ostel_buf_flush(&b), 0);
    assert_int_equal(log.got.len, 100);
    ostel_buf_putc(&b, 'x');
    assert_true(b.overflow);
    ostel_buf_free(&b);
    ostel_buf_free(&log.got);
}

/* The sink's first error is kept and returned by flush; the sink is not called again. */
static void test_buf_sink_error(void **state)
{
    (void)state;
    struct sink_log log = {.fail_at = 3, .fail_errno = ENOSPC};
    ostel_buf_init(&log.got, 0);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_set_sink(&b, sink_log_write, &log, 4);
    for (int i = 0; i < 100; i++)
        ostel_buf_puts(&b, "0123");
    assert_int_equal(log.calls, 3);
    assert_int_equal(b.sink_error, ENOSPC);
    assert_int_equal(b.flushed, log.got.len);
    assert_int_equal(log.got.len, 8); /* the two calls before the failed one */
    assert_int_equal(ostel_buf_flush(&b), ENOSPC);
    assert_int_equal(ostel_buf_flush(&b), ENOSPC);
    assert_int_equal(log.calls, 3);
    assert_false(b.overflow);
    ostel_buf_free(&b);
    ostel_buf_free(&log.got);
}

/* Names in dir, "." and ".." left out. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The streaming atomic writer: committed, the file holds every piece; aborted, an existing file
 * keeps its old bytes and no temporary file is left; a directory that is not there fails at open
 * and leaves nothing. */
static void test_file_stream(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *f = ostel_xasprintf("%s/r.json", dir);
    struct ostel_file_stream fs;
    assert_int_equal(ostel_file_stream_open(&fs, f), 0);
    assert_int_equal(ostel_file_stream_write(&fs, "{\"a\":", 5), 0);
    assert_false(ostel_is_file(f)); /* not there before the commit */
    assert_int_equal(ostel_file_stream_write(&fs, "1}", 2), 0);
    assert_int_equal(ostel_file_stream_commit(&fs, f), 0);
    size_t n;
    char *got = test_read_file(f, &n);
    assert_string_equal(got, "{\"a\":1}");
    free(got);
    struct stat st;
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(dir_entries(dir), 1);

    /* a buffer streaming into it, then aborted midway: the old file stays whole */
    assert_int_equal(ostel_file_stream_open(&fs, f), 0);
    assert_int_equal(dir_entries(dir), 2);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_set_sink(&b, ostel_file_stream_write, &fs, 16);
    for (int i = 0; i < 100; i++)
        ostel_buf_printf(&b, "line %d\n", i);
    assert_true(b.flushed > 0);
    ostel_file_stream_abort(&fs);
    ostel_file_stream_abort(&fs); /* a second call does nothing */
    ostel_buf_free(&b);
    got = test_read_file(f, &n);
    assert_string_equal(got, "{\"a\":1}");
    free(got);
    assert_int_equal(dir_entries(dir), 1);

    /* the same, committed: replaces the file */
    assert_int_equal(ostel_file_stream_open(&fs, f), 0);
    ostel_buf_init(&b, 0);
    ostel_buf_set_sink(&b, ostel_file_stream_write, &fs, 16);
    struct ostel_buf want;
    ostel_buf_init(&want, 0);
    for (int i = 0; i < 100; i++) {
        ostel_buf_printf(&b, "line %d\n", i);
        ostel_buf_printf(&want, "line %d\n", i);
    }
    assert_int_equal(ostel_buf_flush(&b), 0);
    ostel_buf_free(&b);
    assert_int_equal(ostel_file_stream_commit(&fs, f), 0);
    got = test_read_file(f, &n);
    assert_int_equal(n, want.len);
    assert_memory_equal(got, want.data, n);
    free(got);
    ostel_buf_free(&want);
    assert_int_equal(dir_entries(dir), 1);

    char *missing = ostel_xasprintf("%s/no/r.json", dir);
    assert_int_equal(ostel_file_stream_open(&fs, missing), ENOENT);
    assert_int_equal(dir_entries(dir), 1);
    free(missing);
    free(f);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_str),
        cmocka_unit_test(test_checked_math),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_buf_sink_bytes),
        cmocka_unit_test(test_buf_sink_max),
        cmocka_unit_test(test_buf_sink_error),
        cmocka_unit_test(test_file_stream),
        cmocka_unit_test(test_path_split_base),
        cmocka_unit_test(test_write_errno),
        cmocka_unit_test(test_options_mixed_interleaved),
        cmocka_unit_test(test_options_mixed_dashdash),
        cmocka_unit_test(test_options_mixed_env),
        cmocka_unit_test(test_options_mixed_errors),
        cmocka_unit_test(test_options_mixed_help),
        cmocka_unit_test(test_options_env_once_db),
        cmocka_unit_test(test_options_env_once_synth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
