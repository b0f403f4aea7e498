/*
 * Unit tests for opt_doc: the man page and completions written from option tables escape what the
 * tables hold (roff's backslash, hyphen and leading dot; quotes in shell words; zsh's brackets and
 * colons), list every option once, and the parser's hidden --dump-options writes a command's part.
 */
#include "testlib.h"
#include "util/opt.h"
#include "util/opt_doc.h"

#include <stdlib.h>
#include <string.h>

static const struct ostel_option opts[] = {
    {'c', "ctx", "N", "OSTEL_T_CTX", "context [tokens]: the -c value"},
    {0x200, "dry", NULL, NULL, "don't run, a \\ backslash"},
};
static const struct ostel_command_help help = {"t", "FILE [options]", "a test command",
                                               ".starts with a dot\nsecond line"};

static char *render(enum ostel_opt_doc fmt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    ostel_opt_doc_write_command(f, fmt, &help, opts, OSTEL_ARRAY_LEN(opts));
    fclose(f);
    return text;
}

static void test_man(void **state)
{
    (void)state;
    char *m = render(OSTEL_OPT_DOC_MAN);
    assert_non_null(strstr(m, ".SS \"ostel t FILE [options]\"\n"));
    assert_non_null(strstr(m, "\\fB\\-c\\fR, \\fB\\-\\-ctx\\fR \\fIN\\fR\n"));
    assert_non_null(strstr(m, "the \\-c value (environment: \\fBOSTEL_T_CTX\\fR)"));
    assert_non_null(strstr(m, "\\fB\\-\\-dry\\fR\ndon't run, a \\e backslash"));
    /* A details line starting with '.' would be a roff request: it is protected. */
    assert_non_null(strstr(m, "\n\\&.starts with a dot\nsecond line\n"));
    assert_null(strstr(m, "\n.starts"));
    free(m);
}

static void test_bash(void **state)
{
    (void)state;
    char *b = render(OSTEL_OPT_DOC_BASH);
    assert_string_equal(b, "    't') echo '-c --ctx --dry -h --help' ;;\n");
    free(b);
}

static void test_zsh(void **state)
{
    (void)state;
    char *z = render(OSTEL_OPT_DOC_ZSH);
    assert_non_null(
        strstr(z, "'(-c --ctx)'{-c+,--ctx=}'[context \\[tokens\\]\\: the -c value]:N:_files'"));
    assert_non_null(strstr(z, "'--dry[don'\\''t run, a \\\\ backslash]'"));
    assert_non_null(strstr(z, "'*:file:_files' ;;\n"));
    free(z);
}

static int on_opt(void *ctx, int id, const char *arg, const char *source)
{
    (void)id;
    (void)arg;
    (void)source;
    ++*(int *)ctx;
    return 0;
}

static void test_dump_through_parser(void **state)
{
    (void)state;
    enum ostel_opt_doc fmt;
    assert_true(ostel_opt_doc_parse_format("zsh", &fmt));
    assert_int_equal(fmt, OSTEL_OPT_DOC_ZSH);
    assert_false(ostel_opt_doc_parse_format("pdf", &fmt));
    int calls = 0, first = 0;
    char *ok[] = {"t", "--dump-options=bash", NULL};
    assert_int_equal(
        ostel_options_parse(&help, opts, OSTEL_ARRAY_LEN(opts), 2, ok, on_opt, &calls, &first),
        OSTEL_OPT_HELP);
    char *bad[] = {"t", "--dump-options=pdf", NULL};
    assert_int_equal(
        ostel_options_parse(&help, opts, OSTEL_ARRAY_LEN(opts), 2, bad, on_opt, &calls, &first),
        OSTEL_OPT_USAGE);
    assert_int_equal(calls, 0); /* never handed to the command */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_man),
        cmocka_unit_test(test_bash),
        cmocka_unit_test(test_zsh),
        cmocka_unit_test(test_dump_through_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
