/*
 * Unit tests for util/ini (the study file's INI dialect) and for the study file's use of it: no
 * inline comments, duplicate keys with both line numbers, too-long lines, section rules.
 */
#include "testlib.h"
#include "run/study.h"
#include "util/ini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

struct collect {
    struct ostel_buf out; /* "section|key|value|line\n" per pair */
    int stop_at;          /* refuse this line (0: none) */
};

static int on_pair(void *user, const char *section, const char *key, const char *value, int line,
                   char *err, size_t err_size)
{
    struct collect *c = user;
    if (line == c->stop_at) {
        snprintf(err, err_size, "no thanks");
        return 1;
    }
    ostel_buf_printf(&c->out, "%s|%s|%s|%d\n", section, key, value, line);
    return 0;
}

/* Parses text; returns its result, the pairs in *pairs (caller frees) and the error in err. */
static int parse(const char *text, size_t len, int stop_at, char **pairs, char *err, size_t n)
{
    struct collect c;
    ostel_buf_init(&c.out, 0);
    c.stop_at = stop_at;
    err[0] = '\0';
    int rc = ostel_ini_parse(text, len, on_pair, &c, err, n);
    ostel_buf_putc(&c.out, '\0');
    *pairs = ostel_buf_detach(&c.out);
    return rc;
}

static void expect(const char *text, int want_rc, const char *want_pairs, const char *want_err)
{
    char err[256], *pairs;
    int rc = parse(text, strlen(text), 0, &pairs, err, sizeof(err));
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", pairs);
    free(pairs);
    if (rc != want_rc)
        fail_msg("rc %d (%s), expected %d for:\n%s", rc, err, want_rc, text);
    if (want_pairs && strcmp(copy, want_pairs) != 0)
        fail_msg("pairs:\n%s\nexpected:\n%s", copy, want_pairs);
    if (want_err && !strstr(err, want_err))
        fail_msg("error '%s' lacks '%s'", err, want_err);
}

static void test_rules(void **state)
{
    (void)state;
    expect("[study]\nprompt = Tell me about cats ; and dogs\n", 0,
           "study|prompt|Tell me about cats ; and dogs|2\n", NULL);
    expect("; c\n# c\n  ; indented\n\n[ study ]\n  key=v # not a comment  \n", 0,
           "study|key|v # not a comment|6\n", NULL);
    expect("\xEF\xBB\xBF[s]\r\na = 1\r\nb =\r\nc = x = y", 0, "s|a|1|2\ns|b||3\ns|c|x = y|4\n",
           NULL);
    expect("top = 1\n[s]\n", 0, "|top|1|1\n", NULL);
    expect("", 0, "", NULL);
    expect("[s]\nno equals sign here\n", 2, "", "not a 'key = value' line");
    expect("[s]\n = v\n", 2, "", "a value without a key");
    expect("[s\n", 1, "", "without ']'");
    expect("[s] x\n", 1, "", "text after");
    expect("[]\n", 1, "", "empty section name");
    char err[256], *pairs;
    assert_int_equal(parse("[s]\na = 1\nb\0 = 2\n", 17, 0, &pairs, err, sizeof(err)), 3);
    free(pairs);
    assert_non_null(strstr(err, "NUL byte"));
    assert_int_equal(parse("[s]\na = 1\nb = 2\n", 16, 3, &pairs, err, sizeof(err)), 3);
    assert_string_equal(pairs, "s|a|1|2\n");
    assert_string_equal(err, "no thanks");
    free(pairs);
}

static void test_long_line(void **state)
{
    (void)state;
    size_t n = OSTEL_INI_MAX_LINE + 100;
    char *text = ostel_xmalloc(n + 32);
    int w = snprintf(text, n + 32, "[s]\nprompt = ");
    memset(text + w, 'x', n - (size_t)w);
    text[n] = '\n';
    text[n + 1] = '\0';
    char err[256], *pairs;
    assert_int_equal(parse(text, n + 1, 0, &pairs, err, sizeof(err)), 2);
    free(pairs);
    free(text);
    assert_non_null(strstr(err, "too long"));
    /* exactly at the limit is fine */
    text = ostel_xmalloc(OSTEL_INI_MAX_LINE + 8);
    memcpy(text, "k = ", 4);
    memset(text + 4, 'y', OSTEL_INI_MAX_LINE - 4);
    int rc = parse(text, OSTEL_INI_MAX_LINE, 0, &pairs, err, sizeof(err));
    free(pairs);
    free(text);
    assert_int_equal(rc, 0);
}

/* The study file: errors name the file and line; duplicates both lines. */
static int study_file(const char *text, char **err_out)
{
    char *dir = test_tmpdir();
    char *path = ostel_xasprintf("%s/s.ini", dir);
    test_write_file(path, text, strlen(text));
    struct ostel_study_spec s;
    ostel_study_spec_init(&s);
    /* ostel_error prints to stderr: fd 2 goes to a file for the call */
    char *errp = ostel_xasprintf("%s/err", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    int rc = ostel_study_spec_read_file(&s, path);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len;
    char *err = test_read_file(errp, &len);
    free(errp);
    if (rc == 0 && s.prompt) {
        free(err);
        err = ostel_xstrdup(s.prompt);
    }
    ostel_study_spec_free(&s);
    test_rmtree(dir);
    free(path);
    free(dir);
    *err_out = err;
    return rc;
}

static void test_study_file(void **state)
{
    (void)state;
    char *msg;
    assert_int_equal(study_file("[study]\nprompt = Tell me about cats ; and dogs\n", &msg), 0);
    assert_string_equal(msg, "Tell me about cats ; and dogs");
    free(msg);
    assert_int_not_equal(study_file("[study]\nctx = 512\ngen = 8\nctx = 1024\n", &msg), 0);
    assert_non_null(strstr(msg, "s.ini:4: 'ctx' is given twice (lines 2 and 4)"));
    free(msg);
    assert_int_not_equal(study_file("[study]\nmodel = a.gguf\n\nmodels = b.gguf\n", &msg), 0);
    assert_non_null(strstr(msg, "s.ini:4: 'models' is given twice (lines 2 and 4)"));
    free(msg);
    assert_int_not_equal(study_file("ctx = 512\n[study]\n", &msg), 0);
    assert_non_null(strstr(msg, "s.ini:1: 'ctx' before the [study] section"));
    free(msg);
    assert_int_not_equal(study_file("[study]\nctx = 512\n[other]\nx = 1\n", &msg), 0);
    assert_non_null(strstr(msg, "s.ini:4: unknown section [other]"));
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_study_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
