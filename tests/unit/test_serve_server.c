/*
 * Unit tests for serve/serve_server.c, what `ostel serve -m` and a serving study's cell share:
 * llama-server's argv (-lv 4 unless the user's arguments set a verbosity, -np only when asked, the
 * user's arguments last), config.txt's serve_* lines (every mode, both length forms, the runner's
 * status, error and old serve_ lines left out, EIO when its config.txt cannot be read), the order
 * in which a failure's causes are named, and the count of levels that completed a request.
 */
#include "testlib.h"
#include "serve/serve_server.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t argv_len(char **v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static void test_argv(void **state)
{
    (void)state;
    struct ostel_serve_server srv = {.path = "/bin/llama-server", .port = 8081};
    char **v = ostel_serve_server_argv(&srv, "m.gguf", 4096);
    const char *want1[] = {
        "/bin/llama-server", "-m",  "m.gguf", "--host", "127.0.0.1", "--port", "8081", "-c", "4096",
        "--metrics",         "-lv", "4"};
    assert_int_equal(argv_len(v), OSTEL_ARRAY_LEN(want1));
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(want1); i++)
        assert_string_equal(v[i], want1[i]);
    ostel_serve_server_argv_free(v);

    /* -np with parallel; the user's -lv replaces ostel's; their arguments come last */
    char *extra[] = {"--log-verbosity", "2", "-t", "3"};
    srv.parallel = 4;
    srv.extra = extra;
    srv.n_extra = 4;
    v = ostel_serve_server_argv(&srv, "m.gguf", 512);
    const char *want2[] = {"/bin/llama-server",
                           "-m",
                           "m.gguf",
                           "--host",
                           "127.0.0.1",
                           "--port",
                           "8081",
                           "-c",
                           "512",
                           "-np",
                           "4",
                           "--metrics",
                           "--log-verbosity",
                           "2",
                           "-t",
                           "3"};
    assert_int_equal(argv_len(v), OSTEL_ARRAY_LEN(want2));
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(want2); i++)
        assert_string_equal(v[i], want2[i]);
    ostel_serve_server_argv_free(v);
    ostel_serve_server_argv_free(NULL);
}

static char *config_text(const char *dir, const char *base, const struct ostel_serve_params *p,
                         long long parallel, const char *error, int *rc)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    *rc = ostel_serve_config_text(dir, base, p, parallel, "http://127.0.0.1:9", "ok", error, &b);
    ostel_buf_putc(&b, '\0');
    return ostel_buf_detach(&b);
}

static void test_config_text(void **state)
{
    (void)state;
    struct ostel_serve_params p = ostel_serve_default_params();
    double levels[] = {1, 2.5, 4};
    p.mode = OSTEL_SERVE_RATE;
    p.levels = levels;
    p.n_levels = 3;
    p.prompt_tokens = 100;
    p.prompt_sd = 10;
    p.prompt_max = 0;
    p.output_tokens = 8;
    p.output_sd = 0;
    p.output_max = 32;
    p.requests = 5;
    p.warmup = 1;
    p.duration_s = 2.5;
    p.seed = 7;
    p.reuse_prompts = true;
    p.utf8_only = true;
    p.n_banned_tokens = 12;
    int rc = -1;
    char *t = config_text(NULL, "tag=x\n", &p, 0, "", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(t, "tag=x\n"
                           "serve_url=http://127.0.0.1:9\n"
                           "serve_mode=rate\n"
                           "serve_levels=1,2.5,4\n"
                           "serve_prompt_tokens=100:10\n"
                           "serve_output_tokens=8-32\n"
                           "serve_requests=5\n"
                           "serve_warmup=1\n"
                           "serve_duration_s=2.5\n"
                           "serve_seed=7\n"
                           "serve_unique_prompts=0\n"
                           "serve_parallel=\n"
                           "serve_utf8_only=1\n"
                           "serve_banned_tokens=12\n"
                           "status=ok\n");
    free(t);

    /* a sweep has no levels of its own; parallel and an error are written */
    p.mode = OSTEL_SERVE_SWEEP;
    p.levels = NULL;
    p.n_levels = 0;
    t = config_text(NULL, "", &p, 3, "it broke", &rc);
    assert_non_null(strstr(t, "serve_mode=sweep\nserve_levels=\n"));
    assert_non_null(strstr(t, "serve_parallel=3\n"));
    assert_non_null(strstr(t, "status=ok\nerror=it broke\n"));
    free(t);
    p.mode = OSTEL_SERVE_CONCURRENCY;
    t = config_text(NULL, "", &p, 0, NULL, &rc);
    assert_non_null(strstr(t, "serve_mode=concurrency\n"));
    assert_null(strstr(t, "error="));
    free(t);

    /* base NULL: the runner's config.txt less its status, error and serve_ lines */
    char *dir = test_tmpdir();
    char *path = ostel_xasprintf("%s/config.txt", dir);
    const char runner[] = "tag=a\nstatus=running\nserve_url=old\nmodel=m.gguf\nerror=x\n";
    test_write_file(path, runner, sizeof(runner) - 1);
    t = config_text(dir, NULL, &p, 0, "", &rc);
    assert_int_equal(rc, 0);
    assert_true(strncmp(t, "tag=a\nmodel=m.gguf\nserve_url=http://127.0.0.1:9\n", 48) == 0);
    assert_null(strstr(t, "running"));
    assert_null(strstr(t, "old"));
    free(t);
    /* no config.txt: EIO, and the load's lines all the same */
    unlink(path);
    t = config_text(dir, NULL, &p, 0, "", &rc);
    assert_int_equal(rc, EIO);
    assert_true(strncmp(t, "serve_url=", 10) == 0);
    free(t);
    free(path);
    test_rmtree(dir);
    free(dir);
}

static void test_error_order(void **state)
{
    (void)state;
    struct ostel_serve_server_result r;
    memset(&r, 0, sizeof(r));
    struct ostel_run_result res;
    memset(&res, 0, sizeof(res));
    char err[400];

    /* never ready */
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err, "llama-server did not become ready (it exited; run status ok)");
    snprintf(r.error, sizeof(r.error), "health: refused");
    res.status = OSTEL_RUN_FAILED;
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err,
                        "llama-server did not become ready (health: refused; run status failed)");
    /* interrupted before ready: only the load's own error */
    res.status = OSTEL_RUN_INTERRUPTED;
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err, "health: refused");
    r.error[0] = '\0';
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err, "");

    /* ready: the server's end, then the load's error, then metrics.csv, then no level */
    r.ready = true;
    res.status = OSTEL_RUN_KILLED;
    snprintf(r.error, sizeof(r.error), "load failed");
    ostel_serve_server_error(&r, &res, ENOSPC, err, sizeof(err));
    assert_string_equal(err, "llama-server ended during the load (run status killed)");
    res.status = OSTEL_RUN_OK;
    ostel_serve_server_error(&r, &res, ENOSPC, err, sizeof(err));
    assert_string_equal(err, "load failed");
    r.error[0] = '\0';
    ostel_serve_server_error(&r, &res, ENOSPC, err, sizeof(err));
    assert_non_null(strstr(err, "metrics.csv"));
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err, "no level completed a request");
    r.out.json = cJSON_Parse("{\"levels\":[{\"completed\":0},{\"completed\":3}]}");
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err, "");

    /* the runner's write error first, the load's own failure added */
    snprintf(res.write_error, sizeof(res.write_error), "no space left writing summary.json");
    snprintf(r.error, sizeof(r.error), "load failed");
    ostel_serve_server_error(&r, &res, 0, err, sizeof(err));
    assert_string_equal(err, "no space left writing summary.json; load failed");
    ostel_serve_server_result_free(&r);
}

static void test_levels_completed(void **state)
{
    (void)state;
    struct ostel_serve_outcome o;
    memset(&o, 0, sizeof(o));
    assert_int_equal(ostel_serve_levels_completed(&o), 0);
    o.json = cJSON_Parse("{\"levels\":[{\"completed\":2},{\"completed\":0},{},"
                         "{\"completed\":\"3\"},{\"completed\":1}]}");
    assert_int_equal(ostel_serve_levels_completed(&o), 2);
    ostel_serve_outcome_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_config_text),
        cmocka_unit_test(test_error_order),
        cmocka_unit_test(test_levels_completed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
